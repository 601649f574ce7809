"""Whole OpenAPI documents: one OpenAPI 3.0 document per group version, one Swagger 2.0.

Definitions are built once in Swagger 2.0 form (`$ref` with sibling keys, as kube-openapi's
v2 builder writes them); the v3 writer moves refs to `#/components/schemas/` and wraps a
`$ref` that has siblings in `allOf`, as kube-openapi's builder3 does. Each document carries
only the definitions its paths reach.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from k8s_aggapi.api import APIGroup, APIVersion, DocumentedEndpoint, Resource, Subresource
from k8s_aggapi.openapi import meta, schemas
from k8s_aggapi.openapi.meta import Schema
from k8s_aggapi.openapi.paths import (
    Operation,
    Param,
    PathItem,
    discovery_path,
    endpoint_paths,
    resource_paths,
    subresource_paths,
)
from k8s_aggapi.openapi.schemas import GVK

V3_PREFIX = "#/components/schemas/"
SECURITY = {
    "BearerToken": {
        "type": "apiKey",
        "description": "Bearer Token authentication",
        "name": "authorization",
        "in": "header",
    }
}
_UNAUTHORIZED = {"description": "Unauthorized"}


class _GroupVersionSpec:
    """The paths and definitions of one group version."""

    def __init__(self, version: APIVersion, all_gvs: Sequence[tuple[str, str]]) -> None:
        resources = [version.resources[k] for k in sorted(version.resources)]
        prefix = schemas.definition_prefix(version.group, version.name)
        roots, nested = schemas.model_definitions(
            [r.info.model for r in resources if r.info.model is not None], prefix
        )
        bases = {model: nested[name] for model, name in roots.items()}
        # A model is published under the name of the first kind it serves.
        renames: dict[str, str] = {}
        for r in resources:
            if r.info.model is not None:
                renames.setdefault(roots[r.info.model], prefix + r.info.kind)
        for body in [*nested.values(), *bases.values()]:
            _rewrite_refs(
                body,
                {
                    meta.REF_PREFIX + old: meta.REF_PREFIX + new
                    for old, new in renames.items()
                    if old != new
                },
            )
        for old in renames:
            nested.pop(old, None)
        self.definitions = _meta_definitions(all_gvs)
        for r in resources:
            kind, name = r.info.kind, prefix + r.info.kind
            base = bases.get(r.info.model) if r.info.model is not None else None
            self.definitions.setdefault(name, schemas.object_schema(base, r.group, r.version, kind))
            self.definitions[prefix + r.info.list_kind] = schemas.list_schema(
                name, r.group, r.version, kind, r.info.plural
            )
        for name, body in nested.items():
            self.definitions.setdefault(name, body)
        path, item = discovery_path(version.group, version.name)
        self.paths: dict[str, PathItem] = {path: item}
        if isinstance(version.endpoint, DocumentedEndpoint):
            self.definitions.update(version.endpoint.openapi_definitions())
            self.paths.update(endpoint_paths(version.group, version.name,
                                             version.endpoint.openapi_operations()))
        for r in resources:
            ref, list_ref = prefix + r.info.kind, prefix + r.info.list_kind
            paths = [resource_paths(r, ref, list_ref)]
            for sub in (r.subresources[n] for n in sorted(r.subresources)):
                paths.append(subresource_paths(r, sub, self._subresource_ref(r, sub, ref)))
            for found in paths:
                for key, path_item in found.items():
                    self.paths.setdefault(key, PathItem()).operations.extend(
                        path_item.operations)

    def _subresource_ref(self, r: Resource, sub: Subresource, own: str) -> str:
        """The definition a subresource answers with: the resource's own, or its kind's
        (autoscaling/v1 Scale for `/scale`), added to this document's definitions."""
        if (sub.group, sub.version, sub.kind) == (r.group, r.version, r.info.kind):
            return own
        prefix = schemas.definition_prefix(sub.group, sub.version)
        ref = prefix + sub.kind
        if ref not in self.definitions:
            base = None
            if sub.model is not None:
                roots, nested = schemas.model_definitions([sub.model], prefix)
                base = nested.pop(roots[sub.model])
                for name, body in nested.items():
                    self.definitions.setdefault(name, body)
            self.definitions[ref] = schemas.object_schema(base, sub.group, sub.version, sub.kind)
        return ref


def _rewrite_refs(node: Any, renames: dict[str, str]) -> None:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str) and ref in renames:
            node["$ref"] = renames[ref]
        for value in node.values():
            _rewrite_refs(value, renames)
    elif isinstance(node, list):
        for value in node:
            _rewrite_refs(value, renames)


def _meta_definitions(all_gvs: Sequence[tuple[str, str]]) -> dict[str, Schema]:
    """meta/v1 definitions with the GVKs a generic server's scheme gives them."""
    defs = meta.definitions()
    for name, kind in ((meta.DELETE_OPTIONS, "DeleteOptions"), (meta.WATCH_EVENT, "WatchEvent")):
        gvks = [schemas.gvk("", "v1", kind), *(schemas.gvk(g, v, kind) for g, v in all_gvs)]
        defs[name][GVK] = sorted(gvks, key=lambda x: (x["group"], x["version"]))
    defs[meta.STATUS][GVK] = [schemas.gvk("", "v1", "Status")]
    defs[meta.API_RESOURCE_LIST][GVK] = [schemas.gvk("", "v1", "APIResourceList")]
    return defs


def _refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        ref = node.get("$ref")
        if isinstance(ref, str):
            yield ref.rsplit("/", 1)[-1]
        for value in node.values():
            yield from _refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _refs(value)


def _reachable(paths: dict[str, PathItem], definitions: dict[str, Schema]) -> dict[str, Schema]:
    todo = [
        name
        for item in paths.values()
        for op in item.operations
        for name in [*(ref for _, _, ref in op.responses), *([op.body.ref] if op.body else [])]
    ]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen or name not in definitions:
            continue
        seen.add(name)
        todo.extend(_refs(definitions[name]))
    return {name: definitions[name] for name in sorted(seen)}


def _wrap_refs(node: Any) -> Any:
    """Swagger 2.0 form -> OpenAPI 3.0 form, as builder3 writes it."""
    if isinstance(node, list):
        return [_wrap_refs(v) for v in node]
    if not isinstance(node, dict):
        return node
    out = {k: _wrap_refs(v) for k, v in node.items()}
    ref = out.pop("$ref", None)
    if isinstance(ref, str):
        target = V3_PREFIX + ref.removeprefix(meta.REF_PREFIX)
        if not out:
            return {"$ref": target}
        out["allOf"] = [{"$ref": target}]
    return out


def _v2_param(p: Param) -> Schema:
    out: Schema = {
        "uniqueItems": True,
        "type": p.type,
        "description": p.description,
        "name": p.name,
        "in": p.where,
    }
    if p.required:
        out["required"] = True
    return out


def _v3_param(p: Param) -> Schema:
    out: Schema = {"name": p.name, "in": p.where, "description": p.description}
    if p.required:
        out["required"] = True
    out["schema"] = {"type": p.type, "uniqueItems": True}
    return out


def _v2_operation(op: Operation, shared: list[Param]) -> Schema:
    params = [_v2_param(p) for p in op.params if p not in shared]
    if op.body is not None:
        body = {
            "name": "body",
            "in": "body",
            "required": op.body.required,
            "schema": {"$ref": meta.REF_PREFIX + op.body.ref},
        }
        params.insert(0, body)
    out: Schema = {
        "description": op.description,
        "consumes": list(op.body.content_types) if op.body else ["*/*"],
        "produces": list(op.produces),
        "schemes": ["https"],
        "tags": [op.tag],
        "operationId": op.operation_id,
    }
    if params:
        out["parameters"] = params
    out["responses"] = {
        **{
            code: {"description": text, "schema": {"$ref": meta.REF_PREFIX + ref}}
            for code, text, ref in op.responses
        },
        "401": _UNAUTHORIZED,
    }
    return _extensions(out, op)


def _v3_operation(op: Operation, shared: list[Param]) -> Schema:
    out: Schema = {"tags": [op.tag], "description": op.description, "operationId": op.operation_id}
    params = [_v3_param(p) for p in op.params if p not in shared]
    if params:
        out["parameters"] = params
    if op.body is not None:
        ref = {"schema": {"$ref": V3_PREFIX + op.body.ref}}
        out["requestBody"] = {"content": {ct: ref for ct in op.body.content_types}}
    out["responses"] = {
        **{
            code: {
                "description": text,
                "content": {ct: {"schema": {"$ref": V3_PREFIX + ref}} for ct in op.produces},
            }
            for code, text, ref in op.responses
        },
        "401": _UNAUTHORIZED,
    }
    return _extensions(out, op)


def _extensions(out: Schema, op: Operation) -> Schema:
    if op.action:
        out["x-kubernetes-action"] = op.action
    if op.gvk is not None:
        out["x-kubernetes-group-version-kind"] = dict(op.gvk)
    return out


def _write_paths(paths: dict[str, PathItem], v3: bool) -> Schema:
    out: Schema = {}
    for key in sorted(paths):
        item = paths[key]
        shared = item.shared_params()
        written: Schema = {}
        for op in item.operations:
            written[op.method] = _v3_operation(op, shared) if v3 else _v2_operation(op, shared)
        if shared:
            written["parameters"] = [_v3_param(p) if v3 else _v2_param(p) for p in shared]
        out[key] = written
    return out


def _all_gvs(groups: Sequence[APIGroup]) -> list[tuple[str, str]]:
    return [(g.name, v.name) for g in groups for v in g.versions]


def build_v3(
    groups: Sequence[APIGroup], group: str, version: str, *, title: str, info_version: str
) -> Schema:
    """The OpenAPI 3.0 document served at `/openapi/v3/apis/<group>/<version>`."""
    match = [v for g in groups if g.name == group for v in g.versions if v.name == version]
    if not match:
        raise KeyError(f"{group}/{version}")
    spec = _GroupVersionSpec(match[0], _all_gvs(groups))
    definitions = _reachable(spec.paths, spec.definitions)
    return {
        "openapi": "3.0.0",
        "info": {"title": title, "version": info_version},
        "paths": _write_paths(spec.paths, v3=True),
        "components": {
            "schemas": {name: _wrap_refs(body) for name, body in definitions.items()},
            "securitySchemes": SECURITY,
        },
    }


def build_v2(groups: Sequence[APIGroup], *, title: str, info_version: str) -> Schema:
    """The Swagger 2.0 document served at `/openapi/v2`: every group version at once."""
    gvs = _all_gvs(groups)
    paths: dict[str, PathItem] = {}
    definitions: dict[str, Schema] = {}
    for g in groups:
        for v in g.versions:
            spec = _GroupVersionSpec(v, gvs)
            paths.update(spec.paths)
            definitions.update(_reachable(spec.paths, spec.definitions))
    return {
        "swagger": "2.0",
        "info": {"title": title, "version": info_version},
        "paths": _write_paths(paths, v3=False),
        "definitions": dict(sorted(definitions.items())),
        "securityDefinitions": SECURITY,
        "security": [{"BearerToken": []}],
    }
