"""Real TLS against `serve()` on loopback: versions, client certs, rotation, CA updates."""

from __future__ import annotations

import asyncio
import json
import ssl
import threading
import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding
from starlette.applications import Starlette

from k8s_aggapi.health import HealthChecks, health_routes
from k8s_aggapi.request.context import peer_certificate_der
from k8s_aggapi.serving import SecureServer, SecureServingOptions, serve
from k8s_aggapi.serving.certs import KeyPair, new_ca, new_cert
from k8s_aggapi.serving.loop import loop_name
from k8s_aggapi.serving.loop import run as run_on_loop

pytestmark = pytest.mark.integration


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    """Echo what the TLS layer told the app about the peer."""
    if scope["type"] != "http":
        return
    der = peer_certificate_der(scope)
    tls = scope.get("extensions", {}).get("tls", {})
    body = json.dumps(
        {
            "der": der.hex() if der else None,
            "name": tls.get("client_cert_name"),
            "version": tls.get("tls_version"),
        }
    ).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@dataclass
class Env:
    dir: Path
    server_ca: KeyPair
    client_ca: KeyPair
    other_ca: KeyPair
    shutdown_calls: list[int] = field(default_factory=list)
    server: SecureServer | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return self.server.port

    def client(self, cert: KeyPair | None = None, *, tls12: bool = False) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cadata=self.server_ca.cert_pem().decode())
        if tls12:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        if cert is not None:
            crt, key = self.dir / f"{id(cert)}.crt", self.dir / f"{id(cert)}.key"
            cert.write(crt, key)
            ctx.load_cert_chain(crt, key)
        return ctx

    def rotate(self) -> KeyPair:
        pair = new_cert(self.server_ca, "server", dns_names=["localhost"], server=True)
        pair.write(self.dir / "tls.crt", self.dir / "tls.key")
        return pair


def _env(tmp_path: Path) -> tuple[Env, SecureServingOptions]:
    env = Env(tmp_path, new_ca("server-ca"), new_ca("client-ca"), new_ca("other-ca"))
    env.rotate()
    (tmp_path / "client-ca.crt").write_bytes(env.client_ca.cert_pem())
    options = SecureServingOptions(
        bind_address="127.0.0.1",
        secure_port=0,
        tls_cert_file=str(tmp_path / "tls.crt"),
        tls_private_key_file=str(tmp_path / "tls.key"),
        client_ca_files=(str(tmp_path / "client-ca.crt"),),
        cert_reload_interval=0.1,
    )
    return env, options


@pytest.fixture(params=["httptools", "h11"])
async def env(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Env]:
    env, options = _env(tmp_path)
    ready = asyncio.Event()

    def on_ready(server: SecureServer) -> None:
        env.server = server
        ready.set()

    task = asyncio.create_task(
        serve(
            app,
            options,
            on_ready=on_ready,
            on_shutdown=lambda _: env.shutdown_calls.append(1),
            log_level="warning",
            http=request.param,
        )
    )
    await asyncio.wait_for(ready.wait(), 10)
    yield env
    assert env.server is not None
    env.server.should_exit = True
    await asyncio.wait_for(task, 10)
    assert env.shutdown_calls == [1]


async def fetch(port: int, ctx: ssl.SSLContext) -> tuple[dict[str, Any], x509.Certificate]:
    """One HTTP/1.1 request; the app's JSON answer and the server certificate presented."""
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=ctx, server_hostname="localhost"
    )
    try:
        writer.write(b"GET / HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
        await writer.drain()
        raw = await asyncio.wait_for(reader.read(), 5)
        server_der = writer.get_extra_info("ssl_object").getpeercert(binary_form=True)
    finally:
        writer.close()
    if not raw:
        raise ConnectionError("connection closed without a response")
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    return json.loads(body), x509.load_der_x509_certificate(server_der)


async def test_tls12_accepted_and_tls11_refused(env: Env) -> None:
    answer, _ = await fetch(env.port, env.client(tls12=True))
    assert answer["version"] == 0x0303
    old = env.client()
    old.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old.minimum_version = ssl.TLSVersion.TLSv1
        old.maximum_version = ssl.TLSVersion.TLSv1_1
    # the server aborts the handshake (asyncio may drop the alert, so the client sees a reset);
    # tests/unit/serving/test_tls.py shows the same client does speak TLS 1.1 to a lax server
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await fetch(env.port, old)


async def test_the_app_sees_the_client_certificate(env: Env) -> None:
    alice = new_cert(env.client_ca, "alice", organizations=["devs"], client=True)
    answer, _ = await fetch(env.port, env.client(alice))
    assert bytes.fromhex(answer["der"]) == alice.cert.public_bytes(Encoding.DER)
    assert answer["name"] == "CN=alice,O=devs"  # RFC 4514 order
    answer, _ = await fetch(env.port, env.client())
    assert answer["der"] is None


@pytest.mark.parametrize("tls12", [True, False])
async def test_a_certificate_from_an_unknown_ca_is_rejected(env: Env, tls12: bool) -> None:
    mallory = new_cert(env.other_ca, "mallory", client=True)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await fetch(env.port, env.client(mallory, tls12=tls12))


async def test_rotated_serving_certificate_is_used_without_restart(env: Env) -> None:
    _, before = await fetch(env.port, env.client())
    new = env.rotate()
    assert new.cert.serial_number != before.serial_number
    for _ in range(100):
        _, served = await fetch(env.port, env.client())
        if served.serial_number == new.cert.serial_number:
            break
        await asyncio.sleep(0.05)
    else:
        pytest.fail("the new serving certificate was never presented")


async def test_client_cas_are_updated_at_runtime(env: Env) -> None:
    assert env.server is not None
    alice = new_cert(env.client_ca, "alice", client=True)
    bob = new_cert(env.other_ca, "front-proxy", client=True)
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await fetch(env.port, env.client(bob, tls12=True))

    await env.server.tls.set_client_cas(env.other_ca.cert_pem())
    answer, _ = await fetch(env.port, env.client(bob))
    assert answer["name"] == "CN=front-proxy"
    with pytest.raises((ssl.SSLError, ConnectionError)):
        await fetch(env.port, env.client(alice, tls12=True))

    both = env.client_ca.cert_pem() + env.other_ca.cert_pem()
    await env.server.tls.set_client_cas(both)
    assert (await fetch(env.port, env.client(alice)))[0]["name"] == "CN=alice"


@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_each_event_loop_serves_client_certs_and_rotations(tmp_path: Path, loop: str) -> None:
    env, options = _env(tmp_path)
    ready = threading.Event()
    seen: list[str] = []

    def on_ready(server: SecureServer) -> None:
        env.server = server
        seen.append(loop_name(asyncio.get_running_loop()))
        ready.set()

    def run() -> None:  # the way server.main runs a server, on the chosen loop
        run_on_loop(serve(app, options, on_ready=on_ready, log_level="warning"), loop=loop)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        assert ready.wait(10)
        assert seen == [loop]
        alice = new_cert(env.client_ca, "alice", client=True)
        answer, before = asyncio.run(fetch(env.port, env.client(alice)))
        assert answer["name"] == "CN=alice"
        new = env.rotate()
        for _ in range(100):
            _, served = asyncio.run(fetch(env.port, env.client()))
            if served.serial_number == new.cert.serial_number:
                break
            threading.Event().wait(0.05)
        else:
            pytest.fail("the new serving certificate was never presented")
        assert served.serial_number != before.serial_number
    finally:
        assert env.server is not None
        env.server.should_exit = True
        thread.join(10)


async def test_readyz_fails_during_the_shutdown_delay(tmp_path: Path) -> None:
    env, options = _env(tmp_path)
    checks = HealthChecks()
    ready = asyncio.Event()

    def on_ready(server: SecureServer) -> None:
        env.server = server
        ready.set()

    task = asyncio.create_task(
        serve(
            Starlette(routes=health_routes(checks)),
            options,
            on_ready=on_ready,
            on_shutdown=checks.mark_shutting_down,
            shutdown_delay=0.5,
            log_level="warning",
        )
    )
    await asyncio.wait_for(ready.wait(), 10)
    assert env.server is not None
    try:
        assert await _get(env.port, env.client(), "/readyz") == b"ok"
    finally:
        env.server.should_exit = True
    await asyncio.sleep(0.2)  # inside the 0.5 s delay: still serving, no longer ready
    body = await _get(env.port, env.client(), "/readyz")
    assert b"[-]shutdown failed: reason withheld\n" in body
    await asyncio.wait_for(task, 10)
    assert checks.shutting_down


async def _get(port: int, ctx: ssl.SSLContext, path: str) -> bytes:
    reader, writer = await asyncio.open_connection(
        "127.0.0.1", port, ssl=ctx, server_hostname="localhost"
    )
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode()
        )
        raw = await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()
    return raw.partition(b"\r\n\r\n")[2]
