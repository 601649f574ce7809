"""The provider contract: what a source of custom or external metrics implements.

The Python form of custom-metrics-apiserver's `pkg/provider` interfaces, async: metrics of
objects by name and by label selector, external metrics by namespace and metric selector, and
the list of metrics for discovery (cheap, from a cache; it must not fail).
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Protocol, runtime_checkable

from k8s_aggapi.errors import GroupResource
from k8s_aggapi.registry.selectors import LabelSelector

Number = int | float | Decimal


def parse_group_resource(text: str) -> GroupResource:
    """`pods` -> ("", "pods"); `deployments.apps` -> ("apps", "deployments") (Go's
    schema.ParseGroupResource: the first dot splits)."""
    resource, _, group = text.partition(".")
    return GroupResource(group, resource)


@dataclass(frozen=True)
class CustomMetricInfo:
    """A metric of a kind of object; `namespaced` is the object's scope."""

    group_resource: GroupResource
    namespaced: bool
    metric: str


@dataclass(frozen=True)
class ExternalMetricInfo:
    metric: str


@dataclass(frozen=True)
class ObjectReference:
    """`describedObject`: which object a value describes (`api_version` as `<group>/<version>`,
    so `/v1` for core objects, as upstream's helpers write it)."""

    kind: str
    name: str
    namespace: str = ""
    api_version: str = ""


@dataclass(frozen=True)
class MetricValue:
    described_object: ObjectReference
    metric: str
    value: Number
    timestamp: datetime.datetime | None = None  # None: now
    window_seconds: int | None = None
    selector: Mapping[str, Any] | None = None  # the metric's LabelSelector, as JSON


@dataclass(frozen=True)
class ExternalMetricValue:
    metric: str
    value: Number
    labels: Mapping[str, str] = field(default_factory=dict)
    timestamp: datetime.datetime | None = None
    window_seconds: int | None = None


@runtime_checkable
class CustomMetricsProvider(Protocol):
    """Metrics describing Kubernetes objects (custom.metrics.k8s.io)."""

    async def get_metric_by_name(
        self, namespace: str, name: str, info: CustomMetricInfo, metric_selector: LabelSelector
    ) -> MetricValue:
        """The value for one object (`namespace` is empty for root-scoped objects); raise
        `metric_not_found_for(...)` when there is none."""
        ...

    async def get_metric_by_selector(
        self, namespace: str, selector: LabelSelector, info: CustomMetricInfo,
        metric_selector: LabelSelector,
    ) -> Sequence[MetricValue]:
        """The values for every object that `selector` selects (the `*` path)."""
        ...

    async def list_all_metrics(self) -> Sequence[CustomMetricInfo]: ...


@runtime_checkable
class ExternalMetricsProvider(Protocol):
    """Metrics not tied to an object (external.metrics.k8s.io)."""

    async def get_external_metric(
        self, namespace: str, metric_selector: LabelSelector, info: ExternalMetricInfo
    ) -> Sequence[ExternalMetricValue]: ...

    async def list_all_external_metrics(self) -> Sequence[ExternalMetricInfo]: ...


_EXPRESSIONS = {"in": "In", "notin": "NotIn", "!=": "NotIn", "exists": "Exists",
                "!": "DoesNotExist"}


def selector_json(selector: LabelSelector) -> dict[str, Any] | None:
    """A parsed selector as a metav1.LabelSelector (Go's ParseToLabelSelector): `=` in
    matchLabels, the rest as matchExpressions; None for an empty selector."""
    if selector.empty():
        return None
    labels: dict[str, str] = {}
    expressions: list[dict[str, Any]] = []
    for r in selector.requirements:
        if r.operator == "=":
            labels[r.key] = r.values[0]
        elif r.operator in _EXPRESSIONS:
            expression: dict[str, Any] = {"key": r.key, "operator": _EXPRESSIONS[r.operator]}
            if r.values:
                expression["values"] = sorted(r.values)
            expressions.append(expression)
    out: dict[str, Any] = {}
    if labels:
        out["matchLabels"] = labels
    if expressions:
        out["matchExpressions"] = expressions
    return out
