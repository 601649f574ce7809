"""A model's merge semantics, read from its JSON schema: what strategic merge patch and apply
need to know about each field (struct, map, list and its keys, scalar or free-form).

The declarations are the OpenAPI extensions of `k8s_aggapi.models.lists`; a list declared
with nothing is atomic and a free-form value (no schema, or preserve-unknown-fields) is
"deduced" as upstream's structured-merge-diff does: objects merged, lists atomic.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson
from pydantic import BaseModel

from k8s_aggapi.models import lists

Kind = Literal["struct", "map", "list", "scalar", "any"]
_DEFS = "#/$defs/"


@dataclass(frozen=True, eq=False)
class Schema:
    """One node of a model's schema; children are resolved lazily (models may recurse)."""

    raw: dict[str, Any]
    defs: dict[str, Any] = field(repr=False)
    _children: dict[str, Schema] = field(default_factory=dict, repr=False, compare=False)

    @functools.cached_property
    def _body(self) -> dict[str, Any]:
        return _resolve(self.raw, self.defs)

    @functools.cached_property
    def kind(self) -> Kind:
        body = self._body
        kind = body.get("type")
        if kind == "array":
            return "list"
        if kind == "object":
            if "properties" in body:
                return "struct"
            extra = body.get("additionalProperties")
            return "map" if isinstance(extra, dict) and extra else "any"
        if kind in ("string", "integer", "number", "boolean"):
            return "scalar"
        return "any"

    # lists ------------------------------------------------------------------
    @functools.cached_property
    def list_type(self) -> str:
        """atomic | set | map (structured-merge-diff's element relationship)."""
        if self.kind != "list":
            return "atomic"
        return str(self._body.get(lists.LIST_TYPE, "atomic"))

    @functools.cached_property
    def keys(self) -> tuple[str, ...]:
        return tuple(self._body.get(lists.LIST_MAP_KEYS) or ())

    @functools.cached_property
    def strategies(self) -> frozenset[str]:
        """The strategic merge patch strategies (merge, retainKeys, replace)."""
        value = self._body.get(lists.PATCH_STRATEGY) or ""
        return frozenset(s for s in str(value).split(",") if s)

    @property
    def merge_key(self) -> str | None:
        key = self._body.get(lists.PATCH_MERGE_KEY)
        return str(key) if key else None

    @functools.cached_property
    def atomic_map(self) -> bool:
        return self._body.get(lists.MAP_TYPE) == "atomic"

    def item(self) -> Schema:
        found = self._children.get("[]")
        if found is None:
            items = self._body.get("items")
            found = self._children["[]"] = Schema(items if isinstance(items, dict) else {},
                                                  self.defs)
        return found

    # objects ----------------------------------------------------------------
    def declares(self, name: str) -> bool:
        return self.kind == "struct" and name in self._body["properties"]

    def field(self, name: str) -> Schema:
        """The schema of an object's field `name` (free-form when unknown)."""
        key = "." + name
        found = self._children.get(key)
        if found is not None:
            return found
        body = self._body
        if self.kind == "struct" and name in body["properties"]:
            found = Schema(body["properties"][name], self.defs)
        else:
            extra = body.get("additionalProperties")
            key = "*"  # every undeclared field shares one schema
            found = self._children.get(key) or Schema(
                extra if isinstance(extra, dict) else {}, self.defs)
        self._children[key] = found
        return found


ANY = Schema({}, {})


def _resolve(raw: dict[str, Any], defs: dict[str, Any]) -> dict[str, Any]:
    """`raw` with `$ref`, `allOf` of one and nullable `anyOf` folded in; the outer keys
    (where pydantic puts a field's `json_schema_extra`) win."""
    body = dict(raw)
    for _ in range(64):  # a chain of references, bounded
        ref = body.pop("$ref", None)
        if isinstance(ref, str) and ref.startswith(_DEFS):
            body = {**defs.get(ref[len(_DEFS):], {}), **body}
            continue
        union = body.pop("anyOf", None) or body.pop("oneOf", None)
        if isinstance(union, list):
            options = [o for o in union if o.get("type") != "null"]
            if len(options) == 1:
                body = {**options[0], **body}
                continue
            return {**body, "type": None}
        one = body.get("allOf")
        if isinstance(one, list) and len(one) == 1:
            del body["allOf"]
            body = {**one[0], **body}
            continue
        break
    if body.get(lists.LIST_TYPE) is None and "x-kubernetes-preserve-unknown-fields" in body:
        body.pop("type", None)
    return body


@functools.cache
def of_model(model: type[BaseModel] | None) -> Schema:
    """The schema of a resource's model (free-form without one), computed once."""
    if model is None:
        return ANY
    doc = model.model_json_schema(by_alias=True)
    defs = doc.pop("$defs", {})
    return Schema(doc, defs)


def of_json_schema(doc: dict[str, Any]) -> Schema:
    """A schema from a JSON schema document with `$defs` (tests, hand-written schemas)."""
    doc = dict(doc)
    defs = doc.pop("$defs", {})
    return Schema(doc, defs)


@functools.cache
def _zero(model: type[BaseModel]) -> bytes:
    try:
        zero = model.model_validate({}).model_dump(by_alias=True, exclude_none=True, mode="json")
    except ValueError:  # required fields: nothing to start from
        zero = {}
    return orjson.dumps({k: v for k, v in zero.items() if k not in ("apiVersion", "kind")})


def zero_object(model: type[BaseModel] | None) -> dict[str, Any]:
    """The empty object of a model (its defaults: `spec: {}` where spec has a default), what
    a create is compared against, as upstream's typed field manager compares a new object
    against the zero value of its Go type. Free-form without a model. A fresh copy."""
    import orjson
    return dict(orjson.loads(_zero(model))) if model is not None else {}
