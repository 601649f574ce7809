"""The one wrapper around each response, inside request info: it sees the status as the
response starts, answers a failure as a `metav1.Status` (errors.py), then records the request
in the metrics (metrics.py) and the HTTP log (httplog.py).

One `send` wrapper and one try for all three: each used to wrap the response on its own.
Pure ASGI, every message passed through untouched, so watch streams keep streaming.
"""

from __future__ import annotations

from time import perf_counter

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from k8s_aggapi.metrics import ServerMetrics
from k8s_aggapi.middleware import httplog
from k8s_aggapi.middleware.errors import status_error
from k8s_aggapi.middleware.metrics import RequestMetrics
from k8s_aggapi.request.context import RAW_SEND, REQUEST_INFO
from k8s_aggapi.request.info import RequestInfo, parse_request_info
from k8s_aggapi.request.wire import send_json


class ResponseMiddleware:
    """`metrics` None: errors and the log only (tests that build a small app)."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics | None = None) -> None:
        self.app = app
        self.metrics = RequestMetrics(metrics) if metrics is not None else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = perf_counter()
        status = 0

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        metrics = self.metrics
        info: RequestInfo | None = None
        tracking = None
        if metrics is not None:
            info = scope.get(REQUEST_INFO) or _request_info(scope)
            tracking = metrics.begin(scope, info)
        scope[RAW_SEND] = send  # for a watch's body messages (request/context.py)
        try:
            await self.app(scope, receive, send_status)
        except Exception as exc:
            if status:  # the response started (a watch): end the stream, as uvicorn does
                raise
            error = status_error(exc, scope)
            status = error.code
            await send_json(send, error.code, error.to_status())
        except BaseException:  # cancelled: the client went away
            status = status or 500
            raise
        finally:
            seconds = perf_counter() - start
            if metrics is not None and info is not None and tracking is not None:
                metrics.end(tracking, scope, info, status, seconds)
            if httplog.enabled():
                httplog.log_request(scope, status, seconds)


def _request_info(scope: Scope) -> RequestInfo:
    """Only when this middleware runs without request info outside it (a small test app)."""
    query: bytes = scope.get("query_string", b"")
    return parse_request_info(scope["method"], scope["path"], query.decode("latin-1"))
