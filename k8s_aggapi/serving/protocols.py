"""uvicorn protocol classes that put the TLS peer certificate into the ASGI scope.

uvicorn 0.54 never fills `scope["extensions"]["tls"]`; these subclasses do, once per
connection (after the handshake), for h11, httptools and the WebSocket protocols alike.
"""

from __future__ import annotations

import asyncio
import functools
import ssl
from typing import Any, cast

from cryptography import x509
from uvicorn.config import HTTP_PROTOCOLS, WS_PROTOCOLS
from uvicorn.importer import import_from_string

from k8s_aggapi.serving.headguard import head_guards

Scope = dict[str, Any]
ASGIApp = Any

_TLS_VERSIONS = {"TLSv1.2": 0x0303, "TLSv1.3": 0x0304}


def tls_extension(ssl_object: ssl.SSLObject) -> dict[str, Any]:
    """The ASGI TLS extension for one connection, plus `client_cert_der` (leaf only)."""
    der = ssl_object.getpeercert(binary_form=True)
    name: str | None = None
    chain: list[str] = []
    if der:
        name = x509.load_der_x509_certificate(der).subject.rfc4514_string()
        chain = [ssl.DER_cert_to_PEM_cert(der)]
    cipher = ssl_object.cipher()
    return {
        "server_cert": None,
        "client_cert_chain": chain,
        "client_cert_name": name,
        "client_cert_error": None,
        "tls_version": _TLS_VERSIONS.get(ssl_object.version() or ""),
        "cipher_suite": _cipher_id(ssl_object.context, cipher[0]) if cipher else None,
        "client_cert_der": der or None,
    }


class PeerCertificateMixin:
    """Wraps the protocol's app per connection so each scope carries the TLS extension."""

    app: ASGIApp

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[misc]
        ssl_object = transport.get_extra_info("ssl_object")
        if isinstance(ssl_object, ssl.SSLObject | ssl.SSLSocket):
            self.app = _with_tls(self.app, tls_extension(cast(ssl.SSLObject, ssl_object)))


def _with_tls(app: ASGIApp, tls: dict[str, Any]) -> ASGIApp:
    async def with_tls(scope: Scope, receive: Any, send: Any) -> None:
        extensions = scope.get("extensions")
        if extensions is None:
            scope["extensions"] = {"tls": tls}
        else:
            extensions["tls"] = tls
        await app(scope, receive, send)

    return with_tls


@functools.cache
def protocol_class(kind: str, name: str) -> type[asyncio.Protocol] | None:
    """uvicorn's protocol `name` ("auto", "h11", "httptools", "websockets-sansio", ...) for
    `kind` "http" or "ws", subclassed with `PeerCertificateMixin` (and for h11 and httptools
    the request-head guard of `headguard.py`); None for ws "none"."""
    table: dict[str, str | None] = dict(HTTP_PROTOCOLS if kind == "http" else WS_PROTOCOLS)
    target = table.get(name, name)
    if target is None:
        return None
    base = import_from_string(target)
    if base is None:  # ws "auto" without any WebSocket library installed
        return None
    guards = head_guards(base) if kind == "http" else ()
    bases = (PeerCertificateMixin, *guards, base)
    return cast(type[asyncio.Protocol], type(f"PeerCertificate{base.__name__}", bases, {}))


_CIPHER_IDS: dict[str, int] = {}


def _cipher_id(context: ssl.SSLContext, name: str) -> int | None:
    if name not in _CIPHER_IDS:  # IANA ids are global; learn them from the first context
        _CIPHER_IDS.update((c["name"], c["id"] & 0xFFFF) for c in context.get_ciphers())
    return _CIPHER_IDS.get(name)
