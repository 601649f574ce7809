"""Request metrics: `apiserver_request_total`, `_duration_seconds`, in-flight and long-running.

Sits outside the request-info middleware, so it reads `REQUEST_INFO` after the inner app ran
(or parses the request itself). Labels follow upstream's `MonitorRequest` and `CleanScope`.
"""

from __future__ import annotations

from time import perf_counter
from urllib.parse import parse_qs

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from k8s_aggapi.context import REQUEST_INFO
from k8s_aggapi.endpoints.requestinfo import RequestInfo, parse_request_info
from k8s_aggapi.errors import StatusError
from k8s_aggapi.metrics import COMPONENT, RequestLabels, ServerMetrics
from k8s_aggapi.middleware.requestinfo import REMEMBERED_KEY_BYTES

APPLY_PATCH = b"application/apply-patch+yaml"
CONNECT_SUBRESOURCES = frozenset({"log", "exec", "portforward", "attach", "proxy"})
LABELS_REMEMBERED_MAX = 4096
VALID_VERBS = frozenset(
    {"APPLY", "CONNECT", "CREATE", "DELETE", "DELETECOLLECTION", "GET", "LIST", "PATCH", "POST",
     "PROXY", "PUT", "UPDATE", "WATCH", "WATCHLIST"}
)  # fmt: skip


class MetricsMiddleware:
    """Pure ASGI: passes every message through untouched, so watch streams keep streaming."""

    def __init__(self, app: ASGIApp, metrics: ServerMetrics) -> None:
        self.app = app
        self.metrics = metrics
        self._labels: dict[tuple[str, RequestInfo], RequestLabels] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = perf_counter()
        method: str = scope["method"]
        info: RequestInfo | None = None
        if method == "GET" and (b"watch" in scope["query_string"] or "/watch/" in scope["path"]):
            info = _request_info(scope)
        long_running = info is not None and info.is_resource_request and info.verb == "watch"
        status = 0

        async def send_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        kind = "readOnly" if method in ("GET", "HEAD") else "mutating"
        gauge = None
        if info is not None and long_running:
            gauge = self.metrics.longrunning_gauge(request_labels(scope, info))
            gauge.inc()
        else:
            self.metrics.inflight.enter(kind)
        try:
            await self.app(scope, receive, send_status)
        except StatusError as exc:  # the errors middleware outside answers with its code
            status = status or exc.code
            raise
        except BaseException:
            status = status or 500
            raise
        finally:
            if gauge is not None:
                gauge.dec()
            else:
                self.metrics.inflight.leave(kind)
            info = scope.get(REQUEST_INFO) or info or _request_info(scope)
            self.metrics.observe(self._request_labels(scope, info), status,
                                 perf_counter() - start)

    def _request_labels(self, scope: Scope, info: RequestInfo) -> RequestLabels:
        """`request_labels`, remembered for requests whose labels depend on method and
        request info alone (no dryRun or watch in the query, not a PATCH)."""
        method: str = scope["method"]
        query: bytes = scope["query_string"]
        if (method == "PATCH" or b"dryRun" in query or b"watch" in query
                or len(scope["path"]) > REMEMBERED_KEY_BYTES):
            return request_labels(scope, info)
        key = (method, info)
        labels = self._labels.get(key)
        if labels is None:
            if len(self._labels) >= LABELS_REMEMBERED_MAX:
                self._labels = {}
            labels = self._labels[key] = request_labels(scope, info)
        return labels


def request_labels(scope: Scope, info: RequestInfo) -> RequestLabels:
    """verb, dry_run, group, version, resource, subresource, scope, component."""
    where = clean_scope(info)
    query: bytes = scope["query_string"]
    verb = reported_verb(scope["method"], where, info, query, scope["headers"])
    dry_run = clean_dry_run(query)
    if not info.is_resource_request:
        return (verb, dry_run, "", "", "", "", where, COMPONENT)
    return (
        verb, dry_run, info.api_group, info.api_version, info.resource, info.subresource,
        where, COMPONENT,
    )  # fmt: skip


def clean_scope(info: RequestInfo) -> str:
    if info.name or info.verb == "create":
        return "resource"
    if info.namespace:
        return "namespace"
    return "cluster" if info.is_resource_request else ""


def reported_verb(
    method: str, where: str, info: RequestInfo, query: bytes, headers: list[tuple[bytes, bytes]]
) -> str:
    """Upstream's `cleanVerb(CanonicalVerb(method, scope), ...)`: GET/LIST/WATCH/APPLY/..."""
    method = method.upper()
    if info.is_resource_request and info.verb == "watch":
        return "WATCH"
    verb = method
    if method in ("GET", "HEAD"):
        verb = "LIST" if where not in ("resource", "") else "GET"
    if method == "GET" and b"watch" in query and _watch(query):
        verb = "WATCH"
    if method == "DELETE" and info.is_resource_request and info.verb == "deletecollection":
        verb = "DELETECOLLECTION"  # the installer instruments that route with its own verb
    if verb == "PATCH" and _header(headers, b"content-type") == APPLY_PATCH:
        verb = "APPLY"
    if info.is_resource_request and info.subresource in CONNECT_SUBRESOURCES:
        verb = "CONNECT"
    return verb if verb in VALID_VERBS else "other"


def clean_dry_run(query: bytes) -> str:
    if b"dryRun" not in query:
        return ""
    values = parse_qs(query.decode("latin-1"), keep_blank_values=True).get("dryRun", [])
    if any(v != "All" for v in values):
        return "invalid"
    return ",".join(sorted(set(values)))


def _watch(query: bytes) -> bool:
    values = parse_qs(query.decode("latin-1"), keep_blank_values=True).get("watch", [])
    return bool(values) and values[0].lower() not in ("0", "false")


def _header(headers: list[tuple[bytes, bytes]], name: bytes) -> bytes | None:
    for key, value in headers:
        if key == name:
            return value
    return None


def _request_info(scope: Scope) -> RequestInfo:
    query: bytes = scope["query_string"]
    return parse_request_info(scope["method"], scope["path"], query.decode("latin-1"))
