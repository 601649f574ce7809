"""Building the ASGI app from a `CompletedConfig`, and running it over TLS.

`build_app` is the one place where routes and the handler chain are put together; `main`
is what a server's `__main__` calls: flags -> config -> complete -> serve.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
import sys
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import Scope

from k8s_aggapi import errors
from k8s_aggapi.api import APIGroup
from k8s_aggapi.config import CompletedConfig, ServerConfig
from k8s_aggapi.discovery import discovery_routes
from k8s_aggapi.endpoints.handlers import ResourceEndpoint
from k8s_aggapi.health import health_routes
from k8s_aggapi.metrics import metrics_routes
from k8s_aggapi.middleware import handler_chain
from k8s_aggapi.openapi import openapi_routes
from k8s_aggapi.version import version_routes

log = logging.getLogger("k8s_aggapi.server")


class _NotFound:
    """The last route: anything unmatched is a 404 Status (an ASGI app, not a handler)."""

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        raise errors.PathNotFound()


async def _http_exception(request: Request, exc: Exception) -> Response:
    """Routing's own 404/405 (and any HTTPException) as a Status."""
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        error: errors.StatusError = errors.MethodNotAllowed()
    elif exc.status_code == 404:
        error = errors.PathNotFound()
    else:
        reason = http.HTTPStatus(exc.status_code).phrase.replace(" ", "")
        error = errors.StatusError(str(exc.detail), exc.status_code, reason)
    return Response(orjson.dumps(error.to_status()), error.code, media_type="application/json")


class ResourceRoute(Route):
    """`/apis/{group}/{version}/{rest}` with a non-empty rest: no other route serves such a
    path (discovery ends at `/apis/{group}/{version}/`), so it is tried first and a resource
    request does not pay for matching every health, metrics, discovery and OpenAPI route."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if match is not Match.NONE and not child["path_params"]["rest"]:
            return Match.NONE, {}
        return match, child


def _version_endpoint_routes(groups: Sequence[APIGroup]) -> list[BaseRoute]:
    """The group-versions that serve their own paths (`APIGroup.serve_version`)."""
    return [ResourceRoute(f"/apis/{g.name}/{v.name}/{{rest:path}}", v.endpoint)
            for g in groups for v in g.versions if v.endpoint is not None]


def routes(config: CompletedConfig) -> list[BaseRoute]:
    return [
        *_version_endpoint_routes(config.groups),
        ResourceRoute("/apis/{group}/{version}/{rest:path}",
                      ResourceEndpoint(config.groups, config.limits)),
        *health_routes(config.health),
        *version_routes(),
        *metrics_routes(config.metrics.registry),
        *discovery_routes(config.groups),
        *openapi_routes(config.groups, title=config.title, version=config.version),
        Route("/{path:path}", _NotFound()),
    ]


def build_app(config: CompletedConfig) -> Starlette:
    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await config.start()
        try:
            yield
        finally:
            await config.stop()

    return Starlette(
        routes=routes(config),
        middleware=handler_chain(
            authenticator=config.authenticator,
            authorizer=config.authorizer,
            metrics=config.metrics,
            strip_headers=config.strip_headers,
        ),
        exception_handlers={HTTPException: _http_exception},
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
    app = build_app(completed)

    serving = completed.serving

    async def on_ready(server: Any) -> None:
        from k8s_aggapi.serving.loop import loop_name

        log.info("serving securely on %s:%s (event loop: %s)", serving.bind_address,
                 server.port, loop_name(asyncio.get_running_loop()))
        if completed.dev_pki is not None:
            sys.stderr.write(dev_hints(completed, server.port, example))

    from k8s_aggapi.serving.runner import serve

    await serve(app, serving, on_ready=on_ready,
                on_shutdown=completed.health.mark_shutting_down,
                log_level="debug" if config.verbosity >= 4 else "info",
                limits=completed.limits)


def main(groups: Sequence[APIGroup], argv: Sequence[str] | None = None, *,
         title: str = "k8s-aggapi", prog: str | None = None, example: str | None = None,
         loop: str = "auto") -> None:
    """Parse upstream-style flags and serve `groups` until interrupted; `example` is a
    manifest path the dev-mode hints suggest creating; `loop` is "auto" (uvloop when
    installed), "uvloop" or "asyncio"."""
    from k8s_aggapi.options import config_from_args
    from k8s_aggapi.serving.loop import run as run_on_loop

    config = config_from_args(groups, argv, title=title, prog=prog)
    logging.basicConfig(
        level=logging.DEBUG if config.verbosity >= 4 else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if config.verbosity >= 3:
        logging.getLogger("k8s_aggapi.httplog").setLevel(logging.DEBUG)
    with contextlib.suppress(KeyboardInterrupt):
        run_on_loop(run(config, example=example), loop=loop)
