"""Hand-written pydantic models of the wire types."""

from k8s_aggapi.models.base import KubeModel
from k8s_aggapi.models.meta import (
    KubeObject,
    ListMeta,
    ManagedFieldsEntry,
    ObjectMeta,
    OwnerReference,
)

__all__ = [
    "KubeModel", "KubeObject", "ListMeta", "ManagedFieldsEntry", "ObjectMeta", "OwnerReference",
]
