"""Models with merge declarations, shared by the patching tests."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from k8s_aggapi.models.base import KubeModel
from k8s_aggapi.models.lists import list_map, list_set, map_atomic
from k8s_aggapi.models.meta import KubeObject


class Port(KubeModel):
    name: str
    port: int | None = None
    protocol: str | None = None
    other: str | None = None


class Child(KubeModel):
    name: str
    value: str | None = None
    other: str | None = None


class Spec(KubeModel):
    reference: str | None = None
    size: int | None = None
    ports: list[Port] | None = Field(default=None, json_schema_extra=list_map("name"))
    pairs: list[Port] | None = Field(default=None, json_schema_extra=list_map("name", "protocol"))
    tags: list[str] | None = Field(default=None, json_schema_extra=list_set())
    args: list[str] | None = None
    children: list[Child] | None = Field(default=None,
                                         json_schema_extra=list_map("name", retain_keys=True))
    selector: dict[str, str] | None = None
    blob: dict[str, Any] | None = None
    whole: Port | None = Field(default=None, json_schema_extra=map_atomic())


class Thing(KubeObject):
    spec: Spec | None = None
