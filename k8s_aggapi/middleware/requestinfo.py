"""Parses each request once into a `RequestInfo` and leaves it in the scope for later layers.

The parse is a pure function of method, path and query, and `RequestInfo` is frozen, so the
results of recent requests are remembered (a bounded map; clients repeat their requests).
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from k8s_aggapi.context import REQUEST_INFO
from k8s_aggapi.endpoints.requestinfo import RequestInfo, parse_request_info

REMEMBERED_MAX = 4096
"""Distinct (method, path, query) parses kept; past that the memory starts over."""
REMEMBERED_KEY_BYTES = 1024
"""Only requests with a path and query this short are remembered, so the memory stays bounded
(REMEMBERED_MAX x 1 KiB) whatever request lines a client sends (up to the header limit)."""


class RequestInfoMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._parsed: dict[tuple[str, str, bytes], RequestInfo] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and REQUEST_INFO not in scope:
            query: bytes = scope.get("query_string", b"")
            key = (scope["method"], scope["path"], query)
            info = self._parsed.get(key)
            if info is None:
                info = parse_request_info(key[0], key[1], query.decode("latin-1"))
                if len(key[1]) + len(query) <= REMEMBERED_KEY_BYTES:
                    if len(self._parsed) >= REMEMBERED_MAX:
                        self._parsed = {}
                    self._parsed[key] = info
            scope[REQUEST_INFO] = info
        await self.app(scope, receive, send)
