"""Decoding a body against its pydantic model as Go's strict JSON decoder does: wrong JSON
types refused in Go's words, `null` fields left at their zero value, and the unknown and
duplicate fields listed with upstream's paths for fieldValidation (Strict, Warn, Ignore).
"""

from __future__ import annotations

import enum
import functools
import json
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Union

import orjson
from pydantic import BaseModel


class Kind(enum.Enum):
    STRING = "string"
    INT = "int64"
    FLOAT = "float64"
    BOOL = "bool"
    ANY = "interface {}"
    MODEL = "struct"
    LIST = "[]"
    MAP = "map[string]"


MAX_STRICT_ERRORS = 100  # as Go's decoder keeps: a body cannot make its answer huge
_INT64 = -(2**63)
_NESTED = frozenset({Kind.MODEL, Kind.LIST, Kind.MAP})
_TYPES: dict[Kind, frozenset[type]] = {
    Kind.STRING: frozenset({str}), Kind.INT: frozenset({int}),
    Kind.FLOAT: frozenset({int, float}), Kind.BOOL: frozenset({bool}),
    Kind.ANY: frozenset({str, int, float, bool, list, dict}),
    Kind.MODEL: frozenset({dict}), Kind.LIST: frozenset({list}), Kind.MAP: frozenset({dict}),
}


@dataclass(frozen=True, eq=False)
class Node:
    """What the model expects at one place of the body."""

    kind: Kind
    model: type[BaseModel] | None = None
    item: Node | None = None

    def __post_init__(self) -> None:
        # precomputed for the walk: the Python types of the JSON values that fit (exact: a
        # bool is no integer), whether to look further (an int64's range too), and the
        # types of scalar items
        object.__setattr__(self, "types", _TYPES[self.kind])
        object.__setattr__(self, "nested", self.kind in _NESTED or self.kind is Kind.INT)
        leaf = self.item is not None and not self.item.nested
        object.__setattr__(self, "item_types", self.item.types if leaf and self.item else None)

    types: frozenset[type] = field(init=False, repr=False)
    nested: bool = field(init=False, repr=False)
    item_types: frozenset[type] | None = field(init=False, repr=False)

    def go_type(self) -> str:
        if self.kind is Kind.MODEL and self.model is not None:
            return go_struct_name(self.model)
        if self.kind in (Kind.LIST, Kind.MAP) and self.item is not None:
            return str(self.kind.value) + self.item.go_type()
        return self.kind.value


class DecodeError(Exception):
    """A JSON value of the wrong type; `str()` is Go's encoding/json message."""

    def __init__(self, value: Any, struct: str, field: str, go_type: str, *,
                 integer: bool = False) -> None:
        what = json_kind(value)
        if integer and what == "number":  # Go names the number it could not parse
            what = f"number {value}"
        super().__init__(
            f"json: cannot unmarshal {what} into Go struct field {struct}.{field} "
            f"of type {go_type}")


def go_struct_name(model: type[BaseModel]) -> str:
    """`v1alpha1.FlunderSpec`: the model's module stands for the Go package (meta is `v1`)."""
    package = model.__module__.rsplit(".", 1)[-1]
    return f"{'v1' if package == 'meta' else package}.{model.__name__}"


def json_kind(value: Any) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, list):
        return "array"
    return "object"


_ANY = Node(Kind.ANY)
_SCALARS = {str: Kind.STRING, bool: Kind.BOOL, int: Kind.INT, float: Kind.FLOAT}


def _node(annotation: Any) -> Node:
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _node(typing.get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        options = [a for a in typing.get_args(annotation) if a is not type(None)]
        return _node(options[0]) if len(options) == 1 else _ANY
    if origin is list:
        (item,) = typing.get_args(annotation) or (Any,)
        return Node(Kind.LIST, item=_node(item))
    if origin is dict:
        args = typing.get_args(annotation)
        return Node(Kind.MAP, item=_node(args[1]) if args else _ANY)
    if origin is typing.Literal:
        values = typing.get_args(annotation)
        return Node(Kind.STRING) if all(isinstance(v, str) for v in values) else _ANY
    if isinstance(annotation, type):
        if issubclass(annotation, BaseModel):
            return Node(Kind.MODEL, model=annotation)
        for base, kind in _SCALARS.items():
            if issubclass(annotation, base):
                return Node(kind)
    return _ANY


@functools.cache
def fields_of(model: type[BaseModel]) -> Mapping[str, Node]:
    """The wire names of a model's fields (aliases, and the names when they differ)."""
    fields: dict[str, Node] = {}
    for name, info in model.model_fields.items():
        node = _node(info.annotation)
        fields[info.alias or name] = node
        if model.model_config.get("validate_by_name") and name not in fields:
            fields[name] = node
    return fields


class _Walk:
    """One pass over a body: `path` is the place as upstream prints it (`spec.items[0].foo`),
    `fields` Go's error context (the JSON field names only)."""

    def __init__(self) -> None:
        self.unknown: list[str] = []
        self.path: list[str] = []
        self.fields: list[str] = []

    def where(self, key: str) -> str:
        return "".join(self.path)[1:] + "." + key if self.path else key

    def refuse(self, node: Node, value: Any, struct: type[BaseModel]) -> DecodeError:
        return DecodeError(value, struct.__name__, ".".join(self.fields), node.go_type(),
                           integer=node.kind is Kind.INT)

    def struct(self, model: type[BaseModel], obj: dict[str, Any]) -> None:
        known = fields_of(model)
        nulls = []
        for key, value in obj.items():
            node = known.get(key)
            if node is None:
                if len(self.unknown) < MAX_STRICT_ERRORS:
                    self.unknown.append(self.where(key))
            elif value is None:  # Go leaves the field at its zero value
                nulls.append(key)
            elif node.nested or type(value) not in node.types:
                self.path.append("." + key)
                self.fields.append(key)
                self.value(node, value, model)
                self.fields.pop()
                self.path.pop()
        for key in nulls:
            del obj[key]

    def value(self, node: Node, value: Any, struct: type[BaseModel]) -> None:
        if type(value) not in node.types or (
                node.kind is Kind.INT and not _INT64 <= value < -_INT64):
            raise self.refuse(node, value, struct)
        item = node.item
        if node.item_types is not None:  # scalars, the common case: one loop, no descent
            values = value if node.kind is Kind.LIST else value.values()
            types = node.item_types
            if all(type(element) in types for element in values):
                return
        if node.kind is Kind.MODEL and node.model is not None:
            self.struct(node.model, value)
        elif node.kind is Kind.LIST and item is not None and item.kind is not Kind.ANY:
            for index, element in enumerate(value):
                if element is None:  # an item, unlike a field, stays: at its zero value
                    value[index] = element = _zero(item)
                self.path.append(f"[{index}]")
                self.value(item, element, struct)
                self.path.pop()
        elif node.kind is Kind.MAP and item is not None and item.kind is not Kind.ANY:
            for key, element in value.items():
                if element is None:
                    value[key] = element = _zero(item)
                self.path.append("." + key)
                self.value(item, element, struct)
                self.path.pop()


def decode(model: type[BaseModel], obj: dict[str, Any]) -> list[str]:
    """Check `obj` against `model` in place (null fields dropped); the paths of its unknown
    fields. Raises DecodeError on a JSON value of the wrong type, as Go's decoder does."""
    walk = _Walk()
    walk.struct(model, obj)
    return walk.unknown


_ZEROS: dict[Kind, Any] = {Kind.STRING: "", Kind.INT: 0, Kind.FLOAT: 0, Kind.BOOL: False}


def _zero(node: Node) -> Any:
    """Go's zero value of a type, as a JSON value (null where Go has a nil)."""
    if node.kind is Kind.MODEL:
        return {}
    return _ZEROS.get(node.kind)



# duplicate fields ---------------------------------------------------------------------
class _Pairs(dict[str, Any]):
    duplicates: list[str]


def _pairs(pairs: list[tuple[str, Any]]) -> _Pairs:
    result = _Pairs(pairs)
    result.duplicates = [] if len(result) == len(pairs) else _repeated(pairs)
    return result


def _repeated(pairs: list[tuple[str, Any]]) -> list[str]:
    seen: set[str] = set()
    repeated = []
    for key, _ in pairs:
        if key in seen:
            repeated.append(key)
        seen.add(key)
    return repeated


def duplicate_fields(raw: bytes, decoded: Any) -> list[str]:
    """The paths of the keys `raw` repeats (the decoded value keeps the last). Each key is
    followed by one colon, and orjson writes a colon inside a string as itself: when `raw` has
    as many colons as the decoded value written again, nothing repeats (an escaped colon,
    `\\u003a`, would hide from the count, so such a body is always decoded a second time)."""
    if b"\\u003" not in raw and raw.count(b":") == orjson.dumps(decoded).count(b":"):
        return []
    found: list[str] = []
    _collect(json.loads(raw, object_pairs_hook=_pairs), "", found)
    return found[:MAX_STRICT_ERRORS]


def _collect(value: Any, path: str, found: list[str]) -> None:
    if isinstance(value, _Pairs):
        found.extend(f"{path}.{key}" if path else key for key in value.duplicates)
        for key, item in value.items():
            _collect(item, f"{path}.{key}" if path else key, found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _collect(item, f"{path}[{index}]", found)


JSON_PATCH_FIELDS = frozenset({"op", "path", "from", "value"})


def json_patch_fields(operations: Any) -> list[str]:
    """Unknown fields of JSON patch operations, as upstream decodes them strictly."""
    if not isinstance(operations, list):
        return []
    return [f"[{i}].{key}" for i, op in enumerate(operations) if isinstance(op, dict)
            for key in op if key not in JSON_PATCH_FIELDS]
