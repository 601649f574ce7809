"""What a resource is called and how it is shaped in one version: names, scope, model, columns,
field selectors and the subresources the generic store serves for it (status, scale).

Pure declarations, importable from anywhere below `api` (the store, tables, discovery).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from k8s_aggapi.storage.interface import Object


@dataclass(frozen=True)
class ColumnDefinition:
    """A Table column's header (`meta.k8s.io/v1` TableColumnDefinition)."""

    name: str
    type: str = "string"
    format: str = ""
    description: str = ""
    priority: int = 0  # 0 = shown by default, 1 = shown with -o wide

    def to_wire(self) -> dict[str, Any]:
        return {"name": self.name, "type": self.type, "format": self.format,
                "description": self.description, "priority": self.priority}


@dataclass(frozen=True)
class TableColumn:
    """A server-side Table column; `value` takes the object dict and returns the cell, from
    the object alone (a stored object's row is encoded once: `registry.encoded`)."""

    name: str
    value: Callable[[Object], Any]
    type: str = "string"
    format: str = ""
    description: str = ""
    priority: int = 0  # 0 = shown by default, 1 = shown with -o wide

    @property
    def definition(self) -> ColumnDefinition:
        return ColumnDefinition(self.name, self.type, self.format, self.description,
                                self.priority)


@dataclass(frozen=True)
class Scale:
    """The `/scale` subresource (autoscaling/v1 Scale), as a CustomResourceDefinition declares
    it: where the object keeps its desired and current replicas and its selector."""

    spec_replicas_path: str = ".spec.replicas"
    status_replicas_path: str = ".status.replicas"
    label_selector_path: str = ""  # empty: Scale.status.selector stays unset


@dataclass(frozen=True)
class Deprecation:
    """A deprecated kind of one version (upstream's `+k8s:prerelease-lifecycle-gen` tags):
    every response of the resource in that version carries upstream's Warning."""

    deprecated: tuple[int, int]
    removed: tuple[int, int] | None = None
    replacement: str = ""  # "<group>/<version> <Kind>"

    def warning(self, group_version: str, kind: str) -> str:
        """Word for word upstream's deprecation.WarningMessage."""
        major, minor = self.deprecated
        text = f"{group_version} {kind} is deprecated in v{major}.{minor}+"
        if self.removed is not None:
            text += f", unavailable in v{self.removed[0]}.{self.removed[1]}+"
        if self.replacement:
            text += f"; use {self.replacement}"
        return text


@dataclass(frozen=True)
class ResourceInfo:
    """What a resource is called and how it is shaped in one version.

    `status=True` serves `<plural>/status` (spec and status written apart); `scale` serves
    `<plural>/scale`. Both are served by the generic store (`APIVersion.add_store`).
    """

    kind: str
    plural: str
    model: type[BaseModel] | None = None
    singular: str = ""
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    columns: tuple[TableColumn, ...] = ()
    field_selectors: Mapping[str, Callable[[Object], str]] | None = None
    status: bool = False
    scale: Scale | None = None
    deprecation: Deprecation | None = None

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"
