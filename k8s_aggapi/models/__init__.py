"""Hand-written pydantic models of the wire types."""

from k8s_aggapi.models.base import KubeModel
from k8s_aggapi.models.meta import ListMeta, ManagedFieldsEntry, Object, ObjectMeta, OwnerReference

__all__ = ["KubeModel", "ListMeta", "ManagedFieldsEntry", "Object", "ObjectMeta", "OwnerReference"]
