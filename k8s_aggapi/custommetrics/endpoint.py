"""The two `VersionEndpoint`s: custom.metrics.k8s.io (per version) and external.metrics.k8s.io.

They sit where the resource endpoint sits, behind the whole handler chain: authorization has
already checked the request info upstream's resolver gives these paths (for
`namespaces/ns/pods/*/m`, verb `get` on `pods/m` named `*`; for the external
`namespaces/ns/m`, verb `list` on `m`), which is what the HPA's RBAC grants. Routes follow
custom-metrics-apiserver's installer: `{resource}/{name}/{metric}`,
`namespaces/{ns}/{resource}/{name}/{metric}`, `namespaces/{ns}/metrics/{metric}`, and for
external metrics `namespaces/{ns}/{metric}`; `labelSelector` and `metricLabelSelector`.
"""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import parse_qs

from k8s_aggapi import errors
from k8s_aggapi.api import EndpointOperation
from k8s_aggapi.custommetrics import openapi, wire
from k8s_aggapi.custommetrics.provider import (
    CustomMetricInfo,
    ExternalMetricInfo,
    parse_group_resource,
)
from k8s_aggapi.custommetrics.router import (
    CUSTOM_PLACEHOLDER,
    EXTERNAL_PLACEHOLDER,
    CustomMetricsRouter,
    ExternalMetricsRouter,
)
from k8s_aggapi.endpoints.negotiation import parse_accept
from k8s_aggapi.endpoints.responses import Receive, Send, send_json
from k8s_aggapi.errors import GroupResource
from k8s_aggapi.registry.selectors import LabelSelector
from k8s_aggapi.request import context

log = logging.getLogger("k8s_aggapi.custommetrics")
ALL_OBJECTS = "*"
NAMESPACES = GroupResource("", "namespaces")


def _query(scope: dict[str, Any]) -> dict[str, list[str]]:
    raw: bytes = scope.get("query_string", b"")
    return parse_qs(raw.decode(), keep_blank_values=True) if raw else {}


def _selector(query: dict[str, list[str]], name: str) -> LabelSelector:
    return LabelSelector.parse(query.get(name, [""])[0])


def _check_request(scope: dict[str, Any]) -> None:
    if scope.get("method", "GET") not in ("GET", "HEAD"):
        raise errors.MethodNotAllowed()
    for header, value in scope.get("headers", ()):
        if header == b"accept":
            accept = value.decode("latin-1")
            if accept and not any(r.matches_json() and "as" not in r.params
                                  for r in parse_accept(accept)):
                raise errors.NotAcceptable(
                    "only the following media types are accepted: application/json")


class CustomMetricsEndpoint:
    """`/apis/custom.metrics.k8s.io/<version>/...` from the providers, in one wire version."""

    def __init__(self, version: str, metrics: CustomMetricsRouter) -> None:
        if version not in wire.CUSTOM_VERSIONS:
            raise ValueError(f"custom.metrics.k8s.io has no version {version}")
        self.version, self.metrics = version, metrics

    def openapi_operations(self) -> list[EndpointOperation]:
        return openapi.custom_operations(self.version)

    def openapi_definitions(self) -> dict[str, dict[str, Any]]:
        return openapi.custom_definitions(self.version)

    async def api_resources(self) -> list[dict[str, Any]]:
        listed = await self.metrics.list_all_metrics() or [CUSTOM_PLACEHOLDER]
        return [{"name": f"{m.group_resource}/{m.metric}", "singularName": "",
                 "namespaced": m.namespaced, "kind": "MetricValueList", "verbs": ["get"]}
                for m in listed]

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        _check_request(scope)
        info = context.request_info(scope)
        namespace, parts = info.namespace, info.parts
        if namespace and len(parts) == 2 and parts[0] == "metrics":
            # a metric of the Namespace object itself: root-scoped, named by the namespace
            resource, name, metric, namespace = NAMESPACES, namespace, parts[1], ""
        elif len(parts) == 3 and all(parts):
            resource, name, metric = parse_group_resource(parts[0]), parts[1], parts[2]
        else:
            raise errors.PathNotFound()
        query = _query(scope)
        selector = _selector(query, "labelSelector")
        metric_selector = _selector(query, "metricLabelSelector")
        wanted = CustomMetricInfo(resource, bool(namespace), metric)
        provider = await self.metrics.provider_for(wanted)
        if name == ALL_OBJECTS:
            values = list(await provider.get_metric_by_selector(
                namespace, selector, wanted, metric_selector))
        else:
            values = [await provider.get_metric_by_name(namespace, name, wanted, metric_selector)]
        await send_json(send, 200, wire.metric_value_list(self.version, values))


class ExternalMetricsEndpoint:
    """`/apis/external.metrics.k8s.io/v1beta1/namespaces/<ns>/<metric>` from the providers."""

    def __init__(self, metrics: ExternalMetricsRouter) -> None:
        self.metrics = metrics

    def openapi_operations(self) -> list[EndpointOperation]:
        return openapi.external_operations()

    def openapi_definitions(self) -> dict[str, dict[str, Any]]:
        return openapi.external_definitions()

    async def api_resources(self) -> list[dict[str, Any]]:
        listed = await self.metrics.list_all_metrics() or [EXTERNAL_PLACEHOLDER]
        return [{"name": m.metric, "singularName": "", "namespaced": True,
                 "kind": "ExternalMetricValueList", "verbs": ["get"]} for m in listed]

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        _check_request(scope)
        info = context.request_info(scope)
        if not info.namespace or len(info.parts) != 1 or not info.parts[0]:
            raise errors.PathNotFound()
        metric_selector = _selector(_query(scope), "labelSelector")
        wanted = ExternalMetricInfo(info.parts[0])
        provider = await self.metrics.provider_for(wanted, info.namespace)
        values = await provider.get_external_metric(info.namespace, metric_selector, wanted)
        await send_json(send, 200, wire.external_metric_value_list(values))
