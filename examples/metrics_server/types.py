"""metrics.k8s.io/v1beta1 (k8s.io/metrics pkg/apis/metrics/v1beta1/types.go), for OpenAPI.

Objects are served as dicts built by `rest`; these models only describe them."""

from __future__ import annotations

from pydantic import Field

from k8s_aggapi.models import KubeModel, KubeObject

GROUP = "metrics.k8s.io"
VERSION = "v1beta1"
API_VERSION = f"{GROUP}/{VERSION}"


class NodeMetrics(KubeObject):
    """NodeMetrics sets resource usage metrics of a node."""

    timestamp: str = Field(description="The following fields define time interval from which "
                           "metrics were collected from the interval [Timestamp-Window, "
                           "Timestamp].")
    window: str = Field(description="The window of the sample, a Go duration.")
    usage: dict[str, str] = Field(description="The memory usage is the memory working set.")


class ContainerMetrics(KubeModel):
    """ContainerMetrics sets resource usage metrics of a container."""

    name: str = Field(description="Container name corresponding to the one from pod.spec."
                      "containers.")
    usage: dict[str, str] = Field(description="The memory usage is the memory working set.")


class PodMetrics(KubeObject):
    """PodMetrics sets resource usage metrics of a pod."""

    timestamp: str = Field(description="The following fields define time interval from which "
                           "metrics were collected from the interval [Timestamp-Window, "
                           "Timestamp].")
    window: str = Field(description="The window of the sample, a Go duration.")
    containers: list[ContainerMetrics] = Field(description="Metrics for all containers are "
                                               "collected within the same time window.")
