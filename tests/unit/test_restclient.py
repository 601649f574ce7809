"""kubeconfig reading (`kubeconfig.load_kubeconfig`, `in_cluster_config`) and `restclient`:
what a kubeconfig names, the library fallback, token rotation, and no kubernetes import."""

from __future__ import annotations

import asyncio
import base64
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from k8s_aggapi import restclient
from k8s_aggapi.kubeconfig import KubeconfigError, RestConfig, in_cluster_config, load_kubeconfig
from k8s_aggapi.restclient import LibraryTransport, RestTransport, StreamTimeout


def _write(path: Path, cluster: dict[str, Any], user: dict[str, Any]) -> Path:
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "other", "cluster": {"server": "https://wrong"}},
                     {"name": "k", "cluster": cluster}],
        "users": [{"name": "u", "user": user}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
    }))
    return path


def test_data_fields_are_spilled_to_private_files(tmp_path: Path) -> None:
    spilled: list[bytes] = []

    def spill(data: bytes) -> str:
        spilled.append(data)
        return f"/spilled/{len(spilled)}"

    path = _write(tmp_path / "kc", {
        "server": "https://10.0.0.1:6443/", "certificate-authority-data": base64.b64encode(
            b"CA").decode(), "tls-server-name": "kubernetes"}, {
        "client-certificate-data": base64.b64encode(b"CERT").decode(),
        "client-key-data": base64.b64encode(b"KEY").decode()})
    config = load_kubeconfig(str(path), spill=spill)
    assert config == RestConfig(host="https://10.0.0.1:6443", ca_file="/spilled/1",
                                cert_file="/spilled/2", key_file="/spilled/3",
                                server_name="kubernetes")
    assert spilled == [b"CA", b"CERT", b"KEY"]


def test_the_default_spill_writes_the_bytes(tmp_path: Path) -> None:
    path = _write(tmp_path / "kc", {"server": "https://h", "certificate-authority-data":
                                    base64.b64encode(b"PEM BYTES").decode()}, {})
    config = load_kubeconfig(str(path))
    assert config is not None
    ca = Path(config.ca_file)
    assert ca.read_bytes() == b"PEM BYTES"
    assert ca.stat().st_mode & 0o077 == 0


def test_paths_are_relative_to_the_kubeconfig(tmp_path: Path) -> None:
    path = _write(tmp_path / "kc", {"server": "https://h", "certificate-authority": "ca.crt",
                                    "insecure-skip-tls-verify": True},
                  {"client-certificate": "/abs/c.crt", "client-key": "k.key",
                   "token": "t", "tokenFile": "token"})
    config = load_kubeconfig(str(path))
    assert config == RestConfig(host="https://h", ca_file=str(tmp_path / "ca.crt"),
                                cert_file="/abs/c.crt", key_file=str(tmp_path / "k.key"),
                                token="t", token_file=str(tmp_path / "token"), insecure=True)


@pytest.mark.parametrize(("user", "cluster"), [
    ({"exec": {"command": "gcloud"}}, {}),
    ({"auth-provider": {"name": "oidc"}}, {}),
    ({"username": "a", "password": "b"}, {}),
    ({"as": "someone"}, {}),
    ({}, {"proxy-url": "http://proxy:3128"}),
])
def test_what_only_the_library_does_is_left_to_it(tmp_path: Path, user: dict[str, Any],
                                                  cluster: dict[str, Any]) -> None:
    path = _write(tmp_path / "kc", {"server": "https://h", **cluster}, user)
    assert load_kubeconfig(str(path)) is None


@pytest.mark.parametrize(("text", "message"), [
    ("[1, 2]", "not a mapping"),
    ('{"contexts": []}', "no current-context"),
    ('{"current-context": "c", "contexts": []}', "context 'c' not found"),
    ("{not yaml: [", "invalid kubeconfig"),
])
def test_bad_kubeconfigs_are_named(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "kc"
    path.write_text(text)
    with pytest.raises(KubeconfigError, match=message):
        load_kubeconfig(str(path))


def test_in_cluster(tmp_path: Path) -> None:
    assert in_cluster_config({}) is None
    config = in_cluster_config({"KUBERNETES_SERVICE_HOST": "fd00::1",
                                "KUBERNETES_SERVICE_PORT": "443"}, tmp_path)
    assert config == RestConfig(host="https://[fd00::1]:443", ca_file=str(tmp_path / "ca.crt"),
                                token_file=str(tmp_path / "token"))


async def test_a_rotated_token_is_read_again_after_a_minute(tmp_path: Path) -> None:
    token = tmp_path / "token"
    token.write_text("first\n")
    now = [1000.0]
    transport = RestTransport(RestConfig(host="http://h", token_file=str(token)),
                              clock=lambda: now[0])
    assert await transport.token() == "first"
    token.write_text("second")
    now[0] += 30
    assert await transport.token() == "first"
    now[0] += 31
    assert await transport.token() == "second"
    token.unlink()  # a rotation under way: the last good token is kept
    now[0] += 61
    assert await transport.token() == "second"
    assert (await transport.auth()).token == "second"


@pytest.fixture
async def echo(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)

    async def handle(request: web.Request) -> web.Response:
        return web.json_response({"method": request.method, "path": request.path,
                                  "query": list(request.query.items()),
                                  "authorization": request.headers.get("Authorization"),
                                  "body": await request.text()})

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def test_request_sends_token_query_and_json(echo: str) -> None:
    transport = RestTransport(RestConfig(host=echo, token="tok"))
    response = await transport.request(
        "POST", "/api/v1/x", query=[("fieldSelector", "status.phase=Running"), ("a", "b c")],
        headers={"Content-Type": "application/json"}, body={"kind": "K"}, request_timeout=5)
    seen = json.loads(await response.read())
    await transport.close()
    assert seen == {"method": "POST", "path": "/api/v1/x",
                    "query": [["fieldSelector", "status.phase=Running"], ["a", "b c"]],
                    "authorization": "Bearer tok", "body": '{"kind": "K"}'}


async def test_connect_picks_the_transport(tmp_path: Path) -> None:
    plain = _write(tmp_path / "plain", {"server": "http://127.0.0.1:1"}, {"token": "t"})
    transport = await restclient.connect(str(plain))
    assert isinstance(transport, RestTransport)
    await transport.close()
    plugin = _write(tmp_path / "plugin", {"server": "http://127.0.0.1:1"},
                    {"exec": {"apiVersion": "client.authentication.k8s.io/v1",
                              "command": "true"}})
    library = await restclient.connect(str(plugin))
    assert isinstance(library, LibraryTransport)
    assert library.host == "http://127.0.0.1:1"
    await library.close()


def test_a_plain_kubeconfig_does_not_import_the_kubernetes_client(tmp_path: Path) -> None:
    """The memory claim: the metrics server connected with a token kubeconfig has loaded
    neither the kubernetes package (its models are ~18 MiB) nor aiohttp (~14 MiB)."""
    plain = _write(tmp_path / "plain", {"server": "http://127.0.0.1:1"}, {"token": "t"})
    script = (
        "import asyncio, sys\n"
        "import examples.metrics_server.server\n"
        "from examples.metrics_server.cluster import connect\n"
        "from k8s_aggapi import kube\n"
        "async def main():\n"
        f"    c = await connect({str(plain)!r}); k = await kube.connect({str(plain)!r})\n"
        "    assert k is not None\n"
        "    await c.close(); await k.close()\n"
        "asyncio.run(main())\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'aiohttp')))\n"
    )
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                         check=True, cwd=Path(__file__).resolve().parents[2], timeout=60)
    assert out.stdout.strip() == "[]"


class RawServer:
    """A loopback HTTP server that answers each request with the next canned bytes."""

    def __init__(self, answers: list[bytes], *, close_after: bool = False) -> None:
        self.answers, self.close_after = answers, close_after
        self.connections = 0
        self.requests: list[bytes] = []
        self.url = ""
        self._server: Any = None
        self._handlers: list[tuple[asyncio.Task[Any] | None, asyncio.StreamWriter]] = []

    async def __aenter__(self) -> RawServer:
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{self._server.sockets[0].getsockname()[1]}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._server.close()
        for task, writer in self._handlers:
            writer.transport.abort()
            if task is not None:
                task.cancel()
        await self._server.wait_closed()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self._handlers.append((asyncio.current_task(), writer))
        try:
            while self.answers:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                               if line.lower().startswith(b"content-length:")), 0)
                self.requests.append(head + await reader.readexactly(length))
                answer = self.answers.pop(0)
                if answer == b"hang":
                    await asyncio.sleep(30)
                writer.write(answer)
                await writer.drain()
                if self.close_after:
                    break
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass
        writer.transport.abort()


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


async def test_connections_are_kept_alive_and_a_stale_one_is_replaced() -> None:
    async with RawServer([OK, OK]) as server:
        transport = RestTransport(RestConfig(host=server.url))
        for _ in range(2):
            response = await transport.request("GET", "/a")
            assert (response.status, await response.read()) == (200, b"ok")
        assert server.connections == 1
        await transport.close()
    async with RawServer([OK, OK], close_after=True) as server:
        transport = RestTransport(RestConfig(host=server.url))
        for _ in range(2):  # the server closed the first connection after its answer
            response = await transport.request("POST", "/b", body={"x": 1})
            assert await response.read() == b"ok"
        assert server.connections == 2
        assert server.requests[1].endswith(b'\r\nContent-Length: 8\r\n\r\n{"x": 1}')
        await transport.close()


async def test_a_chunked_body_is_read_line_by_line() -> None:
    chunks = [b'{"a":', b'1}\n{"b":2}\n{"c"', b":3}\n"]
    body = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks) + b"0\r\n\r\n"
    answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + body
    async with RawServer([answer, OK]) as server:
        transport = RestTransport(RestConfig(host=server.url))
        response = await transport.request("GET", "/w", request_timeout=StreamTimeout(5, 5))
        lines = [line async for line in _lines(response)]
        assert lines == [b'{"a":1}\n', b'{"b":2}\n', b'{"c":3}\n']
        again = await transport.request("GET", "/x")  # the connection was given back
        assert await again.read() == b"ok"
        assert server.connections == 1
        await transport.close()


async def _lines(response: Any) -> AsyncIterator[bytes]:
    while line := await response.readline():
        yield line


async def test_a_close_delimited_body_and_errors() -> None:
    async with RawServer([b"HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\nnope"],
                         close_after=True) as server:
        transport = RestTransport(RestConfig(host=server.url))
        response = await transport.request("GET", "/c")
        assert (response.status, await response.read()) == (404, b"nope")
        await transport.close()
    async with RawServer([b"SSH-2.0-OpenSSH\r\n\r\n"]) as server:
        transport = RestTransport(RestConfig(host=server.url))
        with pytest.raises(restclient.TransportError, match="not an HTTP"):
            await transport.request("GET", "/d")
        await transport.close()
    async with RawServer([b"HTTP/1.1 200 OK\r\nContent-Length: many\r\n\r\nx"]) as server:
        transport = RestTransport(RestConfig(host=server.url))
        with pytest.raises(restclient.TransportError, match="invalid response headers"):
            await transport.request("GET", "/d")
        await transport.close()
    async with RawServer([b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"],
                         close_after=True) as server:
        transport = RestTransport(RestConfig(host=server.url))
        response = await transport.request("GET", "/e")
        with pytest.raises(restclient.TransportError, match="closed before the body"):
            await response.read()
        await transport.close()


async def test_a_silent_server_times_out() -> None:
    async with RawServer([b"hang"]) as server:
        transport = RestTransport(RestConfig(host=server.url))
        with pytest.raises(TimeoutError):
            await transport.request("GET", "/f", request_timeout=0.2)
        await transport.close()
    with pytest.raises(ConnectionRefusedError):  # an OSError, which the callers catch
        await RestTransport(RestConfig(host="http://127.0.0.1:1")).request("GET", "/")
