"""Client-certificate verdicts on kept-alive TLS connections: a CA taken out of the
authentication bundle refuses the very next request of a connection that was already open."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from k8s_aggapi.authentication.cabundle import DynamicCABundle
from k8s_aggapi.authentication.x509 import X509Authenticator
from k8s_aggapi.middleware.authentication import AuthenticationMiddleware
from k8s_aggapi.middleware.response import ResponseMiddleware
from k8s_aggapi.request.context import USER
from k8s_aggapi.serving import SecureServer, SecureServingOptions, serve
from k8s_aggapi.serving.certs import KeyPair, new_ca, new_cert

pytestmark = pytest.mark.integration


async def whoami(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = scope[USER].name.encode()
    await send({"type": "http.response.start", "status": 200,
                "headers": [(b"content-length", b"%d" % len(body))]})
    await send({"type": "http.response.body", "body": body})


class Connection:
    """One kept-alive HTTP/1.1 connection; `get()` answers (status, body)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def get(self) -> tuple[int, bytes]:
        self.writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        await self.writer.drain()
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 5)
        lines = head.decode("latin-1").split("\r\n")
        length = next(int(v) for k, _, v in (h.partition(": ") for h in lines[1:])
                      if k.lower() == "content-length")
        body = await asyncio.wait_for(self.reader.readexactly(length), 5)
        return int(lines[0].split()[1]), body


@pytest.fixture
async def served(tmp_path: Path) -> AsyncIterator[tuple[SecureServer, DynamicCABundle, KeyPair,
                                                        ssl.SSLContext]]:
    server_ca, client_ca = new_ca("server-ca"), new_ca("client-ca")
    new_cert(server_ca, "server", dns_names=["localhost"], server=True).write(
        tmp_path / "tls.crt", tmp_path / "tls.key")
    (tmp_path / "client-ca.crt").write_bytes(client_ca.cert_pem())
    bundle = DynamicCABundle("client-ca", client_ca.cert_pem())
    app = ResponseMiddleware(AuthenticationMiddleware(whoami, X509Authenticator(bundle)))
    options = SecureServingOptions(
        bind_address="127.0.0.1", secure_port=0, tls_cert_file=str(tmp_path / "tls.crt"),
        tls_private_key_file=str(tmp_path / "tls.key"),
        client_ca_files=(str(tmp_path / "client-ca.crt"),))
    alice = new_cert(client_ca, "alice", client=True)
    alice.write(tmp_path / "alice.crt", tmp_path / "alice.key")
    ctx = ssl.create_default_context(cadata=server_ca.cert_pem().decode())
    ctx.load_cert_chain(tmp_path / "alice.crt", tmp_path / "alice.key")
    ready: asyncio.Future[SecureServer] = asyncio.get_running_loop().create_future()
    task = asyncio.create_task(serve(app, options, on_ready=ready.set_result,
                                     log_level="warning"))
    server = await asyncio.wait_for(ready, 10)
    yield server, bundle, client_ca, ctx
    server.should_exit = True
    await asyncio.wait_for(task, 10)


async def test_a_removed_ca_refuses_the_next_request_of_an_open_connection(
    served: tuple[SecureServer, DynamicCABundle, KeyPair, ssl.SSLContext],
) -> None:
    server, bundle, client_ca, ctx = served
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port, ssl=ctx,
                                                   server_hostname="localhost")
    try:
        conn = Connection(reader, writer)
        assert await conn.get() == (200, b"alice")
        assert await conn.get() == (200, b"alice")  # the remembered verdict
        bundle.update(new_ca("another-ca").cert_pem())  # as a ConfigMap change does
        status, body = await conn.get()
        assert status == 401
        assert b'"reason":"Unauthorized"' in body
        bundle.update(client_ca.cert_pem())
        assert await conn.get() == (200, b"alice")
    finally:
        writer.close()
