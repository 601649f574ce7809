"""Where each middleware leaves what it learned in the ASGI scope, and how handlers read it.

One key per fact, under names of our own so nothing collides with Starlette's.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from k8s_aggapi.request.info import RequestInfo
from k8s_aggapi.request.user import User

REQUEST_INFO = "k8s_aggapi.request_info"
USER = "k8s_aggapi.user"
AUDIT_ID = "k8s_aggapi.audit_id"
RAW_SEND = "k8s_aggapi.raw_send"
"""The `send` outside the response middleware's wrapper: a long response (a watch) writes its
body messages through it once its start went through the chain (the wrapper only looks at the
start message, so it sees nothing it needs per body chunk)."""


def request_info(scope: MutableMapping[str, Any]) -> RequestInfo:
    info: RequestInfo = scope[REQUEST_INFO]
    return info


def user(scope: MutableMapping[str, Any]) -> User:
    who: User = scope[USER]
    return who


def peer_certificate_der(scope: MutableMapping[str, Any]) -> bytes | None:
    """The verified client certificate (DER) that `serving` put into the TLS extension."""
    tls = scope.get("extensions", {}).get("tls") or {}
    der = tls.get("client_cert_der")
    return der if isinstance(der, bytes) else None
