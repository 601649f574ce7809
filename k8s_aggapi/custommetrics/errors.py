"""The 404s of custom-metrics-apiserver (`pkg/provider/errors.go`), word for word: the HPA
shows them as `unable to fetch metrics from custom metrics API: <message>`."""

from __future__ import annotations

from k8s_aggapi.errors import GroupResource, StatusError
from k8s_aggapi.registry.selectors import LabelSelector, Requirement


class MetricNotFound(StatusError):
    def __init__(self, message: str) -> None:
        super().__init__(message, 404, "NotFound")


def metric_not_found(resource: GroupResource, metric: str) -> MetricNotFound:
    return MetricNotFound(f"the server could not find the metric {metric} for {resource}")


def external_metric_not_found(metric: str, namespace: str) -> MetricNotFound:
    """prometheus-adapter's 404 for an external metric: `for namespaces` in the default
    namespace, an empty group-resource elsewhere (its selectGroupResource)."""
    where = GroupResource("", "namespaces" if namespace == "default" else "")
    return metric_not_found(where, metric)


def metric_not_found_for(resource: GroupResource, metric: str, name: str) -> MetricNotFound:
    return MetricNotFound(f"the server could not find the metric {metric} for {resource} {name}")


def metric_not_found_for_selector(
    resource: GroupResource, metric: str, name: str, selector: LabelSelector
) -> MetricNotFound:
    return MetricNotFound(f"the server could not find the metric {metric} for {resource} {name} "
                          f"with selector {selector_string(selector)}")


def _requirement_string(r: Requirement) -> str:
    values = ",".join(sorted(r.values))
    return {
        "exists": r.key, "!": f"!{r.key}", "=": f"{r.key}={values}", "!=": f"{r.key}!={values}",
        "in": f"{r.key} in ({values})", "notin": f"{r.key} notin ({values})",
        "gt": f"{r.key}>{values}", "lt": f"{r.key}<{values}",
    }[r.operator]


def selector_string(selector: LabelSelector) -> str:
    """Go's labels.Selector String(): requirements sorted by key, values sorted."""
    return ",".join(_requirement_string(r) for r in selector.requirements)
