"""Several providers behind one API, each request routed by its metric.

Only one APIService may serve a group-version, so with the Go adapters a cluster picks one
source of custom metrics and one of external metrics. Here any number of providers share the
server: discovery lists the union, and a request goes to the first provider that lists its
metric (with a single provider, to that provider whatever it lists).
"""

from __future__ import annotations

from collections.abc import Sequence

from k8s_aggapi.custommetrics.errors import external_metric_not_found, metric_not_found
from k8s_aggapi.custommetrics.provider import (
    CustomMetricInfo,
    CustomMetricsProvider,
    ExternalMetricInfo,
    ExternalMetricsProvider,
)
from k8s_aggapi.errors import GroupResource

# discovery is never empty: client-go treats an empty resource list as an error ("Got empty
# response"), so upstream's defaults list these placeholders
CUSTOM_PLACEHOLDER = CustomMetricInfo(GroupResource("", "custommetrics"), False, "custommetrics")
EXTERNAL_PLACEHOLDER = ExternalMetricInfo("externalmetrics")


class CustomMetricsRouter:
    def __init__(self, providers: Sequence[CustomMetricsProvider]) -> None:
        self.providers = tuple(providers)

    async def list_all_metrics(self) -> list[CustomMetricInfo]:
        seen: dict[CustomMetricInfo, None] = {}
        for provider in self.providers:
            seen.update(dict.fromkeys(await provider.list_all_metrics()))
        return list(seen)

    async def provider_for(self, info: CustomMetricInfo) -> CustomMetricsProvider:
        for provider in self.providers:
            for listed in await provider.list_all_metrics():
                if listed.group_resource == info.group_resource and listed.metric == info.metric:
                    return provider
        if len(self.providers) == 1:
            return self.providers[0]
        raise metric_not_found(info.group_resource, info.metric)


class ExternalMetricsRouter:
    def __init__(self, providers: Sequence[ExternalMetricsProvider]) -> None:
        self.providers = tuple(providers)

    async def list_all_metrics(self) -> list[ExternalMetricInfo]:
        seen: dict[ExternalMetricInfo, None] = {}
        for provider in self.providers:
            seen.update(dict.fromkeys(await provider.list_all_external_metrics()))
        return list(seen)

    async def provider_for(
        self, info: ExternalMetricInfo, namespace: str
    ) -> ExternalMetricsProvider:
        for provider in self.providers:
            if info in await provider.list_all_external_metrics():
                return provider
        if len(self.providers) == 1:
            return self.providers[0]
        raise external_metric_not_found(info.metric, namespace)
