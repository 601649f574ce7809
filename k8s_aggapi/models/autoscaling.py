"""autoscaling/v1 Scale: what the `/scale` subresource of any scalable resource reads and writes."""

from __future__ import annotations

from pydantic import Field

from k8s_aggapi.models.base import KubeModel
from k8s_aggapi.models.meta import KubeObject

SCALE_GROUP, SCALE_VERSION, SCALE_KIND = "autoscaling", "v1", "Scale"


class ScaleSpec(KubeModel):
    """ScaleSpec describes the attributes of a scale subresource."""

    replicas: int | None = Field(
        default=None, description="replicas is the desired number of instances for the scaled "
        "object.")


class ScaleStatus(KubeModel):
    """ScaleStatus represents the current status of a scale subresource."""

    replicas: int = Field(
        default=0, description="replicas is the actual number of observed instances of the "
        "scaled object.")
    selector: str | None = Field(
        default=None, description="selector is the label query over pods that should match the "
        "replicas count. This is same as the label selector but in the string format to avoid "
        "introspection by clients. The string will be in the same format as the query-param "
        "syntax. More info about label selectors: "
        "https://kubernetes.io/docs/concepts/overview/working-with-objects/labels/")


class Scale(KubeObject):
    """Scale represents a scaling request for a resource."""

    spec: ScaleSpec = Field(default_factory=ScaleSpec)
    status: ScaleStatus | None = None
