"""Server-side Table output: the default Name / Created At columns plus declared ones, and the
wire form of any convertor's Table (list metadata, row objects as `includeObject` asks)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from k8s_aggapi.registry.encoded import ListEncoding, Parts, around, partial_metadata, table_row
from k8s_aggapi.registry.info import TableColumn
from k8s_aggapi.registry.rest import Object, Table, TableConvertor, TableOptions

__all__ = ["CREATED_DESCRIPTION", "DEFAULT_COLUMNS", "INCLUDE_OBJECT", "NAME_DESCRIPTION",
           "DefaultTableConvertor", "list_table", "partial_metadata", "table_body"]

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


class DefaultTableConvertor(TableConvertor):
    """The Name and Created At columns, then the resource's declared ones."""

    def __init__(self, columns: Sequence[TableColumn] = ()) -> None:
        self.columns = (*DEFAULT_COLUMNS, *columns)
        self.definitions = tuple(c.definition for c in self.columns)
        self.wire_definitions = [c.to_wire() for c in self.definitions]

    def cells(self, obj: Object) -> list[Any]:
        return [c.value(obj) for c in self.columns]

    def convert_to_table(self, objects: Sequence[Object], options: TableOptions) -> Table:
        rows = [([c.value(obj) for c in self.columns], obj) for obj in objects]
        return Table(None if options.no_headers else self.definitions, rows)


INCLUDE_OBJECT = ("None", "Metadata", "Object")


def table_body(
    table: Table, *, include_object: str = "Metadata", list_meta: dict[str, Any] | None = None,
    headers: bool = True,
) -> Object:
    """The `meta.k8s.io/v1` Table on the wire; `include_object` is None, Metadata or Object."""
    rows = [table_row(cells, obj, include_object) for cells, obj in table.rows]
    return {
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": dict(list_meta or {}),
        "columnDefinitions": None if table.column_definitions is None
        else [c.to_wire() for c in table.column_definitions],
        "rows": rows,
    }


_WITH_HEADERS = TableOptions()


def list_table(convertor: TableConvertor, objects: list[Object], *, include_object: str,
               list_meta: dict[str, Any], encoding: ListEncoding | None) -> Object | Parts:
    """A list's Table. The default convertor's rows depend on each object alone, so they
    come encoded from `encoding` when the store keeps one; any other convertor's Table is
    built as `table_body` builds it."""
    if encoding is not None and type(convertor) is DefaultTableConvertor:
        return around({"kind": "Table", "apiVersion": "meta.k8s.io/v1",
                       "metadata": dict(list_meta),
                       "columnDefinitions": convertor.wire_definitions, "rows": []},
                      encoding.rows(objects, convertor, convertor.cells, include_object))
    table = convertor.convert_to_table(objects, _WITH_HEADERS)
    return table_body(table, include_object=include_object, list_meta=list_meta)
