"""A watch's body chunks written straight to the connection (`serving.chunks`), against a real
uvicorn server over real sockets, plain TCP and TLS, on asyncio's loop and on uvloop: order,
a client that stops reading (flow control), a client that goes away, and the fallback to
ASGI `send` for anything but uvicorn's own httptools `send`."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import AsyncIterator, Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import orjson
import pytest
import uvicorn
import uvloop
from starlette.middleware import Middleware
from uvicorn.protocols.http.httptools_impl import RequestResponseCycle

from examples.sample_apiserver.apis import wardle_group
from k8s_aggapi.endpoints import watch as endpoint_watch
from k8s_aggapi.endpoints.handlers import ResourceEndpoint
from k8s_aggapi.middleware.requestinfo import RequestInfoMiddleware
from k8s_aggapi.middleware.response import ResponseMiddleware
from k8s_aggapi.server import ServerApp
from k8s_aggapi.serving import chunks
from k8s_aggapi.serving.protocols import protocol_class
from k8s_aggapi.storage import MemoryStorage
from k8s_aggapi.storage.cacher import Cacher
from tests.unit.serving.pki import PKI

NS = "/apis/wardle.example.com/v1alpha1/namespaces/default/flunders"
DEADLINE = 20.0


Run = Callable[[Coroutine[Any, Any, None]], None]


@pytest.fixture(params=["asyncio", "uvloop"])
def run(request: pytest.FixtureRequest) -> Run:
    """Runs a test's body on a loop of its own: asyncio's, or uvloop's (the server's)."""
    return uvloop.run if request.param == "uvloop" else asyncio.run


@dataclass
class Counts:
    direct: int = 0  # chunks the writer wrote
    refused: int = 0  # chunks it left to `send`
    writers: int = 0  # writers made (a watch each)
    none: int = 0  # watches with no writer


@pytest.fixture
def counts(monkeypatch: pytest.MonkeyPatch) -> Counts:
    counted = Counts()
    make = chunks.chunk_writer

    def chunk_writer(send: object) -> chunks.ChunkWriter | None:
        writer = make(send)
        if writer is None:
            counted.none += 1
            return None
        counted.writers += 1

        def write(chunk: bytes) -> bool:
            done = writer(chunk)
            if done:
                counted.direct += 1
            else:
                counted.refused += 1
            return done

        return write

    monkeypatch.setattr(endpoint_watch, "chunk_writer", chunk_writer)
    return counted


@dataclass
class Served:
    port: int
    storage: Cacher
    client_ssl: ssl.SSLContext | None


@contextlib.asynccontextmanager
async def _serve(pki: PKI, *, tls: bool, http: str, sndbuf: int | None = None
                 ) -> AsyncIterator[Served]:
    storage = Cacher(MemoryStorage(watch_queue_length=1000), queue_length=1000)
    app = ServerApp(ResourceEndpoint([wardle_group(storage)]), [], lifespan=None,
                    middleware=[Middleware(RequestInfoMiddleware), Middleware(ResponseMiddleware)])
    sock = socket.socket()
    if sndbuf is not None:  # accepted connections inherit it: the server's writes back up
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    options: dict[str, Any] = {}
    if tls:
        options = {"ssl_certfile": str(pki.cert_file), "ssl_keyfile": str(pki.key_file)}
    config = uvicorn.Config(app, http=protocol_class("http", http) or "auto", ws="none",
                            lifespan="off", log_config=None, log_level="warning",
                            access_log=False, timeout_graceful_shutdown=1, **options)
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve(sockets=[sock]))
    try:
        while not server.started:
            assert not task.done(), task
            await asyncio.sleep(0.01)
        yield Served(port, storage, pki.client_context() if tls else None)
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, DEADLINE)
        sock.close()


async def _connect(served: Served, rcvbuf: int | None = None
                   ) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    sock = socket.socket()
    if rcvbuf is not None:  # a small window: the server's writes back up
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", served.port))
    ssl_options: dict[str, Any] = {}
    if served.client_ssl is not None:
        ssl_options = {"ssl": served.client_ssl, "server_hostname": "localhost"}
    return await asyncio.open_connection(sock=sock, limit=1 << 14, **ssl_options)


class Watch:
    """A watch request over its own connection, its chunked body decoded strictly."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer
        self.events: list[dict[str, Any]] = []
        self.ended = False

    @classmethod
    async def open(cls, served: Served, rcvbuf: int | None = None) -> Watch:
        reader, writer = await _connect(served, rcvbuf)
        writer.write(f"GET {NS}?watch=true HTTP/1.1\r\nhost: x\r\n\r\n".encode())
        head = await reader.readuntil(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200 "), head
        assert b"\r\ntransfer-encoding: chunked\r\n" in head.lower()
        return cls(reader, writer)

    async def read_chunk(self) -> None:
        size_line = await self.reader.readuntil(b"\r\n")
        size = int(size_line[:-2], 16)
        data = await self.reader.readexactly(size + 2)
        assert data.endswith(b"\r\n"), data[-20:]
        if size == 0:
            self.ended = True
            return
        assert data[-3:-2] == b"\n"  # whole event lines only
        self.events.extend(orjson.loads(line) for line in data[:-2].splitlines())

    async def until(self, count: int) -> None:
        async def reading() -> None:
            while len(self.events) < count:
                await self.read_chunk()
        await asyncio.wait_for(reading(), DEADLINE)

    def names(self) -> list[str]:
        return [event["object"]["metadata"]["name"] for event in self.events]


async def _create(served: Served, name: str, padding: int = 0) -> None:
    reader, writer = await _connect(served)
    obj: dict[str, Any] = {"apiVersion": "wardle.example.com/v1alpha1", "kind": "Flunder",
                           "metadata": {"name": name}, "spec": {}}
    if padding:
        obj["metadata"]["annotations"] = {"pad": "x" * padding}
    body = orjson.dumps(obj)
    writer.write(f"POST {NS} HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                 f"content-length: {len(body)}\r\nconnection: close\r\n\r\n".encode() + body)
    response = await asyncio.wait_for(reader.read(), DEADLINE)
    assert response.startswith(b"HTTP/1.1 201 "), response[:300]
    writer.close()


async def _poll(check: Callable[[], bool]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DEADLINE
    while not check():
        assert loop.time() < deadline, "not reached in time"
        await asyncio.sleep(0.01)


def _watchers(served: Served) -> int:
    return sum(served.storage.stats().values())


@pytest.mark.parametrize("tls", [False, True], ids=["tcp", "tls"])
def test_events_go_straight_to_the_connection_in_order(pki: PKI, counts: Counts,
                                                             tls: bool, run: Run) -> None:
    async def body() -> None:
        async with _serve(pki, tls=tls, http="httptools") as served:
            watches = [await Watch.open(served) for _ in range(3)]
            await _poll(lambda: _watchers(served) == 3)
            for i in range(20):
                await _create(served, f"f{i}")
            for watch in watches:
                await watch.until(20)
                assert watch.names() == [f"f{i}" for i in range(20)]
                assert [e["type"] for e in watch.events] == ["ADDED"] * 20
            assert counts.writers == 3 and counts.direct >= 20 and counts.none == 0
            for watch in watches:
                watch.writer.close()

    run(body())


@pytest.mark.parametrize("tls", [False, True], ids=["tcp", "tls"])
def test_a_client_that_stops_reading_gets_every_event_once_it_reads(
        pki: PKI, counts: Counts, tls: bool, run: Run) -> None:
    """The server's writes back up (flow control pauses the transport): the writer leaves
    them to `send`, which waits for the drain; the events come in order, none lost."""
    async def body() -> None:
        async with _serve(pki, tls=tls, http="httptools", sndbuf=8192) as served:
            slow = await Watch.open(served, rcvbuf=4096)
            fast = await Watch.open(served)
            await _poll(lambda: _watchers(served) == 2)
            total = 60
            for i in range(total):  # ~1.2 MiB each way: past the socket buffers and the 64 KiB
                await _create(served, f"f{i}", padding=20_000)  # high-water mark
                if len(fast.events) < i + 1:
                    await fast.until(i + 1)
            assert counts.refused >= 1  # the writer saw the transport paused
            await slow.until(total)
            assert slow.names() == fast.names() == [f"f{i}" for i in range(total)]
            await _create(served, "after")  # and straight to the connection again
            await slow.until(total + 1)
            assert slow.names()[-1] == "after"
            slow.writer.close()
            fast.writer.close()

    run(body())


@pytest.mark.parametrize("tls", [False, True], ids=["tcp", "tls"])
def test_a_client_that_goes_away(pki: PKI, counts: Counts, tls: bool, run: Run) -> None:
    async def body() -> None:
        async with _serve(pki, tls=tls, http="httptools") as served:
            leaving = await Watch.open(served)
            staying = await Watch.open(served)
            await _poll(lambda: _watchers(served) == 2)
            await _create(served, "f0")
            await leaving.until(1)
            leaving.writer.transport.abort()  # gone without a goodbye
            for i in range(1, 10):
                await _create(served, f"f{i}")
            await staying.until(10)
            assert staying.names() == [f"f{i}" for i in range(10)]
            await _poll(lambda: _watchers(served) == 1)  # the leaving watch ended
            staying.writer.close()

    run(body())


def test_the_h11_protocol_keeps_asgi_send(pki: PKI, counts: Counts, run: Run) -> None:
    async def body() -> None:
        async with _serve(pki, tls=True, http="h11") as served:
            watch = await Watch.open(served)
            await _poll(lambda: _watchers(served) == 1)
            for i in range(3):
                await _create(served, f"f{i}")
            await watch.until(3)
            assert watch.names() == ["f0", "f1", "f2"]
            assert counts.writers == 0 and counts.none == 1
            watch.writer.close()

    run(body())


async def test_only_the_cycle_send_itself_gets_a_writer() -> None:
    assert chunks.chunk_writer(None) is None

    async def wrapper(message: dict[str, Any]) -> None:  # a middleware's wrapper of send
        raise AssertionError

    assert chunks.chunk_writer(wrapper) is None

    class Other:
        async def send(self, message: dict[str, Any]) -> None:
            raise AssertionError

    assert chunks.chunk_writer(Other().send) is None

    class Cycle(RequestResponseCycle):  # a subclass may send otherwise
        pass

    cycle = Cycle.__new__(Cycle)
    assert chunks.chunk_writer(cycle.send) is None


def _cycle(method: str = "GET") -> tuple[RequestResponseCycle, list[bytes]]:
    written: list[bytes] = []

    class Transport:
        closing = False

        def is_closing(self) -> bool:
            return self.closing

        def write(self, data: bytes) -> None:
            written.append(data)

    class Flow:
        write_paused = False

    cycle = RequestResponseCycle.__new__(RequestResponseCycle)
    cycle.scope = {"method": method}  # type: ignore[typeddict-item]
    cycle.transport = Transport()  # type: ignore[assignment]
    cycle.flow = Flow()  # type: ignore[assignment]
    cycle.response_started, cycle.response_complete = True, False
    cycle.chunked_encoding, cycle.disconnected = True, False
    return cycle, written


async def test_the_writer_writes_only_what_send_would_write_at_once() -> None:
    cycle, written = _cycle()
    writer = chunks.chunk_writer(cycle.send)
    assert writer is not None
    body = b'{"type":"ADDED","object":{}}\n' * 10
    await cycle.send({"type": "http.response.body", "body": body, "more_body": True})
    assert writer(chunks.frame(body)) and written[1] == written[0] == chunks.frame(body)
    del written[1]
    for name, value in [("response_started", False), ("response_complete", True),
                        ("chunked_encoding", False), ("disconnected", True)]:
        before = getattr(cycle, name)
        setattr(cycle, name, value)
        assert not writer(b"x"), name
        setattr(cycle, name, before)
    cycle.flow.write_paused = True
    assert not writer(b"x")
    cycle.flow.write_paused = False
    cycle.transport.closing = True  # type: ignore[attr-defined]
    assert not writer(b"x")
    assert written == [chunks.frame(body)]
    head, _ = _cycle("HEAD")
    assert chunks.chunk_writer(head.send) is None
