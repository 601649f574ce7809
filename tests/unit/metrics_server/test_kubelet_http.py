"""The kubelet HTTP/1.1 client against small servers on loopback (asyncio streams, plain TCP
and TLS with a CA of our own): kept-alive connections, the body framings, gzip, bounds,
deadlines, and a reused connection the server closed."""

from __future__ import annotations

import asyncio
import gzip
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from examples.metrics_server import kubelet_http
from examples.metrics_server.kubelet_http import Deadline, HTTPError, KubeletHTTP
from k8s_aggapi.serving.certs import new_ca, new_cert

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Awaitable[None]]


class Server:
    def __init__(self) -> None:
        self.connections = 0
        self.requests: list[bytes] = []
        self.answers: list[bytes] = []  # one per request, in order; the last one repeats
        self.close_after = False

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                self.requests.append(head)
                answer = self.answers[min(len(self.requests), len(self.answers)) - 1]
                if answer == b"hang":
                    await asyncio.sleep(5)
                if answer.startswith(b"HANG:"):  # a part of a response, then nothing
                    writer.write(answer[5:])
                    await asyncio.sleep(5)
                if answer == b"drop":
                    break
                writer.write(answer)
                await writer.drain()
                if self.close_after or b"Connection: close" in answer or (
                        b"Content-Length" not in answer and b"chunked" not in answer):
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[tuple[Server, int]]:
    s = Server()
    srv = await asyncio.start_server(s.handle, "127.0.0.1", 0)
    yield s, srv.sockets[0].getsockname()[1]
    srv.close()


def ok(body: bytes, extra: bytes = b"") -> bytes:
    return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n%s\r\n%s" % (len(body), extra, body)


async def test_one_connection_is_kept_for_many_requests(server: tuple[Server, int]) -> None:
    s, port = server
    s.answers = [ok(b"one"), ok(b"two")]
    client = KubeletHTTP(None)
    first = await client.get("127.0.0.1", port, "/metrics/resource", b"X-A: 1\r\n", 5)
    second = await client.get("127.0.0.1", port, "/metrics/resource", b"", 5)
    await client.close()
    assert (first.status, first.reason, first.body, second.body) == (200, "OK", b"one", b"two")
    assert s.connections == 1
    assert s.requests[0].startswith(b"GET /metrics/resource HTTP/1.1\r\nHost: 127.0.0.1:")
    assert b"\r\nX-A: 1\r\n" in s.requests[0] and b"Accept-Encoding: gzip" in s.requests[0]


async def test_chunked_gzip_and_close_delimited_bodies(server: tuple[Server, int]) -> None:
    s, port = server
    packed = gzip.compress(b"node_cpu_usage_seconds_total 1 2\n")
    s.answers = [b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                 b"3\r\nabc\r\n4;x=y\r\ndefg\r\n0\r\nTrailer: t\r\n\r\n",
                 ok(packed, b"Content-Encoding: gzip\r\n"),
                 b"HTTP/1.0 200 OK\r\n\r\nuntil the end"]
    client = KubeletHTTP(None)
    bodies = [(await client.get("127.0.0.1", port, "/", b"", 5)).body for _ in range(4)]
    await client.close()
    assert bodies == [b"abcdefg", b"node_cpu_usage_seconds_total 1 2\n", b"until the end",
                      b"until the end"]
    assert s.connections == 2  # the close-delimited body ended the first connection


async def test_a_connection_the_kubelet_closed_is_retried_once(
        server: tuple[Server, int]) -> None:
    s, port = server
    s.answers = [ok(b"a", b"Connection: close\r\n"), ok(b"b")]
    client = KubeletHTTP(None)
    assert (await client.get("127.0.0.1", port, "/", b"", 5)).body == b"a"
    assert (await client.get("127.0.0.1", port, "/", b"", 5)).body == b"b"
    s.answers = [ok(b"a"), b"drop", ok(b"c")]
    s.requests = [b"x"]  # the next request gets "drop": the kept connection dies unanswered
    assert (await client.get("127.0.0.1", port, "/", b"", 5)).body == b"c"
    await client.close()


@pytest.mark.parametrize("answer", [
    b"SSH-2.0-OpenSSH\r\n\r\n", b"HTTP/1.1 2x0 OK\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 3\r\n\r\nabc",
])
async def test_garbage_is_an_http_error(server: tuple[Server, int], answer: bytes) -> None:
    s, port = server
    s.answers, s.close_after = [answer], True
    client = KubeletHTTP(None)
    with pytest.raises(HTTPError):
        await client.get("127.0.0.1", port, "/", b"", 5)
    await client.close()


async def test_bodies_are_bounded(server: tuple[Server, int],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    s, port = server
    monkeypatch.setattr(kubelet_http, "MAX_BODY", 10)
    s.answers = [ok(b"x" * 11)]
    client = KubeletHTTP(None)
    with pytest.raises(HTTPError, match="too large"):
        await client.get("127.0.0.1", port, "/", b"", 5)
    await client.close()


async def test_the_deadline_covers_the_whole_response(server: tuple[Server, int]) -> None:
    s, port = server
    s.answers = [b"hang"]
    client = KubeletHTTP(None)
    with pytest.raises(TimeoutError):
        await client.get("127.0.0.1", port, "/", b"", 0.2)
    s.answers = [ok(b"fine")]
    assert (await client.get("127.0.0.1", port, "/", b"", 5)).body == b"fine"
    await client.close()


async def test_a_shared_deadline_ends_only_the_exchanges_still_going() -> None:
    servers = [Server(), Server()]
    started = [await asyncio.start_server(x.handle, "127.0.0.1", 0) for x in servers]
    ports = [srv.sockets[0].getsockname()[1] for srv in started]
    hanging, answering = servers
    hanging.answers = [ok(b"a"), b"hang", ok(b"again")]
    answering.answers = [ok(b"b")]
    client = KubeletHTTP(None)
    for port in ports:  # a connection kept to each
        await client.get("127.0.0.1", port, "/", b"", 5)
    deadline = Deadline.after(0.3)
    outcomes = await asyncio.gather(
        *(client.send_by("127.0.0.1", port, client.request("127.0.0.1", port, "/", b""),
                         deadline) for port in ports), return_exceptions=True)
    deadline.cancel()
    assert isinstance(outcomes[0], TimeoutError) and deadline.expired
    assert not isinstance(outcomes[1], BaseException) and outcomes[1].body == b"b"
    # the aborted connection is not kept; the other one is
    assert (await client.get("127.0.0.1", ports[0], "/", b"", 5)).body == b"again"
    assert (await client.get("127.0.0.1", ports[1], "/", b"", 5)).body == b"b"
    assert (hanging.connections, answering.connections) == (2, 1)
    with pytest.raises(TimeoutError):  # an expired deadline fails at once, connection kept
        await client.send_by("127.0.0.1", ports[1], b"", deadline)
    assert (await client.get("127.0.0.1", ports[1], "/", b"", 5)).body == b"b"
    assert answering.connections == 1
    await client.close()
    for srv in started:
        srv.close()


async def test_a_body_up_to_the_close_cut_by_the_deadline_is_a_timeout(
        server: tuple[Server, int]) -> None:
    s, port = server
    s.answers = [ok(b"first"), b"HANG:HTTP/1.1 200 OK\r\n\r\npart of a bo"]
    client = KubeletHTTP(None)
    await client.get("127.0.0.1", port, "/", b"", 5)
    with pytest.raises(TimeoutError):
        await client.get("127.0.0.1", port, "/", b"", 0.3)
    await client.close()


async def test_idle_connections_expire(server: tuple[Server, int]) -> None:
    s, port = server
    s.answers = [ok(b"a")]
    client = KubeletHTTP(None, keepalive=0.0)
    await client.get("127.0.0.1", port, "/", b"", 5)
    client.expire()
    await client.get("127.0.0.1", port, "/", b"", 5)
    client.forget("127.0.0.1", port)
    await client.close()
    assert s.connections == 2


async def test_tls_with_the_kubelet_ca_and_an_ip_san(tmp_path: Path) -> None:
    ca = new_ca("kubelet-ca")
    serving = new_cert(ca, "kubelet", ip_addresses=["127.0.0.1"], server=True)
    serving.write(tmp_path / "tls.crt", tmp_path / "tls.key")
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(tmp_path / "tls.crt", tmp_path / "tls.key")
    s = Server()
    s.answers = [ok(b"secure")]
    srv = await asyncio.start_server(s.handle, "127.0.0.1", 0, ssl=server_ctx)
    port = srv.sockets[0].getsockname()[1]
    client_ctx = ssl.create_default_context(cadata=ca.cert_pem().decode())
    client = KubeletHTTP(client_ctx)
    try:
        for _ in range(2):
            assert (await client.get("127.0.0.1", port, "/", b"", 5)).body == b"secure"
        assert s.connections == 1
        stranger = KubeletHTTP(ssl.create_default_context())
        with pytest.raises(ssl.SSLError):
            await stranger.get("127.0.0.1", port, "/", b"", 5)
        await stranger.close()
    finally:
        await client.close()
        srv.close()
