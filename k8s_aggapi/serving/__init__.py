"""TLS serving: options and self-signed defaults, live certificate reload, uvicorn wiring.

The outermost layer: uvicorn terminates TLS here and the peer certificate enters the scope.
Names load lazily, so `k8s_aggapi.serving.certs` alone does not import uvicorn.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from k8s_aggapi.serving.options import (
        SecureServingInfo,
        SecureServingOptions,
        ensure_self_signed,
    )
    from k8s_aggapi.serving.runner import SecureServer, build_server, serve
    from k8s_aggapi.serving.tls import DynamicServingTLS

_HOMES = {
    "DynamicServingTLS": "tls",
    "SecureServer": "runner",
    "SecureServingInfo": "options",
    "SecureServingOptions": "options",
    "build_server": "runner",
    "ensure_self_signed": "options",
    "serve": "runner",
}
__all__ = [
    "DynamicServingTLS",
    "SecureServer",
    "SecureServingInfo",
    "SecureServingOptions",
    "build_server",
    "ensure_self_signed",
    "serve",
]


def __getattr__(name: str) -> Any:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
