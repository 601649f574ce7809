"""Pydantic models -> OpenAPI definitions named and shaped like kube-apiserver's.

`model_json_schema`-style output (JSON Schema 2020-12) is narrowed to what Swagger 2.0 and
OpenAPI 3.0 both accept: no titles, no `null` branches, numeric exclusive bounds become
booleans, enums and other non-object `$defs` are inlined, and the meta/v1 models point at the
upstream `io.k8s.apimachinery.pkg.apis.meta.v1.*` definitions. Object models are named
`<reversed group>.<version>.<Name>`, e.g. `com.example.wardle.v1alpha1.FlunderSpec`.
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import BaseModel
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue, models_json_schema
from pydantic_core import core_schema

from k8s_aggapi.models.meta import ListMeta, ManagedFieldsEntry, ObjectMeta, OwnerReference
from k8s_aggapi.openapi.meta import (
    LIST_META,
    LIST_META_DOC,
    META,
    OBJECT_META,
    OBJECT_META_DOC,
    REF_PREFIX,
    Schema,
    type_meta_docs,
)

_META_MODELS: dict[type[BaseModel], str] = {
    ObjectMeta: OBJECT_META,
    ListMeta: LIST_META,
    OwnerReference: META + "OwnerReference",
    ManagedFieldsEntry: META + "ManagedFieldsEntry",
}
_EXTERNAL = "x-aggapi-external-ref"  # marks a $def that stands for an upstream definition
_DEFS = "#/$defs/"
_KEPT = frozenset(
    {
        "type",
        "format",
        "description",
        "properties",
        "required",
        "items",
        "additionalProperties",
        "enum",
        "default",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "uniqueItems",
        "multipleOf",
        "minProperties",
        "maxProperties",
    }
)
GVK = "x-kubernetes-group-version-kind"
PRESERVE_UNKNOWN = "x-kubernetes-preserve-unknown-fields"


class _Generator(GenerateJsonSchema):
    """Stops at the meta/v1 models: they are referenced, never regenerated."""

    def model_schema(self, schema: core_schema.ModelSchema) -> JsonSchemaValue:
        name = _META_MODELS.get(schema["cls"])
        if name is not None:
            return {_EXTERNAL: name}
        return super().model_schema(schema)


def definition_prefix(group: str, version: str) -> str:
    """`wardle.example.com`, `v1alpha1` -> `com.example.wardle.v1alpha1.`"""
    if "." not in group:  # the core group and the other built-in ones: io.k8s.api.<group>
        parts = ["io", "k8s", "api", group or "core"]
    else:
        parts = [*reversed(group.split("."))]
    return ".".join([*parts, version]) + "."


def gvk(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "kind": kind, "version": version}


class _Cleaner:
    """Rewrites one pydantic `$defs` set into kube-style definitions."""

    def __init__(self, defs: dict[str, Schema], names: dict[str, str]) -> None:
        self.defs = defs
        self.names = names  # $defs key -> definition name, for object models
        self.inlining: set[str] = set()

    def ref(self, key: str) -> Schema:
        body = self.defs.get(key, {})
        if _EXTERNAL in body:
            return {"$ref": REF_PREFIX + body[_EXTERNAL]}
        if key in self.names:
            return {"$ref": REF_PREFIX + self.names[key]}
        if key in self.inlining:  # a recursive non-object type: leave it free-form
            return {PRESERVE_UNKNOWN: True}
        self.inlining.add(key)
        try:
            return self.clean(body)
        finally:
            self.inlining.discard(key)

    def clean(self, schema: Schema) -> Schema:
        s = dict(schema)
        if "default" in s and s["default"] is None:
            del s["default"]
        base: Schema = {}
        ref = s.pop("$ref", None)
        if isinstance(ref, str):
            base = self.ref(ref[len(_DEFS) :]) if ref.startswith(_DEFS) else {"$ref": ref}
        for union in ("anyOf", "oneOf"):
            if union in s:
                base = {**base, **self._union(s.pop(union))}
        if len(s.get("allOf", ())) == 1:
            base = {**base, **self.clean(s.pop("allOf")[0])}
        return {**base, **self._fields(s)}

    def _union(self, members: list[Schema]) -> Schema:
        options = [m for m in members if m.get("type") != "null"]
        if len(options) == 1:
            return self.clean(options[0])
        if {m.get("type") for m in options} == {"integer", "string"}:
            return {"type": "string", "format": "int-or-string"}  # as upstream's IntOrString
        return {PRESERVE_UNKNOWN: True}  # no common shape for kubectl to show

    def _fields(self, s: Schema) -> Schema:
        out: Schema = {}
        if isinstance(s.get("type"), list):
            kinds = [t for t in s.pop("type") if t != "null"]
            if len(kinds) == 1:
                out["type"] = kinds[0]
        if "const" in s and "enum" not in s:
            out["enum"] = [s["const"]]
        if "prefixItems" in s and "items" not in s:
            out["items"] = {}
        for key, value in s.items():
            if key.startswith("x-") and key != _EXTERNAL:
                out[key] = value
            elif key not in _KEPT:
                continue
            elif key == "properties":
                out[key] = {name: self.clean(prop) for name, prop in value.items()}
            elif key == "items" and isinstance(value, dict):
                out[key] = self.clean(value)
            elif key == "additionalProperties":
                if value is True or value == {}:
                    out[PRESERVE_UNKNOWN] = True
                elif isinstance(value, dict):
                    out[key] = self.clean(value)
            elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
                out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
                out[key] = True
            elif key == "required":
                if value:
                    out[key] = list(value)
            else:
                out[key] = value
        return out


def _is_object(schema: Schema) -> bool:
    return schema.get("type") == "object" and "properties" in schema


def model_definitions(
    models: Sequence[type[BaseModel]], prefix: str
) -> tuple[dict[type[BaseModel], str], dict[str, Schema]]:
    """Definitions for `models` and everything they use; returns each model's definition name
    (`prefix` + pydantic's unique `$defs` key) and the definitions by name."""
    unique = list(dict.fromkeys(m for m in models if m not in _META_MODELS))
    if not unique:
        return {}, {}
    refs, top = models_json_schema(
        [(m, "validation") for m in unique], by_alias=True, schema_generator=_Generator
    )
    defs: dict[str, Schema] = top.get("$defs", {})
    names = {key: prefix + key for key, body in defs.items() if _is_object(body)}
    for model in unique:  # a model with no fields is still an object definition
        key = refs[(model, "validation")]["$ref"][len(_DEFS) :]
        names.setdefault(key, prefix + key)
    cleaner = _Cleaner(defs, names)
    out = {name: cleaner.clean(defs[key]) for key, name in names.items()}
    roots = {m: names[refs[(m, "validation")]["$ref"][len(_DEFS) :]] for m in unique}
    return roots, out


def _type_meta() -> Schema:
    api_version_doc, kind_doc = type_meta_docs()
    return {
        "apiVersion": {"description": api_version_doc, "type": "string"},
        "kind": {"description": kind_doc, "type": "string"},
    }


def object_schema(base: Schema | None, group: str, version: str, kind: str) -> Schema:
    """A top-level kind: the model's schema (or a free-form object) with the standard
    apiVersion/kind/metadata and the GVK extension kubectl explain looks for."""
    s: Schema = dict(base) if base is not None else {PRESERVE_UNKNOWN: True}
    props = dict(s.get("properties", {}))
    metadata = props.pop("metadata", {})
    for name in ("apiVersion", "kind"):
        props.pop(name, None)
    s["type"] = "object"
    s["properties"] = {
        **_type_meta(),
        "metadata": {
            "description": metadata.get("description", OBJECT_META_DOC),
            "default": {},
            "$ref": REF_PREFIX + OBJECT_META,
        },
        **props,
    }
    required = [r for r in s.get("required", []) if r not in ("apiVersion", "kind", "metadata")]
    s.pop("required", None)
    if required:
        s["required"] = required
    s[GVK] = [gvk(group, version, kind)]
    return s


def list_schema(item_ref: str, group: str, version: str, kind: str, plural: str) -> Schema:
    list_kind = f"{kind}List"
    return {
        "description": f"{list_kind} is a list of {kind} objects.",
        "type": "object",
        "required": ["items"],
        "properties": {
            "apiVersion": _type_meta()["apiVersion"],
            "items": {
                "description": f"items is the list of {plural}.",
                "type": "array",
                "items": {"default": {}, "$ref": REF_PREFIX + item_ref},
            },
            "kind": _type_meta()["kind"],
            "metadata": {
                "description": LIST_META_DOC,
                "default": {},
                "$ref": REF_PREFIX + LIST_META,
            },
        },
        GVK: [gvk(group, version, list_kind)],
    }
