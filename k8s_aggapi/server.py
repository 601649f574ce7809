"""Building the ASGI app from a `CompletedConfig`, and running it over TLS.

`build_app` is the one place where routes and the handler chain are put together; `main`
is what a server's `__main__` calls: flags -> config -> complete -> `RunningServer` -> serve.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from starlette.middleware import Middleware
from starlette.routing import BaseRoute, Route, Router
from starlette.types import Lifespan, Receive, Scope, Send

from k8s_aggapi import errors
from k8s_aggapi.api import APIGroup
from k8s_aggapi.config import CompletedConfig, ServerConfig
from k8s_aggapi.discovery import discovery_routes
from k8s_aggapi.endpoints.handlers import ResourceEndpoint
from k8s_aggapi.health import health_routes
from k8s_aggapi.metrics import metrics_routes
from k8s_aggapi.middleware import handler_chain
from k8s_aggapi.openapi import openapi_routes
from k8s_aggapi.request.context import REQUEST_INFO
from k8s_aggapi.running import RunningServer
from k8s_aggapi.storage.interface import Storage
from k8s_aggapi.version import version_routes

log = logging.getLogger("k8s_aggapi.server")


class _NotFound:
    """The last route: anything unmatched is a 404 Status (an ASGI app, not a handler)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        raise errors.PathNotFound()


class ServerApp(Router):
    """The ASGI app: the handler chain (`middleware/__init__.py`) around a router that sends a
    resource request (request info says so, `/apis/{group}/{version}/{resource}...`) straight
    to the resource endpoint and every other path through `routes` in order.

    No Starlette application object: its two exception middlewares (each one more wrapper
    around every response) have nothing to do, as the chain answers every error; routing's
    own 404 and 405 arrive there as HTTPException."""

    def __init__(
        self, resources: Callable[..., Awaitable[None]], routes: Sequence[BaseRoute], *,
        middleware: Sequence[Middleware], lifespan: Lifespan[Any],
    ) -> None:
        super().__init__(list(routes), lifespan=lifespan, middleware=middleware)
        self.resources = resources

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope["app"] = self  # so routing raises its 404/405 instead of answering plain text
        await self.middleware_stack(scope, receive, send)

    async def app(self, scope: Scope, receive: Receive, send: Send) -> None:
        info = scope.get(REQUEST_INFO)
        if info is not None and info.is_resource_request and info.api_prefix == "apis":
            await self.resources(scope, receive, send)
            return
        await super().app(scope, receive, send)


class _VersionEndpoints:
    """Resource requests when some group-versions serve their own paths
    (`APIGroup.serve_version`, custom metrics say): theirs to them, the rest to `resources`."""

    def __init__(self, groups: Sequence[APIGroup],
                 resources: Callable[..., Awaitable[None]]) -> None:
        self.resources = resources
        self.endpoints = {(g.name, v.name): v.endpoint for g in groups for v in g.versions
                          if v.endpoint is not None}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        info = scope[REQUEST_INFO]
        endpoint = self.endpoints.get((info.api_group, info.api_version))
        await (self.resources if endpoint is None else endpoint)(scope, receive, send)


def _resources(config: CompletedConfig) -> Callable[..., Awaitable[None]]:
    resources = ResourceEndpoint(config.groups, config.limits)
    if any(v.endpoint is not None for g in config.groups for v in g.versions):
        return _VersionEndpoints(config.groups, resources)
    return resources  # no dispatch on the hot path of servers without such versions


def routes(config: CompletedConfig) -> list[BaseRoute]:
    """Every path but resource requests, in order (those go to `ResourceEndpoint` first)."""
    return [
        *health_routes(config.health),
        *version_routes(),
        *metrics_routes(config.metrics.registry),
        *discovery_routes(config.groups),
        *openapi_routes(config.groups, title=config.title, version=config.version),
        Route("/{path:path}", _NotFound()),
    ]


def build_app(config: CompletedConfig, running: RunningServer | None = None) -> ServerApp:
    """The app serving `config`; its lifespan starts and stops `running` (by default a
    `RunningServer` of `config` without a listener, as tests and `testing.py` use it)."""
    server = running if running is not None else RunningServer(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        await server.start()
        try:
            yield
        finally:
            await server.stop()

    return ServerApp(
        _resources(config),
        routes(config),
        middleware=handler_chain(
            authenticator=config.authenticator,
            authorizer=config.authorizer,
            metrics=config.metrics,
            strip_headers=config.strip_headers,
        ),
        lifespan=lifespan,
    )


def dev_hints(config: CompletedConfig, port: int, example: str | None = None) -> str:
    """What to type next, printed when a dev-mode server is up."""
    assert config.dev_pki is not None
    kc = config.dev_pki.kubeconfig
    resources = [r.info for g in config.groups for r in g.preferred.resources.values()]
    resources.sort(key=lambda info: (not info.namespaced, info.plural))
    first = resources[0].plural if resources else "<resource>"
    return "\n".join([
        f"k8s-aggapi dev server on https://127.0.0.1:{port} (Ctrl-C to stop). Try:",
        f"  kubectl --kubeconfig {kc} api-resources",
        f"  kubectl --kubeconfig {kc} get {first} -A",
        f"  kubectl --kubeconfig {kc} create -f {example or '<file.yaml>'}",
        f"  kubectl --kubeconfig {kc} get {first} -o wide",
        "",
    ])


async def run(config: ServerConfig, *, example: str | None = None) -> None:
    completed = await config.complete()
    if completed.serving is None:
        raise ValueError("serving is not configured")
    running = RunningServer(completed)
    serving = completed.serving

    async def on_ready(server: Any) -> None:
        from k8s_aggapi.serving.loop import loop_name

        log.info("serving securely on %s:%s (event loop: %s)", serving.bind_address,
                 server.port, loop_name(asyncio.get_running_loop()))
        if completed.dev_pki is not None:
            sys.stderr.write(dev_hints(completed, server.port, example))

    await running.serve(build_app(completed, running), on_ready=on_ready,
                        log_level="debug" if config.verbosity >= 4 else "info")


def main(groups: Sequence[APIGroup], argv: Sequence[str] | None = None, *,
         title: str = "k8s-aggapi", prog: str | None = None, example: str | None = None,
         loop: str = "auto",
         storage_groups: Callable[[Storage], Sequence[APIGroup]] | None = None) -> None:
    """Parse upstream-style flags and serve `groups` until interrupted; `example` is a
    manifest path the dev-mode hints suggest creating; `loop` is "auto" (uvloop when
    installed), "uvloop" or "asyncio"; with `storage_groups` the server offers `--storage
    memory|etcd` and the etcd flags, and serves the groups it builds on that storage."""
    from k8s_aggapi.options import config_from_args
    from k8s_aggapi.serving.loop import run as run_on_loop

    config = config_from_args(groups, argv, title=title, prog=prog,
                              storage_groups=storage_groups)
    logging.basicConfig(
        level=logging.DEBUG if config.verbosity >= 4 else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if config.verbosity >= 3:
        logging.getLogger("k8s_aggapi.httplog").setLevel(logging.DEBUG)
    with contextlib.suppress(KeyboardInterrupt):
        run_on_loop(run(config, example=example), loop=loop)
