"""Request metrics: `apiserver_request_total`, `_duration_seconds`, in-flight and long-running.

`RequestMetrics` is what `ResponseMiddleware` calls around each request, inside request info:
it reads the one `RequestInfo` resolved outermost. Labels follow upstream's `MonitorRequest`
and `CleanScope`.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from prometheus_client import Gauge
from starlette.types import Scope

from k8s_aggapi.metrics import COMPONENT, RequestLabels, ServerMetrics
from k8s_aggapi.request.info import REMEMBERED_KEY_BYTES, RequestInfo

APPLY_PATCH = b"application/apply-patch+yaml"
CONNECT_SUBRESOURCES = frozenset({"log", "exec", "portforward", "attach", "proxy"})
LABELS_REMEMBERED_MAX = 4096
VALID_VERBS = frozenset(
    {"APPLY", "CONNECT", "CREATE", "DELETE", "DELETECOLLECTION", "GET", "LIST", "PATCH", "POST",
     "PROXY", "PUT", "UPDATE", "WATCH", "WATCHLIST"}
)  # fmt: skip

Tracking = Gauge | str
"""What `begin` counted the request in: its long-running gauge, or its in-flight kind."""


class RequestMetrics:
    """The metrics of one server as the middleware records them: `begin` before the request,
    `end` with its status and duration."""

    def __init__(self, metrics: ServerMetrics) -> None:
        self.metrics = metrics
        # request labels by the identity of a remembered RequestInfo (the info is kept in the
        # value, so its id cannot be reused while the entry exists)
        self._labels: dict[tuple[str, int], tuple[RequestInfo, RequestLabels]] = {}

    def begin(self, scope: Scope, info: RequestInfo) -> Tracking:
        if info.is_resource_request and info.verb == "watch":
            gauge = self.metrics.longrunning_gauge(request_labels(scope, info))
            gauge.inc()
            return gauge
        kind = "readOnly" if scope["method"] in ("GET", "HEAD") else "mutating"
        self.metrics.inflight.enter(kind)
        return kind

    def end(
        self, tracking: Tracking, scope: Scope, info: RequestInfo, status: int, seconds: float
    ) -> None:
        if isinstance(tracking, str):
            self.metrics.inflight.leave(tracking)
        else:
            tracking.dec()
        self.metrics.observe(self.labels(scope, info), status, seconds)

    def labels(self, scope: Scope, info: RequestInfo) -> RequestLabels:
        """`request_labels`, remembered for requests whose labels depend on method and
        request info alone (no dryRun or watch in the query, not a PATCH)."""
        method: str = scope["method"]
        query: bytes = scope["query_string"]
        if (method == "PATCH" or b"dryRun" in query or b"watch" in query
                or len(scope["path"]) > REMEMBERED_KEY_BYTES):
            return request_labels(scope, info)
        key = (method, id(info))
        found = self._labels.get(key)
        if found is not None and found[0] is info:
            return found[1]
        if len(self._labels) >= LABELS_REMEMBERED_MAX:
            self._labels = {}
        labels = request_labels(scope, info)
        self._labels[key] = (info, labels)
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
