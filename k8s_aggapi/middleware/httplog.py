"""Request logging after authentication (upstream's httplog): verb, path, user, status.

Logged at DEBUG on `k8s_aggapi.httplog`; `--v=3` or higher turns it on.
"""

from __future__ import annotations

import logging
import time

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from k8s_aggapi.context import USER
from k8s_aggapi.errors import StatusError

log = logging.getLogger("k8s_aggapi.httplog")


class HTTPLogMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not log.isEnabledFor(logging.DEBUG):
            await self.app(scope, receive, send)
            return
        start, status = time.perf_counter(), 0

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        except StatusError as exc:  # written as a Status further out, by ErrorsMiddleware
            status = status or exc.code
            raise
        finally:
            user = scope.get(USER)
            query = scope.get("query_string", b"").decode("latin-1")
            log.debug(
                'verb="%s" URI="%s%s" user="%s" groups=%s status=%s latency=%.1fms',
                scope["method"], scope["path"], f"?{query}" if query else "",
                getattr(user, "name", ""), list(getattr(user, "groups", ())), status or 500,
                (time.perf_counter() - start) * 1000,
            )
