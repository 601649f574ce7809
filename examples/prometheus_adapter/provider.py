"""The adapter's two providers on the series registry: objects' metrics (with the objects a
label selector selects listed from kube-apiserver) and external metrics."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any, Protocol
from urllib.parse import quote

from examples.prometheus_adapter.mapper import ResourceMapper
from examples.prometheus_adapter.naming import Namer
from examples.prometheus_adapter.prometheus import PrometheusClient, PrometheusError, Sample
from examples.prometheus_adapter.promql import QueryError, external_query, object_query
from examples.prometheus_adapter.registry import SeriesRegistry
from k8s_aggapi import errors
from k8s_aggapi.custommetrics import (
    CustomMetricInfo,
    ExternalMetricInfo,
    ExternalMetricValue,
    MetricValue,
    ObjectReference,
    external_metric_not_found,
    metric_not_found,
    metric_not_found_for,
    selector_json,
)
from k8s_aggapi.errors import GroupResource
from k8s_aggapi.registry.selectors import LabelSelector


class KubeGet(Protocol):
    async def get(self, path: str, *, query: list[tuple[str, str]] | None = ...,
                  accept: str = ...) -> Any: ...


class ObjectLister:
    """Names of the objects of a kind that a label selector selects (one list request)."""

    def __init__(self, kube: KubeGet, mapper: ResourceMapper) -> None:
        self.kube, self.mapper = kube, mapper

    async def names(self, gr: GroupResource, namespace: str, selector: LabelSelector) -> list[str]:
        mapping = self.mapper.get(gr)
        if mapping is None:
            raise errors.NotFound(gr, "")
        base = f"/apis/{gr.group}/{mapping.version}" if gr.group else f"/api/{mapping.version}"
        path = (f"{base}/namespaces/{quote(namespace, safe='')}/{gr.resource}" if namespace
                else f"{base}/{gr.resource}")
        query = [("labelSelector", selector.source)] if selector.source else []
        listed = await self.kube.get(path, query=query)
        return sorted(str(item["metadata"]["name"]) for item in listed.get("items") or [])


def _unavailable(prometheus: PrometheusClient, exc: Exception) -> errors.StatusError:
    return errors.ServiceUnavailable(f"unable to fetch metrics from Prometheus: {exc}")


def _timestamp(sample: Sample) -> datetime.datetime:
    return datetime.datetime.fromtimestamp(sample.timestamp, datetime.UTC)


class PrometheusCustomMetrics:
    def __init__(self, registry: SeriesRegistry, lister: ObjectLister) -> None:
        self.registry, self.lister = registry, lister

    async def list_all_metrics(self) -> Sequence[CustomMetricInfo]:
        return [info for info, _ in self.registry.custom.values()]

    async def _values(self, info: CustomMetricInfo, namespace: str, names: Sequence[str],
                      metric_selector: LabelSelector) -> tuple[dict[str, Sample], Namer]:
        found = self.registry.custom.get((info.group_resource, info.metric))
        if found is None or not names:
            raise metric_not_found(info.group_resource, info.metric)
        _, where = found
        namer = where.namer
        label = namer.label_for(info.group_resource)
        if label is None:
            raise metric_not_found(info.group_resource, info.metric)
        try:
            query = object_query(namer.rule, where.series, label,
                                 self.registry.namespace_label(namer), namespace, names,
                                 metric_selector)
        except QueryError as exc:
            raise errors.BadRequest(f"unable to build the query for {info.metric}: {exc}") from None
        try:
            samples = await self.registry.prometheus.query(query)
        except PrometheusError as exc:
            self.registry.record_query(namer, query, str(exc))
            raise _unavailable(self.registry.prometheus, exc) from None
        self.registry.record_query(namer, query)
        return {s.labels.get(label, ""): s for s in samples}, namer

    def _metric(self, info: CustomMetricInfo, namespace: str, name: str, sample: Sample,
                metric_selector: LabelSelector) -> MetricValue:
        mapping = self.registry.mapper.get(info.group_resource)
        kind = mapping.kind if mapping else info.group_resource.resource
        api_version = mapping.api_version if mapping else ""
        return MetricValue(ObjectReference(kind, name, namespace, api_version), info.metric,
                           sample.value, selector=selector_json(metric_selector))

    async def get_metric_by_name(self, namespace: str, name: str, info: CustomMetricInfo,
                                 metric_selector: LabelSelector) -> MetricValue:
        values, _ = await self._values(info, namespace, [name], metric_selector)
        if name not in values:
            raise metric_not_found_for(info.group_resource, info.metric, name)
        return self._metric(info, namespace, name, values[name], metric_selector)

    async def get_metric_by_selector(self, namespace: str, selector: LabelSelector,
                                     info: CustomMetricInfo,
                                     metric_selector: LabelSelector) -> Sequence[MetricValue]:
        try:
            names = await self.lister.names(info.group_resource, namespace, selector)
        except errors.StatusError:
            raise
        except Exception as exc:
            raise errors.InternalError(f"unable to list matching resources: {exc}") from None
        values, _ = await self._values(info, namespace, names, metric_selector)
        return [self._metric(info, namespace, n, values[n], metric_selector)
                for n in names if n in values]


class PrometheusExternalMetrics:
    def __init__(self, registry: SeriesRegistry) -> None:
        self.registry = registry

    async def list_all_external_metrics(self) -> Sequence[ExternalMetricInfo]:
        return [ExternalMetricInfo(m) for m in self.registry.external]

    async def get_external_metric(self, namespace: str, metric_selector: LabelSelector,
                                  info: ExternalMetricInfo) -> Sequence[ExternalMetricValue]:
        found = self.registry.external.get(info.metric)
        if found is None:
            raise external_metric_not_found(info.metric, namespace)
        namer = found.namer
        try:
            query = external_query(namer.rule, found.series, self.registry.namespace_label(namer),
                                   namespace, metric_selector)
        except QueryError as exc:
            raise errors.BadRequest(f"unable to build the query for {info.metric}: {exc}") from None
        try:
            samples = await self.registry.prometheus.query(query)
        except PrometheusError as exc:
            self.registry.record_query(namer, query, str(exc))
            raise _unavailable(self.registry.prometheus, exc) from None
        self.registry.record_query(namer, query)
        return [ExternalMetricValue(info.metric, s.value, s.labels, _timestamp(s))
                for s in samples]
