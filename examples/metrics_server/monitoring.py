"""The `metrics_server_*` families upstream serves on /metrics (pkg/*/monitoring.go), with one
difference: the per-node series are removed when the node goes (upstream keeps them forever,
so its /metrics grows with node churn, issue #1114).

The two per-node families (a request duration histogram and the last request's time) are
counted in plain numbers by `NodeRequests`, one slotted object per node that the scraper
keeps: no child lookup, lock or bucket loop per scrape, as `k8s_aggapi.metrics` does for the
request metrics. A scrape of /metrics (in a thread) copies each node's list whole, which the
GIL makes atomic."""

from __future__ import annotations

import time
from bisect import bisect_left
from collections.abc import Iterator

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client import metrics as prometheus_metrics
from prometheus_client.core import GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from prometheus_client.samples import Sample

from k8s_aggapi.metrics import bounds, cumulative

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def tick_buckets(resolution: float) -> tuple[float, ...]:
    """Upstream's BucketsForScrapeDuration: the default buckets plus points around the
    resolution, so a tick close to (or over) its budget is visible."""
    around = [resolution * f for f in (0.25, 0.5, 0.75, 0.9, 1.0, 1.25, 1.5, 2.0)]
    return tuple(sorted({*DEFAULT_BUCKETS, *around}))


REQUEST_DURATION = "metrics_server_kubelet_request_duration_seconds"
LAST_REQUEST = "metrics_server_kubelet_last_request_time_seconds"


class NodeSeries:
    """One node's request durations (the count per bucket, the last +Inf, then the sum) and
    the time of its last request."""

    __slots__ = ("created", "last", "values")

    def __init__(self) -> None:
        self.values = [0.0] * (len(DEFAULT_BUCKETS) + 2)
        self.last: float | None = None
        self.created = time.time()

    def observe(self, seconds: float, request_time: float) -> None:
        """A request that took `seconds`, sent at `request_time` (seconds since the epoch)."""
        values = self.values
        values[bisect_left(DEFAULT_BUCKETS, seconds)] += 1  # le: the first bound >=
        values[-1] += seconds
        self.last = request_time


class NodeRequests(Collector):
    """`metrics_server_kubelet_request_duration_seconds{node}` and
    `metrics_server_kubelet_last_request_time_seconds{node}`, as prometheus_client's Histogram
    and Gauge expose them (the histogram's `_created` samples included unless disabled)."""

    BOUNDS = bounds(DEFAULT_BUCKETS)

    def __init__(self) -> None:
        self.nodes: dict[str, NodeSeries] = {}

    def node(self, name: str) -> NodeSeries:
        series = self.nodes.get(name)
        if series is None:
            series = self.nodes[name] = NodeSeries()
        return series

    def describe(self) -> Iterator[Metric]:
        yield from self._families()

    def collect(self) -> Iterator[Metric]:
        durations, last = self._families()
        created = prometheus_metrics._use_created
        for name, series in list(self.nodes.items()):
            *counts, total = series.values[:]
            durations.add_metric([name], cumulative(self.BOUNDS, [int(c) for c in counts]),
                                 total)
            if created:  # what Histogram adds, and HistogramMetricFamily cannot
                durations.samples.append(Sample(f"{REQUEST_DURATION}_created",
                                                {"node": name}, series.created))
            at = series.last
            if at is not None:
                last.add_metric([name], at)
        yield durations
        yield last

    @staticmethod
    def _families() -> tuple[HistogramMetricFamily, GaugeMetricFamily]:
        return (HistogramMetricFamily(REQUEST_DURATION,
                                      "Duration of requests to Kubelet API in seconds",
                                      labels=["node"]),
                GaugeMetricFamily(LAST_REQUEST, "Time of last request performed to Kubelet "
                                  "API since unix epoch in seconds", labels=["node"]))


class Monitoring:
    def __init__(self, resolution: float, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.kubelet_requests = NodeRequests()
        r.register(self.kubelet_requests)
        self.request_total = Counter(
            "metrics_server_kubelet_request", "Number of requests sent to Kubelet API",
            ["success"], registry=r)
        self.tick_duration = Histogram(
            "metrics_server_manager_tick_duration_seconds",
            "The total time spent collecting and storing metrics in seconds",
            buckets=tick_buckets(resolution), registry=r)
        self.storage_points = Gauge(
            "metrics_server_storage_points", "Number of metrics points stored.", ["type"],
            registry=r)
        self.freshness = Histogram(
            "metrics_server_api_metric_freshness_seconds",
            "Freshness of metrics exported",
            buckets=tuple(1.364**i for i in range(20)), registry=r)
        self.success = self.request_total.labels("true")
        self.failure = self.request_total.labels("false")

    def forget_node(self, node: str) -> None:
        """Drop a node's series (ours: upstream never does)."""
        self.kubelet_requests.nodes.pop(node, None)

    def set_points(self, nodes: int, containers: int) -> None:
        self.storage_points.labels("node").set(nodes)
        self.storage_points.labels("container").set(containers)
