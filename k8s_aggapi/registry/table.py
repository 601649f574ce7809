"""Server-side Table output: the default Name / Created At columns plus declared ones."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from k8s_aggapi.api import TableColumn
from k8s_aggapi.registry.rest import Object

NAME_DESCRIPTION = (
    "Name must be unique within a namespace. Is required when creating resources, although some "
    "resources may allow a client to request the generation of an appropriate name "
    "automatically. Name is primarily intended for creation idempotence and configuration "
    "definition. Cannot be updated. More info: "
    "https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names"
)
CREATED_DESCRIPTION = (
    "CreationTimestamp is a timestamp representing the server time when this object was created. "
    "It is not guaranteed to be set in happens-before order across separate operations. Clients "
    "may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by "
    "the system. Read-only. Null for lists. More info: "
    "https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata"
)

DEFAULT_COLUMNS = (
    TableColumn("Name", lambda o: o.get("metadata", {}).get("name", ""), "string", "name",
                NAME_DESCRIPTION),
    TableColumn("Created At", lambda o: o.get("metadata", {}).get("creationTimestamp"), "date",
                "", CREATED_DESCRIPTION),
)


def partial_metadata(obj: Object) -> Object:
    return {
        "kind": "PartialObjectMetadata",
        "apiVersion": "meta.k8s.io/v1",
        "metadata": obj.get("metadata", {}),
    }


class DefaultTableConvertor:
    """Builds `meta.k8s.io/v1` Tables; `include_object` is None, Metadata or Object."""

    def __init__(self, columns: Sequence[TableColumn] = ()) -> None:
        self.columns = (*DEFAULT_COLUMNS, *columns)

    def column_definitions(self) -> list[dict[str, Any]]:
        return [
            {"name": c.name, "type": c.type, "format": c.format,
             "description": c.description, "priority": c.priority}
            for c in self.columns
        ]

    def convert_to_table(
        self,
        objects: list[Object],
        *,
        list_rv: str = "",
        include_object: str = "Metadata",
        headers: bool = True,
        list_meta: dict[str, Any] | None = None,
    ) -> Object:
        rows = []
        for obj in objects:
            row: dict[str, Any] = {"cells": [c.value(obj) for c in self.columns]}
            if include_object == "Object":
                row["object"] = obj
            elif include_object != "None":
                row["object"] = partial_metadata(obj)
            rows.append(row)
        meta = dict(list_meta or {})
        if list_rv:
            meta["resourceVersion"] = list_rv
        table: Object = {"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": meta}
        table["columnDefinitions"] = self.column_definitions() if headers else None
        table["rows"] = rows
        return table
