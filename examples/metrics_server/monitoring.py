"""The `metrics_server_*` families upstream serves on /metrics (pkg/*/monitoring.go), with one
difference: the per-node series are removed when the node goes (upstream keeps them forever,
so its /metrics grows with node churn, issue #1114)."""

from __future__ import annotations

import contextlib

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

DEFAULT_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def tick_buckets(resolution: float) -> tuple[float, ...]:
    """Upstream's BucketsForScrapeDuration: the default buckets plus points around the
    resolution, so a tick close to (or over) its budget is visible."""
    around = [resolution * f for f in (0.25, 0.5, 0.75, 0.9, 1.0, 1.25, 1.5, 2.0)]
    return tuple(sorted({*DEFAULT_BUCKETS, *around}))


class Monitoring:
    def __init__(self, resolution: float, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry if registry is not None else CollectorRegistry()
        r = self.registry
        self.request_duration = Histogram(
            "metrics_server_kubelet_request_duration_seconds",
            "Duration of requests to Kubelet API in seconds", ["node"],
            buckets=DEFAULT_BUCKETS, registry=r)
        self.request_total = Counter(
            "metrics_server_kubelet_request", "Number of requests sent to Kubelet API",
            ["success"], registry=r)
        self.last_request = Gauge(
            "metrics_server_kubelet_last_request_time_seconds",
            "Time of last request performed to Kubelet API since unix epoch in seconds",
            ["node"], registry=r)
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
        for family in (self.request_duration, self.last_request):
            with contextlib.suppress(KeyError):
                family.remove(node)

    def set_points(self, nodes: int, containers: int) -> None:
        self.storage_points.labels("node").set(nodes)
        self.storage_points.labels("container").set(containers)
