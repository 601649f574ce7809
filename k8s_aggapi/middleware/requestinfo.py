"""The outermost filter: resolves each request's `RequestInfo` once and leaves it in the scope,
so every later filter (metrics, authentication, authorization, the handlers) reads the same
parse (Go's WithRequestInfo). Names in field selectors follow the endpoints' decoding rule.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from k8s_aggapi.endpoints.options import selected_object
from k8s_aggapi.request.context import REQUEST_INFO
from k8s_aggapi.request.info import RequestInfoResolver


class RequestInfoMiddleware:
    def __init__(self, app: ASGIApp, resolver: RequestInfoResolver | None = None) -> None:
        self.app = app
        self.resolve = resolver or RequestInfoResolver(selected_object)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and REQUEST_INFO not in scope:
            scope[REQUEST_INFO] = self.resolve(
                scope["method"], scope["path"], scope.get("query_string", b""))
        await self.app(scope, receive, send)
