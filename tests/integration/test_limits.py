"""Server-wide limits over real TLS against the sample in its own process: header size (431,
memory bounded), header-read and idle timeouts, Status JSON from the HTTP layer, front-proxy
header trimming, and a watch reader too slow to keep up."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.integration.test_sample_dev import DevServer, dev_server

pytestmark = pytest.mark.integration

MiB = 1024 * 1024
FLUNDERS = "/apis/wardle.example.com/v1alpha1/namespaces/default/flunders"
TIMEOUT = 1.0  # --read-header-timeout and --idle-timeout of the server under test
QUEUE = 8  # --watch-queue-length


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    with dev_server(tmp_path_factory.mktemp("limits"),
                    f"--read-header-timeout={TIMEOUT}s", f"--idle-timeout={TIMEOUT}s",
                    f"--watch-queue-length={QUEUE}") as dev:
        yield dev


def context(server: DevServer, cert: str | None = None) -> ssl.SSLContext:
    ctx = ssl.create_default_context(cafile=str(server.dir / "serving-ca.crt"))
    if cert:
        ctx.load_cert_chain(server.dir / f"{cert}.crt", server.dir / f"{cert}.key")
    return ctx


async def connect(server: DevServer, cert: str | None = None, **kwargs: Any) -> tuple[
        asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection(
        "127.0.0.1", server.port, ssl=context(server, cert), server_hostname="localhost",
        **kwargs)


async def close(writer: asyncio.StreamWriter) -> None:
    writer.close()
    with contextlib.suppress(ConnectionError, ssl.SSLError, TimeoutError):
        await asyncio.wait_for(writer.wait_closed(), 5)


async def read_response(reader: asyncio.StreamReader) -> tuple[int, dict[str, str], bytes]:
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    lines = head.decode().split("\r\n")
    headers = dict(line.lower().split(": ", 1) for line in lines[1:] if line)
    if "content-length" in headers:
        body = await asyncio.wait_for(reader.readexactly(int(headers["content-length"])), 10)
    else:
        body = b""
    return int(lines[0].split()[1]), headers, body


async def closed_by_server(reader: asyncio.StreamReader, within: float) -> bool:
    """True once the server ends the connection (EOF or reset), polling up to `within` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while loop.time() < deadline:
        try:
            if await asyncio.wait_for(reader.read(65536), 0.2) == b"":
                return True
        except TimeoutError:
            continue
        except (ConnectionError, ssl.SSLError):
            return True
    return False


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@contextlib.asynccontextmanager
async def peak_rss(pid: int) -> AsyncIterator[list[int]]:
    """Samples the server's RSS every 20 ms; yields [baseline KiB, peak KiB]."""
    sample = [rss_kib(pid), rss_kib(pid)]
    stop = asyncio.Event()

    async def watch() -> None:
        while not stop.is_set():
            sample[1] = max(sample[1], await asyncio.to_thread(rss_kib, pid))
            await asyncio.sleep(0.02)

    task = asyncio.create_task(watch())
    try:
        yield sample
    finally:
        stop.set()
        await task
        sample[1] = max(sample[1], rss_kib(pid))


async def huge_header(server: DevServer, size: int) -> tuple[int, dict[str, str], bytes]:
    """Sends one header of `size` bytes while reading; the server's answer. Like Go's, the
    server resets the connection 0.5 s after its 431 if the client is still sending, so a
    client starved of CPU may miss the answer: it tries once more."""
    try:
        return await _huge_header(server, size)
    except (ConnectionError, asyncio.IncompleteReadError):
        return await _huge_header(server, size)


async def _huge_header(server: DevServer, size: int) -> tuple[int, dict[str, str], bytes]:
    reader, writer = await connect(server)
    chunk = b"a" * (64 * 1024)

    async def write() -> None:
        with contextlib.suppress(ConnectionError, ssl.SSLError, RuntimeError):
            writer.write(b"GET /apis HTTP/1.1\r\nHost: localhost\r\nX-Big: ")
            for _ in range(size // len(chunk)):
                writer.write(chunk)
                await writer.drain()

    sender = asyncio.create_task(write())
    try:
        return await read_response(reader)
    finally:
        sender.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sender
        writer.transport.abort()


async def test_a_64_mib_header_gets_431_with_memory_bounded(server: DevServer) -> None:
    pid = server.pid
    async with peak_rss(pid) as rss:
        code, headers, body = await huge_header(server, 64 * MiB)
    assert code == 431
    assert headers["content-type"] == "application/json"
    assert headers["connection"] == "close"
    status = json.loads(body)
    assert (status["kind"], status["code"], status["message"]) == (
        "Status", 431, "431 Request Header Fields Too Large")
    growth = (rss[1] - rss[0]) / 1024
    print(f"64 MiB header: RSS {rss[0] / 1024:.0f} -> peak {rss[1] / 1024:.0f} MiB")
    assert growth < 16, f"server grew {growth:.0f} MiB for a 64 MiB header"
    assert server.request("/healthz")[0] == 200


async def test_eight_concurrent_32_mib_headers_keep_memory_bounded(server: DevServer) -> None:
    pid = server.pid
    async with peak_rss(pid) as rss:
        answers = await asyncio.gather(*(huge_header(server, 32 * MiB) for _ in range(8)))
    assert [code for code, _, _ in answers] == [431] * 8
    growth = (rss[1] - rss[0]) / 1024
    print(f"8 x 32 MiB headers: RSS {rss[0] / 1024:.0f} -> peak {rss[1] / 1024:.0f} MiB")
    assert growth < 32, f"server grew {growth:.0f} MiB for 8 x 32 MiB headers"


async def test_a_header_just_under_one_mib_is_served(server: DevServer) -> None:
    reader, writer = await connect(server, "admin")
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nX-Big: " + b"a" * (MiB - 100)
                 + b"\r\n\r\n")
    code, _, body = await read_response(reader)
    await close(writer)
    assert (code, body) == (200, b"ok")


async def test_slowloris_connections_are_closed_after_the_header_timeout(
        server: DevServer) -> None:
    conns = [await connect(server) for _ in range(20)]
    for _, writer in conns:
        writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")

    async def trickle(writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, ssl.SSLError, RuntimeError):
            for i in range(100):  # a new header line every 0.2 s, never the blank line
                writer.write(b"X-%d: v\r\n" % i)
                await writer.drain()
                await asyncio.sleep(0.2)

    tricklers = [asyncio.create_task(trickle(w)) for _, w in conns]
    closed = await asyncio.gather(*(closed_by_server(r, 10 * TIMEOUT + 5) for r, _ in conns))
    for task in tricklers:
        task.cancel()
    for _, writer in conns:
        writer.transport.abort()
    assert closed == [True] * 20


async def test_a_silent_connection_is_closed_after_the_header_timeout(server: DevServer) -> None:
    reader, writer = await connect(server)
    assert await closed_by_server(reader, 10 * TIMEOUT + 5)
    writer.transport.abort()


async def test_an_idle_keep_alive_connection_is_closed(server: DevServer) -> None:
    reader, writer = await connect(server)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
    code, headers, _ = await read_response(reader)
    assert code == 200 and headers.get("connection") != "close"
    assert await closed_by_server(reader, 10 * TIMEOUT + 5)
    writer.transport.abort()


async def test_a_malformed_request_gets_a_400_status(server: DevServer) -> None:
    reader, writer = await connect(server)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\nbroken header line\r\n\r\n")
    code, headers, body = await read_response(reader)
    writer.transport.abort()
    assert (code, headers["content-type"]) == (400, "application/json")
    status = json.loads(body)
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "BadRequest", 400)


async def test_a_tab_after_a_front_proxy_user_is_trimmed(server: DevServer) -> None:
    reader, writer = await connect(server, "front-proxy-client")
    writer.write(b"GET /apis/wardle.example.com/v1alpha1/fischers HTTP/1.1\r\n"
                 b"Host: localhost\r\nX-Remote-User: carol\t\r\n"
                 b"X-Remote-Group: \tsystem:authenticated \r\n\r\n")
    code, _, body = await read_response(reader)
    await close(writer)
    assert code == 403
    assert 'User "carol" cannot list' in json.loads(body)["message"]


class Creator:
    """Creates flunders over one keep-alive connection as admin."""

    def __init__(self, server: DevServer) -> None:
        self.conn = http.client.HTTPSConnection(
            "127.0.0.1", server.port, context=context(server, "admin"), timeout=10)

    def create(self, name: str, padding: int) -> str:
        body = json.dumps({
            "apiVersion": "wardle.example.com/v1alpha1", "kind": "Flunder",
            "metadata": {"name": name, "annotations": {"pad": "p" * padding}},
            "spec": {},
        })
        self.conn.request("POST", FLUNDERS, body, {"Content-Type": "application/json"})
        response = self.conn.getresponse()
        created = json.loads(response.read())
        assert response.status == 201, created
        return str(created["metadata"]["resourceVersion"])


async def read_watch(reader: asyncio.StreamReader) -> tuple[list[dict[str, Any]], bool]:
    """The events of a chunked watch response, and whether the server ended the stream."""
    await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
    events: list[dict[str, Any]] = []
    buffer = b""
    while True:
        size_line = await asyncio.wait_for(reader.readuntil(b"\r\n"), 10)
        size = int(size_line.strip(), 16)
        if size == 0:
            return events, True
        buffer += (await reader.readexactly(size + 2))[:-2]
        while b"\n" in buffer:
            line, buffer = buffer.split(b"\n", 1)
            events.append(json.loads(line))


async def test_a_watch_reader_too_slow_is_ended_and_resumes(server: DevServer) -> None:
    creator = Creator(server)
    start_rv = await asyncio.to_thread(creator.create, "slow-0", 10)
    reader, writer = await connect(server, "admin", limit=4 * MiB)
    writer.write(f"GET {FLUNDERS}?watch=1&resourceVersion={start_rv} HTTP/1.1\r\n"
                 "Host: localhost\r\n\r\n".encode())
    await writer.drain()
    # The client reads nothing while 24 MiB of events are written: the socket buffers fill,
    # the server's send() blocks and its queue for this watcher stays full.
    transport: Any = writer.transport
    transport.pause_reading()
    names = [f"slow-{i}" for i in range(1, 121)]
    rvs = [await asyncio.to_thread(creator.create, name, 200 * 1024) for name in names]
    creator.conn.close()
    log = server.dir / "server.log"
    deadline = time.monotonic() + 30
    while "Forcing watcher close due to unresponsiveness" not in log.read_text():
        assert time.monotonic() < deadline, "the server never gave up on the stalled watcher"
        await asyncio.sleep(0.1)
    transport.resume_reading()
    events, ended = await read_watch(reader)
    writer.transport.abort()
    assert ended, "the server never ended the stream of a reader that fell behind"
    seen = [e["object"]["metadata"]["name"] for e in events]
    assert len(seen) < len(names), "every event was delivered: the watcher was never cut off"
    assert seen == names[:len(seen)]  # in order, nothing skipped before the end
    # Reconnecting from the last resourceVersion seen gives the rest, with nothing lost.
    last = events[-1]["object"]["metadata"]["resourceVersion"]
    reader, writer = await connect(server, "admin", limit=4 * MiB)
    writer.write(f"GET {FLUNDERS}?watch=1&resourceVersion={last}&timeoutSeconds=3 HTTP/1.1\r\n"
                 "Host: localhost\r\n\r\n".encode())
    rest, _ = await read_watch(reader)
    writer.transport.abort()
    assert [e["object"]["metadata"]["name"] for e in rest] == names[len(seen):]
    assert rest[-1]["object"]["metadata"]["resourceVersion"] == rvs[-1]
