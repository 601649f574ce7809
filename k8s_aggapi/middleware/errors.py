"""The outermost middleware: any `StatusError` becomes a `metav1.Status` response.

An unavailable storage (etcd down) is a 500 InternalError with the storage's words; anything
else that escapes a handler is logged and answered with a 500 InternalError Status,
unless the response had already started (a watch stream), in which case the stream is ended.
"""

from __future__ import annotations

import logging

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from k8s_aggapi.endpoints.responses import send_json
from k8s_aggapi.errors import InternalError, StatusError
from k8s_aggapi.storage.interface import Unavailable

log = logging.getLogger("k8s_aggapi.errors")


class ErrorsMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except StatusError as exc:
            if started:
                raise
            await send_json(send, exc.code, exc.to_status())
        except Unavailable as exc:  # the storage is down: say so, as upstream's 500 does
            log.warning("storage unavailable serving %s %s: %s", scope.get("method"),
                        scope.get("path"), exc)
            if started:
                raise
            error = InternalError(str(exc))
            await send_json(send, error.code, error.to_status())
        except Exception as exc:
            log.exception("unhandled error serving %s %s", scope.get("method"), scope.get("path"))
            if started:
                raise
            error = InternalError(type(exc).__name__)
            await send_json(send, error.code, error.to_status())


