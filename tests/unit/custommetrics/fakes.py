"""Two small providers for the framework's tests."""

from __future__ import annotations

from collections.abc import Sequence

from k8s_aggapi.custommetrics import (
    CustomMetricInfo,
    ExternalMetricInfo,
    ExternalMetricValue,
    MetricValue,
    ObjectReference,
    metric_not_found_for,
)
from k8s_aggapi.errors import GroupResource
from k8s_aggapi.registry.selectors import LabelSelector

PODS = GroupResource("", "pods")
PODS_LABELS = {"web-1": {"app": "web"}, "web-2": {"app": "web"}, "db-1": {"app": "db"}}


class PodRequests:
    """`pods/<metric>` in any namespace; a pod's value is its index + 0.5."""

    def __init__(self, metric: str = "http_requests_per_second") -> None:
        self.metric = metric
        self.calls: list[tuple[str, str, str]] = []

    async def list_all_metrics(self) -> Sequence[CustomMetricInfo]:
        return [CustomMetricInfo(PODS, True, self.metric)]

    def _value(self, namespace: str, name: str, selector: LabelSelector) -> MetricValue:
        return MetricValue(ObjectReference("Pod", name, namespace, "/v1"), self.metric,
                           sorted(PODS_LABELS).index(name) + 0.5, window_seconds=60,
                           selector={"matchLabels": {"x": "y"}} if not selector.empty() else None)

    async def get_metric_by_name(self, namespace: str, name: str, info: CustomMetricInfo,
                                 metric_selector: LabelSelector) -> MetricValue:
        self.calls.append(("name", namespace, name))
        if name not in PODS_LABELS or info.metric != self.metric:
            raise metric_not_found_for(info.group_resource, info.metric, name)
        return self._value(namespace, name, metric_selector)

    async def get_metric_by_selector(self, namespace: str, selector: LabelSelector,
                                     info: CustomMetricInfo,
                                     metric_selector: LabelSelector) -> Sequence[MetricValue]:
        self.calls.append(("selector", namespace, selector.source))
        return [self._value(namespace, n, metric_selector)
                for n, labels in sorted(PODS_LABELS.items()) if selector.matches(labels)]


class NamespaceMetric:
    async def list_all_metrics(self) -> Sequence[CustomMetricInfo]:
        return [CustomMetricInfo(GroupResource("", "namespaces"), False, "pods_running")]

    async def get_metric_by_name(self, namespace: str, name: str, info: CustomMetricInfo,
                                 metric_selector: LabelSelector) -> MetricValue:
        return MetricValue(ObjectReference("Namespace", name, "", "/v1"), info.metric, 3)

    async def get_metric_by_selector(self, namespace: str, selector: LabelSelector,
                                     info: CustomMetricInfo,
                                     metric_selector: LabelSelector) -> Sequence[MetricValue]:
        return []


class Queue:
    def __init__(self, metric: str = "queue_depth", depth: float = 42) -> None:
        self.metric, self.depth = metric, depth
        self.seen: list[tuple[str, str]] = []

    async def list_all_external_metrics(self) -> Sequence[ExternalMetricInfo]:
        return [ExternalMetricInfo(self.metric)]

    async def get_external_metric(self, namespace: str, metric_selector: LabelSelector,
                                  info: ExternalMetricInfo) -> Sequence[ExternalMetricValue]:
        self.seen.append((namespace, metric_selector.source))
        return [ExternalMetricValue(info.metric, self.depth, {"queue": "jobs"})]
