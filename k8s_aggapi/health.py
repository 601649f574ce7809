"""Health endpoints `/healthz`, `/livez`, `/readyz` and `/<endpoint>/<check>`, upstream's format.

Named async checks per endpoint, `?verbose`, repeatable `?exclude=`; failures are withheld on
the wire and logged (k8s.io/apiserver pkg/server/healthz).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from k8s_aggapi.errors import PathNotFound

logger = logging.getLogger(__name__)

HealthCheck = Callable[[], Awaitable[None]]
"""A check passes by returning and fails by raising; the exception text goes to the logs."""

ENDPOINTS = ("healthz", "livez", "readyz")
_HEADERS = {"Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff"}


async def _ok() -> None:
    return None


class HealthChecks:
    """Named checks for each endpoint, in the order they were added.

    `ping` and `log` are on every endpoint; `/readyz` ends with `shutdown`, which fails once
    `mark_shutting_down()` was called.
    """

    def __init__(self) -> None:
        self._checks: dict[str, dict[str, HealthCheck]] = {e: {} for e in ENDPOINTS}
        self.shutting_down = False
        self.add("ping", _ok)
        self.add("log", _ok)

    def add(self, name: str, check: HealthCheck) -> None:
        """Add a check to all three endpoints (upstream's `AddHealthChecks`)."""
        for endpoint in ENDPOINTS:
            self._add(endpoint, name, check)

    def add_healthz(self, name: str, check: HealthCheck) -> None:
        self._add("healthz", name, check)

    def add_livez(self, name: str, check: HealthCheck) -> None:
        self._add("livez", name, check)

    def add_readyz(self, name: str, check: HealthCheck) -> None:
        self._add("readyz", name, check)

    def mark_shutting_down(self, *_: object) -> None:
        """Make `/readyz` fail from now on (usable directly as `serve(on_shutdown=...)`)."""
        self.shutting_down = True

    def checks(self, endpoint: str) -> dict[str, HealthCheck]:
        checks = dict(self._checks[endpoint])
        if endpoint == "readyz":
            checks["shutdown"] = self._shutdown
        return checks

    async def _shutdown(self) -> None:
        if self.shutting_down:
            raise RuntimeError("process is shutting down")

    def _add(self, endpoint: str, name: str, check: HealthCheck) -> None:
        if name in self._checks[endpoint] or (endpoint == "readyz" and name == "shutdown"):
            raise ValueError(f"health check {name!r} is already registered on /{endpoint}")
        self._checks[endpoint][name] = check


def health_routes(checks: HealthChecks) -> list[BaseRoute]:
    """Routes for the three endpoints and their per-check subpaths."""
    routes: list[BaseRoute] = []
    for endpoint in ENDPOINTS:
        routes.append(Route(f"/{endpoint}", _root_handler(checks, endpoint)))
        routes.append(Route(f"/{endpoint}/{{check:path}}", _check_handler(checks, endpoint)))
    return routes


async def _run(check: HealthCheck) -> BaseException | None:
    try:
        await check()
    except Exception as exc:
        return exc
    return None


def _root_handler(checks: HealthChecks, endpoint: str) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        excluded = set(request.query_params.getlist("exclude"))
        named = checks.checks(endpoint)
        running = {n: c for n, c in named.items() if n not in excluded}
        outcomes = await asyncio.gather(*map(_run, running.values()))
        results = dict(zip(running, outcomes, strict=True))
        lines, failed = [], []
        for name in named:
            if name in excluded:
                excluded.discard(name)
                lines.append(f"[+]{name} excluded: ok\n")
            elif (err := results[name]) is not None:
                lines.append(f"[-]{name} failed: reason withheld\n")
                failed.append(f"[-]{name} failed: {err}")
            else:
                lines.append(f"[+]{name} ok\n")
        if excluded:
            quoted = ",".join(json.dumps(n) for n in sorted(excluded))  # Go's %q
            lines.append(f"warn: some health checks cannot be excluded: no matches for {quoted}\n")
        if failed:
            logger.info("%s check failed:\n%s", endpoint, "\n".join(failed))
            body = "".join(lines) + f"{endpoint} check failed\n"
            return Response(body, 500, headers=_HEADERS)
        if "verbose" not in request.query_params:
            return Response("ok", headers=_HEADERS)
        return Response("".join(lines) + f"{endpoint} check passed\n", headers=_HEADERS)

    return handle


def _check_handler(checks: HealthChecks, endpoint: str) -> Callable[[Request], Awaitable[Response]]:
    async def handle(request: Request) -> Response:
        check = checks.checks(endpoint).get(request.path_params["check"])
        if check is None:
            raise PathNotFound()
        if (err := await _run(check)) is not None:
            return Response(f"internal server error: {err}\n", 500, headers=_HEADERS)
        return Response("ok", headers=_HEADERS)

    return handle
