"""The server's Prometheus registry, upstream's request metrics in it, and the `/metrics` route.

One `CollectorRegistry` per server (never the global one); `ResponseMiddleware` fills it
(through middleware/metrics.py). The process's own USE signals (CPU seconds, resident memory,
open and maximum fds, GC collections, the Python version) are in it too, under the names
prometheus_client's process, platform and GC collectors give them (as Go's process collector).
Names, labels and buckets follow k8s.io/apiserver pkg/endpoints/metrics.
"""

from __future__ import annotations

import asyncio
import time
from bisect import bisect_left
from collections.abc import Iterator, Sequence

from prometheus_client import (
    CollectorRegistry,
    Gauge,
    GCCollector,
    PlatformCollector,
    ProcessCollector,
)
from prometheus_client import metrics as prometheus_metrics
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import choose_encoder
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample
from prometheus_client.utils import floatToGoString
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

COMPONENT = "apiserver"
DURATION_BUCKETS = (
    0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1.0, 1.25, 1.5, 2.0, 3.0,
    4.0, 5.0, 6.0, 8.0, 10.0, 15.0, 20.0, 30.0, 45.0, 60.0,
)  # fmt: skip
REQUEST_LABELS = (
    "verb", "dry_run", "group", "version", "resource", "subresource", "scope", "component",
)  # fmt: skip
LONGRUNNING_LABELS = tuple(label for label in REQUEST_LABELS if label != "dry_run")
OVERFLOW = "other"
"""Replaces group, version, resource and subresource once `max_series` label sets exist."""

RequestLabels = tuple[str, str, str, str, str, str, str, str]


class InflightRequests(Collector):
    """`apiserver_current_inflight_requests{request_kind}`: the peak since the previous scrape.

    Upstream reports the peak of the last second; long-running requests are not counted.
    """

    KINDS = ("mutating", "readOnly")

    def __init__(self) -> None:
        self.current = dict.fromkeys(self.KINDS, 0)
        self.peak = dict.fromkeys(self.KINDS, 0)

    def enter(self, kind: str) -> None:
        now = self.current[kind] = self.current[kind] + 1
        if now > self.peak[kind]:
            self.peak[kind] = now

    def leave(self, kind: str) -> None:
        self.current[kind] -= 1

    def describe(self) -> Iterator[Metric]:
        yield self._family()

    def collect(self) -> Iterator[Metric]:
        family = self._family()
        for kind in self.KINDS:
            family.add_metric([kind], self.peak[kind])
        self.peak = dict(self.current)
        yield family

    @staticmethod
    def _family() -> GaugeMetricFamily:
        return GaugeMetricFamily(
            "apiserver_current_inflight_requests",
            "Maximal number of currently used inflight request limit of this apiserver per "
            "request kind in last second.",
            labels=["request_kind"],
        )


class RequestSeries:
    """One label set of the request metrics: requests by response code (with the time each
    code was first seen), and the durations as a histogram."""

    __slots__ = ("buckets", "codes", "created", "labels", "sum")

    def __init__(self, labels: RequestLabels) -> None:
        self.labels = labels
        self.codes: dict[str, list[float]] = {}  # code -> [count, created]
        self.buckets = [0] * (len(DURATION_BUCKETS) + 1)  # per bucket, the last one +Inf
        self.sum = 0.0
        self.created = time.time()

    def observe(self, code: int, seconds: float) -> None:
        counted = self.codes.get(str(code))
        if counted is None:
            counted = self.codes[str(code)] = [0, time.time()]
        counted[0] += 1
        self.buckets[bisect_left(DURATION_BUCKETS, seconds)] += 1  # le: the first bound >=
        self.sum += seconds


def bounds(buckets: Sequence[float]) -> tuple[str, ...]:
    """A histogram's `le` labels for its upper bounds, +Inf last, as prometheus_client writes
    them."""
    return tuple(floatToGoString(b)  # type: ignore[no-untyped-call]
                 for b in (*buckets, float("inf")))


def cumulative(bounds: Sequence[str], counts: Sequence[int]) -> list[tuple[str, float]]:
    """A histogram's (le, count) pairs from the count in each bucket alone (the last +Inf)."""
    acc, buckets = 0, []
    for bound, count in zip(bounds, counts, strict=True):
        acc += count
        buckets.append((bound, float(acc)))
    return buckets


class RequestCollector(Collector):
    """`apiserver_request_total` and `apiserver_request_duration_seconds`, as prometheus_client's
    Counter and Histogram expose them (`_created` samples included unless disabled), counted in
    plain numbers: no lock and no child lookup per request. Written on the event loop; a
    scrape (in a thread) copies each dict and list whole, which the GIL makes atomic."""

    REQUESTS_HELP = (
        "Counter of apiserver requests broken out for each verb, dry run value, group, "
        "version, resource, scope, component, and HTTP response code.")
    DURATIONS_HELP = (
        "Response latency distribution in seconds for each verb, dry run value, group, "
        "version, resource, subresource, scope and component.")
    BOUNDS = bounds(DURATION_BUCKETS)

    def __init__(self) -> None:
        self.series: dict[RequestLabels, RequestSeries] = {}

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        requests, durations = self._families()
        created = prometheus_metrics._use_created
        for series in list(self.series.values()):
            labels = list(series.labels)
            for code, (count, first) in list(series.codes.items()):
                requests.add_metric([*labels, code], count, created=first if created else None)
            counts, total = list(series.buckets), series.sum
            durations.add_metric(labels, cumulative(self.BOUNDS, counts), total)
            if created:  # what Histogram adds, and HistogramMetricFamily cannot
                durations.samples.append(Sample(
                    "apiserver_request_duration_seconds_created",
                    dict(zip(REQUEST_LABELS, labels, strict=True)), series.created))
        yield requests
        yield durations

    def _families(self) -> tuple[CounterMetricFamily, HistogramMetricFamily]:
        return (
            CounterMetricFamily("apiserver_request", self.REQUESTS_HELP,
                                labels=[*REQUEST_LABELS, "code"]),
            HistogramMetricFamily("apiserver_request_duration_seconds", self.DURATIONS_HELP,
                                  labels=list(REQUEST_LABELS)),
        )


class ServerMetrics:
    """The request metrics of one server, with child lookups cached for the hot path."""

    def __init__(self, registry: CollectorRegistry | None = None, *, max_series: int = 5000,
                 process: bool = True):
        """`process=False` leaves out the process, platform and GC collectors (a registry that
        already has them, or one that should hold only the request metrics)."""
        self.registry = registry if registry is not None else CollectorRegistry()
        if process:
            ProcessCollector(registry=self.registry)
            PlatformCollector(registry=self.registry)
            GCCollector(registry=self.registry)
        self.max_series = max_series
        self.requests = RequestCollector()
        self.registry.register(self.requests)
        self.longrunning = Gauge(
            "apiserver_longrunning_requests",
            "Gauge of all active long-running apiserver requests broken out by verb, group, "
            "version, resource, scope and component. Not all requests are tracked this way.",
            LONGRUNNING_LABELS,
            registry=self.registry,
        )
        self.inflight = InflightRequests()
        self.registry.register(self.inflight)

    def observe(self, labels: RequestLabels, code: int, seconds: float) -> None:
        """Count one finished request and record its duration."""
        series = self.requests.series.get(labels)
        if series is None:
            labels = self._bounded(labels)
            series = self.requests.series.get(labels)
            if series is None:
                series = self.requests.series[labels] = RequestSeries(labels)
        series.observe(code, seconds)

    def longrunning_gauge(self, labels: RequestLabels) -> Gauge:
        verb, _dry_run, *rest = self._bounded(labels)
        return self.longrunning.labels(verb, *rest)

    def _bounded(self, labels: RequestLabels) -> RequestLabels:
        if len(self.requests.series) < self.max_series or labels in self.requests.series:
            return labels
        verb, dry_run, _g, _v, _r, _s, scope, component = labels
        return (verb, dry_run, OVERFLOW, OVERFLOW, OVERFLOW, OVERFLOW, scope, component)


def metrics_routes(registry: CollectorRegistry) -> list[BaseRoute]:
    """`GET /metrics` in the text format the scraper asks for (Prometheus or OpenMetrics)."""

    async def metrics(request: Request) -> Response:
        encoder, content_type = choose_encoder(request.headers.get("accept", ""))
        body = await asyncio.to_thread(encoder, registry)
        return Response(body, headers={"Content-Type": content_type})

    return [Route("/metrics", metrics, methods=["GET"])]
