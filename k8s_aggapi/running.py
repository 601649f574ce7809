"""A server while it runs: the frozen `CompletedConfig` it serves, the components it started,
its background tasks (the client CAs the TLS layer trusts, the serving certificate's reload),
its post-start hooks and, when it listens, the uvicorn server.

`build_app`'s lifespan calls `start()` before the socket accepts and `stop()` after it closed;
`serve()` runs the app over TLS. The config stays a value: all that changes lives here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from k8s_aggapi.config import CompletedConfig
from k8s_aggapi.serving.runner import Hook, SecureServer, build_server

log = logging.getLogger("k8s_aggapi.running")
CA_SYNC_SECONDS = 1.0


class RunningServer:
    def __init__(self, config: CompletedConfig) -> None:
        self.config = config
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.server: SecureServer | None = None
        self.started = False

    async def start(self) -> None:
        """Start the components (authentication reads its CA files and ConfigMap before this
        returns), make the TLS layer trust the client CAs and follow them, reload the serving
        certificate while serving, then run the post-start hooks in order."""
        config = self.config
        for component in config.components:
            await component.start()
        serving = config.serving
        if serving is not None:
            if config.trusted_ca_pem is not None:
                await serving.tls.set_client_cas(config.trusted_ca_pem())
                self._spawn("sync client CAs", self._sync_client_cas())
            self._spawn("reload serving certificate", serving.tls.watch(serving.reload_interval))
        self.started = True
        for hook in config.post_start_hooks:
            await hook()

    async def stop(self) -> None:
        for task in self.tasks.values():
            task.cancel()
        for task in self.tasks.values():
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.tasks.clear()
        if self.started:
            for component in reversed(self.config.components):
                await component.stop()
        self.started = False

    async def serve(self, app: Any, *, on_ready: Hook | None = None,
                    log_level: str | int | None = "info") -> None:
        """Serve `app` (built by `build_app(config, self)`) over TLS until SIGINT/SIGTERM."""
        serving = self.config.serving
        if serving is None:
            raise ValueError("serving is not configured")
        self.server = build_server(
            app, serving, on_ready=on_ready, on_shutdown=self.config.health.mark_shutting_down,
            log_level=log_level, limits=self.config.limits,
        )
        try:
            await self.server.serve()
        finally:
            self.server = None

    def _spawn(self, name: str, work: Coroutine[Any, Any, None]) -> None:
        self.tasks[name] = asyncio.create_task(work, name=name)

    async def _sync_client_cas(self) -> None:
        serving, trusted = self.config.serving, self.config.trusted_ca_pem
        assert serving is not None
        assert trusted is not None
        applied = trusted()
        while True:
            await asyncio.sleep(CA_SYNC_SECONDS)
            current = trusted()
            if current != applied and await serving.tls.set_client_cas(current):
                log.info("client CA bundle changed; new handshakes use it")
                applied = current
