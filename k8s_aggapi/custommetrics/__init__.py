"""custom.metrics.k8s.io and external.metrics.k8s.io from Python providers.

A provider implements `CustomMetricsProvider` and/or `ExternalMetricsProvider` (async);
`metrics_groups(custom=[...], external=[...])` turns any number of them into the API groups a
server serves, routed by metric. See docs/custom-metrics.md.
"""

from k8s_aggapi.custommetrics.errors import (
    MetricNotFound,
    external_metric_not_found,
    metric_not_found,
    metric_not_found_for,
    metric_not_found_for_selector,
)
from k8s_aggapi.custommetrics.groups import (
    GROUP_PRIORITY_MINIMUM,
    VERSION_PRIORITIES,
    metrics_groups,
)
from k8s_aggapi.custommetrics.provider import (
    CustomMetricInfo,
    CustomMetricsProvider,
    ExternalMetricInfo,
    ExternalMetricsProvider,
    ExternalMetricValue,
    MetricValue,
    ObjectReference,
    parse_group_resource,
    selector_json,
)
from k8s_aggapi.custommetrics.quantity import quantity

__all__ = [
    "GROUP_PRIORITY_MINIMUM",
    "VERSION_PRIORITIES",
    "CustomMetricInfo",
    "CustomMetricsProvider",
    "ExternalMetricInfo",
    "ExternalMetricValue",
    "ExternalMetricsProvider",
    "MetricNotFound",
    "MetricValue",
    "ObjectReference",
    "external_metric_not_found",
    "metric_not_found",
    "metric_not_found_for",
    "metric_not_found_for_selector",
    "metrics_groups",
    "parse_group_resource",
    "quantity",
    "selector_json",
]
