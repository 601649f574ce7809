"""The request-head guard on uvicorn's h11 and httptools protocols, fed bytes directly."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from uvicorn.server import ServerState

from k8s_aggapi.limits import ServerLimits
from k8s_aggapi.serving.headguard import BUFIO_SLACK, CLOSE_DELAY
from k8s_aggapi.serving.protocols import protocol_class
from k8s_aggapi.serving.runner import LimitedConfig

LIMITS = ServerLimits(max_header_bytes=1000, header_read_timeout=0.05, idle_timeout=60)
HEAD_LIMIT = LIMITS.max_header_bytes + BUFIO_SLACK


class FakeTransport(asyncio.Transport):
    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False
        self.reading = True

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 5000), "sockname": ("127.0.0.1", 443)}.get(
            name, default)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    payload = json.dumps({"headers": len(scope["headers"]), "body": len(body)}).encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", str(len(payload)).encode())]})
    await send({"type": "http.response.body", "body": payload})


def connect(http: str, limits: ServerLimits = LIMITS) -> tuple[Any, FakeTransport]:
    cls = protocol_class("http", http)
    assert cls is not None
    config = LimitedConfig(app, limits=limits, http=cls, ws="none", log_config=None)
    protocol: Any = cls(config=config, server_state=ServerState(), app_state={})  # type: ignore[call-arg]
    transport = FakeTransport()
    protocol.connection_made(transport)
    return protocol, transport


def head(size: int, extra: bytes = b"") -> bytes:
    """A GET whose request line and headers are exactly `size` bytes."""
    start = b"GET / HTTP/1.1\r\nhost: x\r\n" + extra + b"x-pad: "
    return start + b"a" * (size - len(start) - 4) + b"\r\n\r\n"


def answer(transport: FakeTransport) -> tuple[int, dict[str, Any]]:
    status_line, _, rest = bytes(transport.written).partition(b"\r\n")
    headers, _, body = rest.partition(b"\r\n\r\n")
    assert b"connection: close" in headers.lower()
    assert b"content-type: application/json" in headers.lower()
    return int(status_line.split()[1]), json.loads(body)


async def until(condition: Any, within: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not condition():
        assert loop.time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


@pytest.fixture(params=["h11", "httptools"])
def http(request: pytest.FixtureRequest) -> str:
    return str(request.param)


async def test_a_head_over_the_limit_gets_431_status_and_is_not_read_further(http: str) -> None:
    protocol, transport = connect(http)
    protocol.data_received(b"GET / HTTP/1.1\r\nx-big: ")
    for _ in range(100):  # 100 KiB offered, far past the limit
        protocol.data_received(b"a" * 1024)
    code, status = answer(transport)
    assert code == 431
    assert status == {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
                      "message": "431 Request Header Fields Too Large", "code": 431}
    assert protocol._head_bytes <= HEAD_LIMIT  # the parser saw no more than the limit
    assert not transport.reading
    assert not transport.closed
    await until(lambda: transport.closed, within=CLOSE_DELAY + 5)


async def test_a_head_at_the_limit_is_served(http: str) -> None:
    protocol, transport = connect(http)
    request = head(HEAD_LIMIT)
    for i in range(0, len(request), 700):
        protocol.data_received(request[i:i + 700])
    await until(lambda: b"\r\n\r\n{" in transport.written)
    assert transport.written.startswith(b"HTTP/1.1 200 ")
    assert not transport.closed


async def test_one_byte_more_is_refused(http: str) -> None:
    protocol, transport = connect(http)
    protocol.data_received(head(HEAD_LIMIT + 1))
    assert answer(transport)[0] == 431


async def test_body_bytes_after_the_head_do_not_count(http: str) -> None:
    protocol, transport = connect(http)
    body = b"b" * (3 * HEAD_LIMIT)
    request = head(HEAD_LIMIT - 100, extra=b"content-length: %d\r\n" % len(body))
    protocol.data_received(request + body)  # one chunk: head, then a body 3x the limit
    await until(lambda: b"\r\n\r\n{" in transport.written)
    assert transport.written.startswith(b"HTTP/1.1 200 ")
    assert json.loads(bytes(transport.written).partition(b"\r\n\r\n")[2])["body"] == len(body)


async def test_each_request_of_a_connection_gets_the_whole_limit(http: str) -> None:
    protocol, transport = connect(http)
    for n in range(1, 4):
        protocol.data_received(head(HEAD_LIMIT))
        await until(lambda n=n: transport.written.count(b"HTTP/1.1 200 ") == n)
    assert not transport.closed


async def test_a_malformed_request_gets_a_400_status(http: str) -> None:
    protocol, transport = connect(http)
    protocol.data_received(b"GET / HTTP/1.1\r\nbad header\r\n\r\n")
    code, status = answer(transport)
    assert code == 400
    assert (status["reason"], status["message"]) == ("BadRequest", "400 Bad Request")
    assert transport.closed
    protocol.data_received(b"GET / HTTP/1.1\r\n\r\n")  # nothing more is parsed or answered
    assert transport.written.count(b"HTTP/1.1") == 1


async def test_a_head_not_read_in_time_closes_the_connection_without_reply(http: str) -> None:
    protocol, transport = connect(http)
    protocol.data_received(b"GET / HTTP/1.1\r\nx-slow: ")
    await until(lambda: transport.closed)
    assert transport.written == b""


async def test_a_silent_new_connection_is_closed_after_the_header_timeout(http: str) -> None:
    _, transport = connect(http)
    await until(lambda: transport.closed)


async def test_the_header_deadline_ends_once_the_head_is_read(http: str) -> None:
    protocol, transport = connect(http)
    body = b"x" * 10
    protocol.data_received(head(200, extra=b"content-length: 20\r\n") + body)
    await asyncio.sleep(LIMITS.header_read_timeout * 4)  # the app is still reading the body
    assert not transport.closed
    protocol.data_received(body)
    await until(lambda: b"\r\n\r\n{" in transport.written)
    assert not transport.closed


async def test_after_a_response_the_idle_timeout_applies(http: str) -> None:
    limits = ServerLimits(max_header_bytes=1000, header_read_timeout=60, idle_timeout=0.05)
    protocol, transport = connect(http, limits)
    assert protocol.timeout_keep_alive == 0.05
    protocol.data_received(head(200))
    await until(lambda: b"\r\n\r\n{" in transport.written)
    await until(lambda: transport.closed, within=2)


def test_every_http1_protocol_we_serve_is_guarded(caplog: pytest.LogCaptureFixture) -> None:
    from k8s_aggapi.serving.headguard import H11HeadGuard, HttpToolsHeadGuard

    protocol_class.cache_clear()
    assert protocol_class("ws", "auto") is not None  # WebSocket protocols need no guard

    for name, guard in [("auto", HttpToolsHeadGuard), ("httptools", HttpToolsHeadGuard),
                        ("h11", H11HeadGuard)]:
        cls = protocol_class("http", name)
        assert cls is not None and issubclass(cls, guard), name
    assert "has no request-head guard" not in caplog.text


def test_a_protocol_without_a_guard_is_named_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    from k8s_aggapi.serving.headguard import head_guards

    class Other(asyncio.Protocol):
        pass

    assert head_guards(Other) == ()
    assert "has no request-head guard" in caplog.text


async def test_one_timer_per_connection_each_head_held_to_its_own_deadline(http: str) -> None:
    """A kept-alive connection does not arm a timer per request: the one armed when it opened
    serves the later heads; when it fires it closes only a head that is late, else it sleeps
    until that head's deadline."""
    limits = ServerLimits(max_header_bytes=1000, header_read_timeout=60, idle_timeout=60)
    protocol, transport = connect(http, limits)
    timer = protocol._head_timer
    assert timer is not None
    protocol.data_received(head(200))
    await until(lambda: b"\r\n\r\n{" in transport.written)
    protocol.data_received(b"GET / HTTP/1.1\r\nx-slow: ")  # the next head begins
    assert protocol._head_timer is timer
    protocol._head_timer.cancel()
    protocol._head_timer_fired()  # early for this head (it began just now): sleeps again
    assert not transport.closed
    assert protocol._head_timer is not None
    protocol._head_timer.cancel()
    protocol._head_started -= 61  # as if this head had begun more than the timeout ago
    protocol._head_timer_fired()
    assert transport.closed
    assert transport.written.count(b"HTTP/1.1") == 1  # no reply to the late head
