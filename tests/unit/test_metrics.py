from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.testclient import TestClient
from starlette.types import Receive, Scope, Send

from k8s_aggapi.errors import StatusError
from k8s_aggapi.metrics import DURATION_BUCKETS, ServerMetrics, metrics_routes
from k8s_aggapi.middleware.metrics import clean_dry_run
from k8s_aggapi.middleware.requestinfo import RequestInfoMiddleware
from k8s_aggapi.middleware.response import ResponseMiddleware
from k8s_aggapi.request.context import REQUEST_INFO
from k8s_aggapi.request.info import parse_request_info

NS = "/apis/wardle.example.com/v1alpha1/namespaces/default"
GROUP = {"group": "wardle.example.com", "version": "v1alpha1"}
NAMED = {"resource": "flunders", "scope": "resource", **GROUP}
COLLECTION = {"resource": "flunders", "scope": "namespace", **GROUP}
METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


def _labels(verb: str, **extra: str) -> dict[str, str]:
    labels = {
        "verb": verb, "dry_run": "", "group": "", "version": "", "resource": "",
        "subresource": "", "scope": "", "component": "apiserver",
    }  # fmt: skip
    labels.update(extra)
    return labels


def _build(metrics: ServerMetrics) -> TestClient:
    async def resource(request: Request) -> Response:
        if request.query_params.get("watch"):
            return StreamingResponse(_watch(metrics))
        if request.path_params["rest"].endswith("boom"):
            raise RuntimeError("boom")
        if request.path_params["rest"].endswith("missing"):
            raise StatusError("not found", 404, "NotFound")
        return PlainTextResponse("{}", status_code=int(request.query_params.get("code", "200")))

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    app = Starlette(
        routes=[
            Route("/apis/{rest:path}", resource, methods=METHODS),
            Route("/healthz", healthz, methods=METHODS),
            *metrics_routes(metrics.registry),
        ],
        middleware=[Middleware(RequestInfoMiddleware),
                    Middleware(ResponseMiddleware, metrics=metrics)],
    )
    return TestClient(app, raise_server_exceptions=False)


async def _watch(metrics: ServerMetrics) -> AsyncIterator[bytes]:
    labels = _labels("WATCH", **COLLECTION)
    del labels["dry_run"]
    for _ in range(2):
        value = metrics.registry.get_sample_value("apiserver_longrunning_requests", labels)
        yield f"{value}\n".encode()


@pytest.fixture
def metrics() -> ServerMetrics:
    return ServerMetrics()


@pytest.mark.parametrize(
    ("method", "path", "headers", "labels"),
    [
        ("GET", f"{NS}/flunders", {}, _labels("LIST", **COLLECTION)),
        ("GET", f"{NS}/flunders/x", {}, _labels("GET", **NAMED)),
        ("HEAD", f"{NS}/flunders/x", {}, _labels("GET", **NAMED)),
        ("GET", "/apis/wardle.example.com/v1alpha1/fischers", {},
         _labels("LIST", resource="fischers", scope="cluster", **GROUP)),
        ("GET", f"{NS}/flunders?fieldSelector=metadata.name%3Dx", {},
         _labels("GET", **NAMED)),
        ("POST", f"{NS}/flunders", {}, _labels("POST", **NAMED)),
        ("PUT", f"{NS}/flunders/x/status", {},
         _labels("PUT", resource="flunders", subresource="status", scope="resource", **GROUP)),
        ("PATCH", f"{NS}/flunders/x", {"content-type": "application/merge-patch+json"},
         _labels("PATCH", **NAMED)),
        ("PATCH", f"{NS}/flunders/x", {"content-type": "application/apply-patch+yaml"},
         _labels("APPLY", **NAMED)),
        # upstream reports the HTTP method: a collection DELETE is DELETE at namespace scope
        ("DELETE", f"{NS}/flunders", {}, _labels("DELETECOLLECTION", **COLLECTION)),
        ("GET", f"{NS}/pods/x/exec", {},
         _labels("CONNECT", resource="pods", subresource="exec", scope="resource", **GROUP)),
        ("OPTIONS", f"{NS}/flunders", {}, _labels("other", **COLLECTION)),
        ("POST", f"{NS}/flunders?dryRun=All&dryRun=All", {},
         _labels("POST", dry_run="All", **NAMED)),
        ("GET", "/apis/wardle.example.com/v1alpha1", {}, _labels("GET")),
        ("GET", "/healthz", {}, _labels("GET")),
        ("POST", "/healthz", {}, _labels("POST")),
    ],
)  # fmt: skip
def test_request_labels(
    metrics: ServerMetrics, method: str, path: str, headers: dict[str, str], labels: dict[str, str]
) -> None:
    response = _build(metrics).request(method, path, headers=headers)
    assert response.status_code == 200
    assert (
        metrics.registry.get_sample_value("apiserver_request_total", {**labels, "code": "200"}) == 1
    )
    assert (
        metrics.registry.get_sample_value("apiserver_request_duration_seconds_count", labels) == 1
    )


def test_remembered_labels_keep_dry_run_and_apply_apart(metrics: ServerMetrics) -> None:
    client = _build(metrics)
    for _ in range(2):
        client.post(f"{NS}/flunders")
        client.post(f"{NS}/flunders?dryRun=All")
        client.patch(f"{NS}/flunders/x", headers={"content-type": "application/apply-patch+yaml"})
        client.patch(f"{NS}/flunders/x", headers={"content-type": "application/merge-patch+json"})
    value = metrics.registry.get_sample_value
    for labels in (_labels("POST", **NAMED), _labels("POST", dry_run="All", **NAMED),
                   _labels("APPLY", **NAMED), _labels("PATCH", **NAMED)):
        assert value("apiserver_request_total", {**labels, "code": "200"}) == 2


def test_labels_of_long_paths_are_not_remembered(metrics: ServerMetrics) -> None:
    """The label memory is keyed by the request info, which holds the path: long ones are
    computed each time, so distinct long paths cannot fill the memory."""
    from k8s_aggapi.request.info import REMEMBERED_KEY_BYTES

    client = _build(metrics)
    client.get(f"{NS}/flunders/{'x' * (REMEMBERED_KEY_BYTES + 1)}")
    client.get(f"{NS}/flunders/short")
    middleware = client.app.middleware_stack  # type: ignore[attr-defined]
    while not isinstance(middleware, ResponseMiddleware):
        middleware = middleware.app
    assert middleware.metrics is not None
    assert [info.name for info, _ in middleware.metrics._labels.values()] == ["short"]
    assert metrics.registry.get_sample_value(
        "apiserver_request_total", {**_labels("GET", **NAMED), "code": "200"}) == 2


def test_codes_errors_and_durations(metrics: ServerMetrics) -> None:
    client = _build(metrics)
    client.get(f"{NS}/flunders/x?code=404")
    client.get(f"{NS}/flunders/x?code=404")
    assert client.get(f"{NS}/flunders/boom").status_code == 500
    client.get(f"{NS}/flunders/missing")  # a StatusError: the errors middleware answers 404
    get = _labels("GET", **NAMED)
    value = metrics.registry.get_sample_value
    assert value("apiserver_request_total", {**get, "code": "404"}) == 3
    assert value("apiserver_request_total", {**get, "code": "500"}) == 1
    assert value("apiserver_request_duration_seconds_count", get) == 4
    assert value("apiserver_request_duration_seconds_bucket", {**get, "le": "60.0"}) == 4


def test_watch_is_long_running(metrics: ServerMetrics) -> None:
    client = _build(metrics)
    for path in (
        f"{NS}/flunders?watch=true",
        "/apis/wardle.example.com/v1alpha1/watch/namespaces/default/flunders",
    ):
        if "watch=" not in path:
            path += "?watch=1"  # the handler streams only when asked; the label comes from the path
        body = client.get(path).text
        assert body == "1.0\n1.0\n"  # the gauge was up while the stream ran
    watch = _labels("WATCH", **COLLECTION)
    gauge = {k: v for k, v in watch.items() if k != "dry_run"}
    value = metrics.registry.get_sample_value
    assert value("apiserver_longrunning_requests", gauge) == 0
    assert value("apiserver_request_total", {**watch, "code": "200"}) == 2
    assert value("apiserver_request_duration_seconds_count", watch) == 2
    assert value("apiserver_current_inflight_requests", {"request_kind": "readOnly"}) == 0


def test_the_request_info_resolved_outside_is_what_metrics_read(metrics: ServerMetrics) -> None:
    inner = ResponseMiddleware(PlainTextResponse("ok"), metrics)

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        scope[REQUEST_INFO] = parse_request_info("GET", "/api/v1/namespaces/kube-system/pods")
        await inner(scope, receive, send)

    TestClient(app).get("/whatever")
    labels = _labels("LIST", version="v1", resource="pods", scope="namespace")
    assert (
        metrics.registry.get_sample_value("apiserver_request_duration_seconds_count", labels) == 1
    )


async def test_inflight_peak_and_kinds(metrics: ServerMetrics) -> None:
    inflight = metrics.inflight
    inflight.enter("mutating")
    inflight.enter("mutating")
    inflight.leave("mutating")
    inflight.enter("readOnly")
    value = metrics.registry.get_sample_value
    assert value("apiserver_current_inflight_requests", {"request_kind": "mutating"}) == 2
    assert value("apiserver_current_inflight_requests", {"request_kind": "mutating"}) == 1
    assert value("apiserver_current_inflight_requests", {"request_kind": "readOnly"}) == 1


def test_label_sets_are_bounded() -> None:
    metrics = ServerMetrics(max_series=2)
    client = _build(metrics)
    for resource in ("a", "b", "c", "d"):
        client.get(f"{NS}/{resource}")
    other = _labels("LIST", scope="namespace", group="other", version="other", resource="other",
                    subresource="other")  # fmt: skip
    assert metrics.registry.get_sample_value("apiserver_request_duration_seconds_count", other) == 2


def test_metrics_route(metrics: ServerMetrics) -> None:
    client = _build(metrics)
    client.get(f"{NS}/flunders")
    response = client.get("/metrics")
    assert response.headers["content-type"].startswith("text/plain; version=")
    text = response.text
    assert "# TYPE apiserver_request_total counter" in text
    assert (
        'apiserver_request_total{code="200",component="apiserver",dry_run="",group="wardle.example.com"'
        in text
    )
    assert "apiserver_current_inflight_requests" in text
    assert text.count("apiserver_request_duration_seconds_bucket{") == len(DURATION_BUCKETS) + 1
    openmetrics = client.get("/metrics", headers={"accept": "application/openmetrics-text"})
    assert openmetrics.headers["content-type"].startswith("application/openmetrics-text")


@pytest.mark.parametrize(
    ("query", "expected"),
    [(b"", ""), (b"dryRun=All", "All"), (b"dryRun=All&dryRun=All", "All"), (b"dryRun=", "invalid"),
     (b"dryRun=all", "invalid"), (b"x=dryRun", "")],
)  # fmt: skip
def test_dry_run_label(query: bytes, expected: str) -> None:
    assert clean_dry_run(query) == expected


def test_registry_is_per_server() -> None:
    assert ServerMetrics().registry is not ServerMetrics().registry


def test_in_the_real_chain(metrics: ServerMetrics) -> None:
    async def missing(request: Request) -> Response:
        raise StatusError('flunders "x" not found', 404, "NotFound")

    app = Starlette(
        routes=[Route("/apis/{rest:path}", missing)],
        middleware=[
            Middleware(RequestInfoMiddleware),
            Middleware(ResponseMiddleware, metrics=metrics),
        ],
    )
    assert TestClient(app).get(f"{NS}/flunders/x").status_code == 404
    labels = {**_labels("GET", **NAMED), "code": "404"}
    assert metrics.registry.get_sample_value("apiserver_request_total", labels) == 1


def test_the_process_use_signals_are_in_the_servers_registry(metrics: ServerMetrics) -> None:
    text = _build(metrics).get("/metrics").text
    for family in ("process_cpu_seconds_total", "process_resident_memory_bytes",
                   "process_open_fds", "process_max_fds", "python_gc_collections_total",
                   "python_info"):
        assert f"# TYPE {family} " in text, family
    assert metrics.registry.get_sample_value("process_open_fds")
    bare = ServerMetrics(process=False)
    assert bare.registry.get_sample_value("process_open_fds") is None


def test_request_metrics_are_exposed_as_prometheus_clients_counter_and_histogram() -> None:
    """The collector counts in plain numbers; a scrape reads what Counter and Histogram with
    the same observations would show, in both text formats (`_created` times aside)."""
    import re

    from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
    from prometheus_client.openmetrics.exposition import generate_latest as openmetrics

    from k8s_aggapi.metrics import REQUEST_LABELS, RequestCollector

    get = ("GET", "", "g", "v1", "r", "", "resource", "apiserver")
    observed = [(get, 200, 0.001), (get, 404, 0.03), (get, 200, 0.005), (get, 200, 100.0),
                (("LIST", "", "g", "v1", "r", "", "namespace", "apiserver"), 200, 0.2)]
    ours = ServerMetrics()
    reference = CollectorRegistry()
    counter = Counter("apiserver_request_total", RequestCollector.REQUESTS_HELP,
                      [*REQUEST_LABELS, "code"], registry=reference)
    histogram = Histogram("apiserver_request_duration_seconds", RequestCollector.DURATIONS_HELP,
                          REQUEST_LABELS, buckets=DURATION_BUCKETS, registry=reference)
    for labels, code, seconds in observed:
        ours.observe(labels, code, seconds)
        counter.labels(*labels, str(code)).inc()
        histogram.labels(*labels).observe(seconds)

    def scraped(registry: CollectorRegistry, encode: Any) -> str:
        text: str = encode(registry).decode()
        text = re.sub(r"(_created(\{[^}]*\})?) \S+", r"\1 T", text)
        return "\n".join(line for line in text.splitlines()
                         if "apiserver_request_total" in line or "_duration_" in line
                         or "apiserver_request_created" in line)

    for encode in (generate_latest, openmetrics):
        assert scraped(ours.registry, encode) == scraped(reference, encode)
        assert "apiserver_request_duration_seconds_bucket" in scraped(ours.registry, encode)
