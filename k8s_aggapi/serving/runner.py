"""Run an ASGI app over TLS with uvicorn: our protocol classes, our live SSL context.

Shutdown on SIGINT/SIGTERM is uvicorn's (graceful, then cancel after `graceful_timeout`);
`on_shutdown` fires first and `shutdown_delay` keeps serving while /readyz reports it.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypedDict, Unpack

import uvicorn

from k8s_aggapi.limits import DEFAULT_LIMITS, ServerLimits
from k8s_aggapi.serving.headguard import BUFIO_SLACK
from k8s_aggapi.serving.options import SecureServingInfo, SecureServingOptions
from k8s_aggapi.serving.protocols import protocol_class
from k8s_aggapi.serving.tls import DynamicServingTLS

Hook = Callable[["SecureServer"], Awaitable[None] | None]


class ServerOptions(TypedDict, total=False):
    """The keyword options of `serve()` and `build_server()` (defaults in `build_server`)."""

    on_ready: Hook | None
    on_shutdown: Hook | None
    shutdown_delay: float
    graceful_timeout: float
    log_level: str | int | None
    access_log: bool
    http: str
    ws: str
    limits: ServerLimits


class LimitedConfig(uvicorn.Config):
    """uvicorn's Config carrying our `ServerLimits` to the protocol classes (`headguard.py`);
    the keep-alive timeout is Go's IdleTimeout, h11's own head limit never below ours."""

    def __init__(self, app: Any, *, limits: ServerLimits, **kwargs: Any) -> None:
        kwargs.setdefault("timeout_keep_alive", limits.idle_timeout)  # a float works
        kwargs.setdefault("h11_max_incomplete_event_size", limits.max_header_bytes + BUFIO_SLACK)
        super().__init__(app, **kwargs)
        self.limits = limits


class SecureServer(uvicorn.Server):
    """A uvicorn server bound to a `SecureServingInfo`; `port` is known once ready."""

    def __init__(
        self,
        config: uvicorn.Config,
        serving: SecureServingInfo,
        *,
        on_ready: Hook | None = None,
        on_shutdown: Hook | None = None,
        shutdown_delay: float = 0.0,
    ) -> None:
        super().__init__(config)
        self.serving = serving
        self.port = serving.secure_port
        self._on_ready, self._on_shutdown = on_ready, on_shutdown
        self._shutdown_delay = shutdown_delay
        self._exit_requested_at: float | None = None

    @property
    def tls(self) -> DynamicServingTLS:
        return self.serving.tls

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self.port = self.servers[0].sockets[0].getsockname()[1]
            await _call(self._on_ready, self)

    async def on_tick(self, counter: int) -> bool:
        if not await super().on_tick(counter):
            return False
        if self._exit_requested_at is None:
            self._exit_requested_at = time.monotonic()
            await _call(self._on_shutdown, self)
        waited = time.monotonic() - self._exit_requested_at
        return self.force_exit or waited >= self._shutdown_delay


async def serve(
    app: Any, serving: SecureServingOptions | SecureServingInfo, **options: Unpack[ServerOptions]
) -> None:
    """Serve `app` over TLS until SIGINT/SIGTERM (or `server.should_exit = True`).

    `on_ready(server)` runs once the socket listens (`server.port` is the bound port);
    `on_shutdown(server)` runs when an exit is requested, `shutdown_delay` seconds before the
    listener closes. The serving certificate is reloaded from disk while serving. `limits`
    bounds request heads (size, read time) and idle connections.
    """
    server = build_server(app, await _complete(serving), **options)
    watcher = asyncio.create_task(server.tls.watch(server.serving.reload_interval))
    try:
        await server.serve()
    finally:
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher


def build_server(
    app: Any,
    serving: SecureServingInfo,
    *,
    on_ready: Hook | None = None,
    on_shutdown: Hook | None = None,
    shutdown_delay: float = 0.0,
    graceful_timeout: float = 30.0,
    log_level: str | int | None = "info",
    access_log: bool = False,
    http: str = "auto",
    ws: str = "auto",
    limits: ServerLimits = DEFAULT_LIMITS,
) -> SecureServer:
    """The uvicorn server `serve()` runs, for callers that drive `server.serve()` themselves."""
    tls = serving.tls

    def ssl_context(_cfg: uvicorn.Config, _default: Callable[[], ssl.SSLContext]) -> ssl.SSLContext:
        return tls.context

    config = LimitedConfig(
        app,
        limits=limits,
        host=serving.bind_address,
        port=serving.secure_port,
        http=protocol_class("http", http) or "auto",
        ws=protocol_class("ws", ws) or "none",
        ssl_context_factory=ssl_context,
        log_config=None,
        log_level=log_level,
        access_log=access_log,
        proxy_headers=False,  # the client address is the TCP peer, never a header
        server_header=False,
        timeout_graceful_shutdown=graceful_timeout,
    )
    return SecureServer(
        config, serving, on_ready=on_ready, on_shutdown=on_shutdown, shutdown_delay=shutdown_delay
    )


async def _complete(serving: SecureServingOptions | SecureServingInfo) -> SecureServingInfo:
    if isinstance(serving, SecureServingInfo):
        return serving
    return await asyncio.to_thread(serving.complete)


async def _call(hook: Hook | None, server: SecureServer) -> None:
    if hook is not None:
        result = hook(server)
        if inspect.isawaitable(result):
            await result
