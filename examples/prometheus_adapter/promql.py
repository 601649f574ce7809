"""PromQL from a request: label matchers from the metric selector, the namespace and the
objects, put into the rule's `metricsQuery` (prometheus-adapter's `pkg/naming/metrics_query.go`
rules: `=`, `!=`, `=~` for `in`, `!~` for `notin`, existence as `!=""` / `=""`)."""

from __future__ import annotations

from collections.abc import Sequence

from examples.prometheus_adapter.config import Rule
from k8s_aggapi.errors import go_quote
from k8s_aggapi.registry.selectors import LabelSelector, Requirement


class QueryError(ValueError):
    """The request cannot be said in PromQL exactly (an unsupported operator, say)."""


def _matcher(label: str, op: str, value: str) -> str:
    return f"{label}{op}{go_quote(value)}"


def requirement_matcher(r: Requirement) -> str:
    values = sorted(r.values)
    joined = "|".join(values)
    if r.operator in ("gt", "lt"):
        raise QueryError(f"operator {r.operator} on {r.key} has no PromQL label matcher")
    if r.operator == "exists":
        return _matcher(r.key, "!=", "")
    if r.operator == "!":
        return _matcher(r.key, "=", "")
    if len(values) == 1:
        op = {"=": "=", "!=": "!=", "in": "=~", "notin": "!~"}[r.operator]
        return _matcher(r.key, op, joined)
    return _matcher(r.key, "=~" if r.operator in ("=", "in") else "!~", joined)


def _values(selector: LabelSelector) -> dict[str, str]:
    return {r.key: "|".join(sorted(r.values)) for r in selector.requirements}


def object_query(rule: Rule, series: str, resource_label: str, namespace_label: str | None,
                 namespace: str, names: Sequence[str], metric_selector: LabelSelector) -> str:
    """The query for `names` (objects of one kind) in `namespace` ("" when root-scoped)."""
    exprs = [requirement_matcher(r) for r in metric_selector.requirements]
    values = _values(metric_selector)
    if namespace:
        if namespace_label is None:
            raise QueryError("no label names the namespace (add an override for namespaces)")
        exprs.append(_matcher(namespace_label, "=", namespace))
        values[namespace_label] = namespace
    target = "|".join(names)
    exprs.append(_matcher(resource_label, "=~" if len(names) > 1 else "=", target))
    values[resource_label] = target
    return rule.metrics_query.render({
        "Series": series, "LabelMatchers": ",".join(exprs), "LabelValuesByName": values,
        "GroupBy": resource_label, "GroupBySlice": [resource_label],
    })


def external_query(rule: Rule, series: str, namespace_label: str | None, namespace: str,
                   metric_selector: LabelSelector) -> str:
    exprs = [requirement_matcher(r) for r in metric_selector.requirements]
    values = _values(metric_selector)
    if rule.resources.namespaced and namespace:
        if namespace_label is None:
            raise QueryError("no label names the namespace (add an override for namespaces, "
                             "or `namespaced: false`)")
        exprs.append(_matcher(namespace_label, "=", namespace))
        values[namespace_label] = namespace
    return rule.metrics_query.render({
        "Series": series, "LabelMatchers": ",".join(exprs), "LabelValuesByName": values,
        "GroupBy": "", "GroupBySlice": [],
    })
