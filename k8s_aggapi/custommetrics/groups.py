"""The API groups a metrics server serves: custom.metrics.k8s.io v1beta2 (preferred) and
v1beta1, external.metrics.k8s.io v1beta1, each from any number of providers."""

from __future__ import annotations

from collections.abc import Sequence

from k8s_aggapi.api import APIGroup
from k8s_aggapi.custommetrics.endpoint import CustomMetricsEndpoint, ExternalMetricsEndpoint
from k8s_aggapi.custommetrics.provider import CustomMetricsProvider, ExternalMetricsProvider
from k8s_aggapi.custommetrics.router import CustomMetricsRouter, ExternalMetricsRouter
from k8s_aggapi.custommetrics.wire import CUSTOM_GROUP, CUSTOM_VERSIONS, EXTERNAL_GROUP

# the APIServices' versionPriority, as custom-metrics-apiserver's deployment registers them
VERSION_PRIORITIES = {(CUSTOM_GROUP, "v1beta2"): 200, (CUSTOM_GROUP, "v1beta1"): 100,
                      (EXTERNAL_GROUP, "v1beta1"): 100}
GROUP_PRIORITY_MINIMUM = 100


def metrics_groups(
    custom: Sequence[CustomMetricsProvider] = (),
    external: Sequence[ExternalMetricsProvider] = (),
) -> list[APIGroup]:
    """The groups for `main(...)`: a group is served when it has at least one provider."""
    groups = []
    if custom:
        router = CustomMetricsRouter(custom)
        group = APIGroup(CUSTOM_GROUP)
        for version in CUSTOM_VERSIONS:
            group.serve_version(version, CustomMetricsEndpoint(version, router))
        groups.append(group)
    if external:
        group = APIGroup(EXTERNAL_GROUP)
        group.serve_version("v1beta1", ExternalMetricsEndpoint(ExternalMetricsRouter(external)))
        groups.append(group)
    return groups
