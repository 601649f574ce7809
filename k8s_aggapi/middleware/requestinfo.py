"""Parses each request once into a `RequestInfo` and leaves it in the scope for later layers."""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from k8s_aggapi.context import REQUEST_INFO
from k8s_aggapi.endpoints.requestinfo import parse_request_info


class RequestInfoMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and REQUEST_INFO not in scope:
            query = scope.get("query_string", b"").decode("latin-1")
            scope[REQUEST_INFO] = parse_request_info(scope["method"], scope["path"], query)
        await self.app(scope, receive, send)
