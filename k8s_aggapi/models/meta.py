"""meta/v1 types that every resource carries: ObjectMeta and friends."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from k8s_aggapi.models.base import KubeModel
from k8s_aggapi.models.lists import list_atomic, list_map, list_set, map_atomic


class OwnerReference(KubeModel):
    model_config = ConfigDict(json_schema_extra=map_atomic())  # +structType=atomic upstream

    api_version: str
    kind: str
    name: str
    uid: str
    controller: bool | None = None
    block_owner_deletion: bool | None = None


class ManagedFieldsEntry(KubeModel):
    manager: str | None = None
    operation: str | None = None
    api_version: str | None = None
    time: str | None = None
    fields_type: str | None = None
    fields_v1: dict[str, Any] | None = Field(default=None, alias="fieldsV1")
    subresource: str | None = None


class ObjectMeta(KubeModel):
    """Standard object metadata (metav1.ObjectMeta)."""

    name: str | None = Field(default=None, description="Name must be unique within a namespace.")
    generate_name: str | None = None
    namespace: str | None = None
    uid: str | None = None
    resource_version: str | None = None
    generation: int | None = None
    creation_timestamp: str | None = None
    deletion_timestamp: str | None = None
    deletion_grace_period_seconds: int | None = None
    labels: dict[str, str] | None = None
    annotations: dict[str, str] | None = None
    owner_references: list[OwnerReference] | None = Field(
        default=None, json_schema_extra=list_map("uid"))
    finalizers: list[str] | None = Field(default=None, json_schema_extra=list_set())
    managed_fields: list[ManagedFieldsEntry] | None = Field(
        default=None, json_schema_extra=list_atomic())


class ListMeta(KubeModel):
    resource_version: str | None = None
    continue_: str | None = Field(default=None, alias="continue")
    remaining_item_count: int | None = None


class TypeMeta(KubeModel):
    api_version: str | None = None
    kind: str | None = None


class KubeObject(TypeMeta):
    """A top-level object: `apiVersion`, `kind`, `metadata`; subclass it with `spec`/`status`.

    (Across the REST seam an object is a plain dict, `registry.rest.Object`.)"""

    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
