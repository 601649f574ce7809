"""The JSON of `MetricValueList` (custom.metrics.k8s.io v1beta2 and v1beta1) and
`ExternalMetricValueList` (external.metrics.k8s.io v1beta1), field for field as
k8s.io/metrics `pkg/apis/*/types.go` serialise them (non-omitempty selectors are `null`).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from k8s_aggapi.custommetrics.provider import ExternalMetricValue, MetricValue, ObjectReference
from k8s_aggapi.custommetrics.quantity import quantity

CUSTOM_GROUP = "custom.metrics.k8s.io"
EXTERNAL_GROUP = "external.metrics.k8s.io"


def rfc3339(when: datetime.datetime | None) -> str:
    """metav1.Time: UTC, second precision, `Z`."""
    when = when or datetime.datetime.now(datetime.UTC)
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return when.astimezone(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _reference(ref: ObjectReference) -> dict[str, str]:
    out = {"kind": ref.kind}
    if ref.namespace:
        out["namespace"] = ref.namespace
    out["name"] = ref.name
    if ref.api_version:
        out["apiVersion"] = ref.api_version
    return out


def _custom_v1beta2(v: MetricValue, now: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "describedObject": _reference(v.described_object),
        "metric": {"name": v.metric, "selector": v.selector},
        "timestamp": now if v.timestamp is None else rfc3339(v.timestamp),
    }
    if v.window_seconds is not None:
        item["windowSeconds"] = v.window_seconds
    item["value"] = quantity(v.value)
    return item


def _custom_v1beta1(v: MetricValue, now: str) -> dict[str, Any]:
    item: dict[str, Any] = {
        "describedObject": _reference(v.described_object),
        "metricName": v.metric,
        "timestamp": now if v.timestamp is None else rfc3339(v.timestamp),
    }
    if v.window_seconds is not None:
        item["window"] = v.window_seconds
    item["value"] = quantity(v.value)
    item["selector"] = v.selector
    return item


_CUSTOM = {"v1beta2": _custom_v1beta2, "v1beta1": _custom_v1beta1}
CUSTOM_VERSIONS = tuple(_CUSTOM)  # preference order


def metric_value_list(version: str, values: Sequence[MetricValue]) -> dict[str, Any]:
    encode, now = _CUSTOM[version], rfc3339(None)  # one "now" for the items that have none
    return {"kind": "MetricValueList", "apiVersion": f"{CUSTOM_GROUP}/{version}",
            "metadata": {}, "items": [encode(v, now) for v in values]}


def _external(v: ExternalMetricValue, now: str) -> dict[str, Any]:
    item: dict[str, Any] = {"metricName": v.metric, "metricLabels": dict(v.labels),
                            "timestamp": now if v.timestamp is None else rfc3339(v.timestamp)}
    if v.window_seconds is not None:
        item["window"] = v.window_seconds
    item["value"] = quantity(v.value)
    return item


def external_metric_value_list(values: Sequence[ExternalMetricValue]) -> dict[str, Any]:
    now = rfc3339(None)
    return {"kind": "ExternalMetricValueList", "apiVersion": f"{EXTERNAL_GROUP}/v1beta1",
            "metadata": {}, "items": [_external(v, now) for v in values]}
