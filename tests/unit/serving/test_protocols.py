from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from k8s_aggapi.request.context import peer_certificate_der
from k8s_aggapi.serving.protocols import (
    PeerCertificateMixin,
    _with_tls,
    protocol_class,
    tls_extension,
)
from k8s_aggapi.serving.tls import DynamicServingTLS
from tests.unit.serving.pki import PKI, handshake


@pytest.mark.parametrize(("name", "base"), [("h11", H11Protocol), ("httptools", HttpToolsProtocol)])
def test_http_protocols_are_subclassed(name: str, base: type) -> None:
    cls = protocol_class("http", name)
    assert cls is not None
    assert issubclass(cls, base)
    assert issubclass(cls, PeerCertificateMixin)
    assert protocol_class("http", name) is cls


def test_websocket_protocols() -> None:
    assert protocol_class("ws", "none") is None
    auto = protocol_class("ws", "auto")
    assert auto is not None
    assert issubclass(auto, PeerCertificateMixin)


def test_tls_extension_carries_the_client_certificate(pki: PKI) -> None:
    tls = DynamicServingTLS(pki.cert_file, pki.key_file, client_ca_pem=pki.client_ca.cert_pem())
    _, server = handshake(tls.context, pki.client_context(pki.client))
    ext = tls_extension(server)
    assert ext["client_cert_der"] == pki.client.cert.public_bytes(Encoding.DER)
    assert ext["client_cert_name"] == "CN=alice"
    assert ext["client_cert_chain"] == [pki.client.cert_pem().decode()]
    assert ext["tls_version"] == 0x0304
    assert isinstance(ext["cipher_suite"], int)

    _, server = handshake(tls.context, pki.client_context())
    ext = tls_extension(server)
    assert ext["client_cert_der"] is None
    assert (ext["client_cert_chain"], ext["client_cert_name"]) == ([], None)


async def test_the_wrapped_app_sees_the_extension() -> None:
    seen: list[dict[str, Any]] = []

    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        seen.append(scope)

    wrapped = _with_tls(app, {"client_cert_der": b"der"})
    await wrapped({"type": "http"}, None, None)
    await wrapped({"type": "websocket", "extensions": {"websocket.http.response": {}}}, None, None)
    assert [peer_certificate_der(s) for s in seen] == [b"der", b"der"]
    assert "websocket.http.response" in seen[1]["extensions"]
