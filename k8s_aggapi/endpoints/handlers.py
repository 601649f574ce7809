"""The resource endpoint: one ASGI app for every `/apis/<group>/<version>/...` resource path.

It finds the resource from the parsed request info, checks the verb against what the storage
implements, and runs the handler: get, list, watch, create, update, patch, delete,
deletecollection. Objects travel as dicts and are written with orjson.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qs

from k8s_aggapi import context, errors
from k8s_aggapi.api import APIGroup, Resource
from k8s_aggapi.endpoints import decoding
from k8s_aggapi.endpoints import options as opts
from k8s_aggapi.endpoints.negotiation import JSON, Target, body_media_type, negotiate
from k8s_aggapi.endpoints.patch import (
    APPLY_PATCH,
    PATCH_TYPES,
    UNDECODABLE_PATCH,
    apply_patch,
    check_result,
    parse_apply,
)
from k8s_aggapi.endpoints.responses import (
    Receive,
    Send,
    parse_json,
    parse_object,
    read_body,
    send_json,
)
from k8s_aggapi.endpoints.watch import stream_watch
from k8s_aggapi.limits import DEFAULT_LIMITS, ServerLimits
from k8s_aggapi.patching import apply as ssa
from k8s_aggapi.patching import managedfields, schema
from k8s_aggapi.registry import rest
from k8s_aggapi.registry.selectors import FieldSelector
from k8s_aggapi.registry.store import now_rfc3339 as store_now
from k8s_aggapi.registry.table import DefaultTableConvertor, partial_metadata
from k8s_aggapi.registry.validation import is_dns1123_label
from k8s_aggapi.registry.watch import bookmark_object

_NEEDS_NAME = frozenset({"get", "update", "patch", "delete"})
_WRITE_OPTIONS = {"create": "CreateOptions", "update": "UpdateOptions", "patch": "PatchOptions"}


class ResourceEndpoint:
    """ASGI app serving all resources of `groups` (discovery lives in `discovery.py`)."""

    def __init__(
        self, groups: Sequence[APIGroup], limits: ServerLimits = DEFAULT_LIMITS
    ) -> None:
        self.limits = limits
        # the verbs are found once: runtime protocol checks are too slow for every request
        self.resources: dict[tuple[str, str, str], tuple[Resource, frozenset[str]]] = {}
        for group in groups:
            for version in group.versions:
                for plural, resource in version.resources.items():
                    key = (group.name, version.name, plural)
                    self.resources[key] = (resource, frozenset(resource.verbs))

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        info = context.request_info(scope)
        found = self.resources.get((info.api_group, info.api_version, info.resource))
        if found is None or not info.is_resource_request or info.subresource:
            raise errors.PathNotFound()
        resource, verbs = found
        namespaced = resource.info.namespaced
        if (info.namespace and not namespaced) or (
            namespaced and not info.namespace and info.verb not in ("list", "watch")
        ):
            raise errors.PathNotFound()
        verb = info.verb
        # POST to an item, or PUT/PATCH to a collection, is no route upstream either
        if (verb == "create" and info.name) or (verb in _NEEDS_NAME and not info.name):
            raise errors.MethodNotAllowed()
        if verb not in verbs:
            raise errors.MethodNotAllowed()
        if info.namespace and not is_dns1123_label(info.namespace):
            _no_such_namespace(resource, verb, info.namespace, info.name)
        raw_query: bytes = scope.get("query_string", b"")
        query = parse_qs(raw_query.decode(), keep_blank_values=True) if raw_query else {}
        ctx = rest.RequestContext(info.namespace, scope.get(context.USER))
        handler = Handler(resource, ctx, scope, receive, send, query, self.limits)
        await getattr(handler, verb)(info.name)


def _no_such_namespace(resource: Resource, verb: str, namespace: str, name: str) -> None:
    """A namespace that is no DNS label cannot exist: answer, before any storage access, what
    kube-apiserver answers there (NamespaceLifecycle refuses the create; reads find nothing)."""
    if verb == "create":
        raise errors.NotFound(errors.GroupResource("", "namespaces"), namespace)
    if name:
        raise errors.NotFound(resource.group_resource, name)


def _header(scope: dict[str, Any], name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _json_type(value: Any) -> str:
    """The JSON type's name as Go's json.UnmarshalTypeError gives it."""
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    return "array" if isinstance(value, list) else "string"


class Handler:
    """One request against one resource; a method per verb."""

    def __init__(self, resource: Resource, ctx: rest.RequestContext, scope: dict[str, Any],
                 receive: Receive, send: Send, query: dict[str, list[str]],
                 limits: ServerLimits = DEFAULT_LIMITS) -> None:
        self.resource, self.ctx, self.scope = resource, ctx, scope
        self.limits = limits
        self.receive, self.send, self.query = receive, send, query
        self.storage: Any = resource.storage
        self.accept = _header(scope, b"accept")

    def _table(self) -> DefaultTableConvertor:
        if isinstance(self.storage, rest.TableConvertor) and hasattr(
            self.storage, "column_definitions"
        ):
            return self.storage  # type: ignore[return-value]
        return DefaultTableConvertor(self.resource.info.columns)

    def _include_object(self) -> str:
        value = opts.first(self.query, "includeObject", "Metadata")
        if value not in ("None", "Metadata", "Object"):
            raise errors.BadRequest(
                f'includeObject: Unsupported value: "{value}": supported values: "None", '
                '"Metadata", "Object"'
            )
        return value

    def _shape(self, obj: rest.Object) -> rest.Object:
        target = negotiate(self.accept, is_list=False)
        if target is Target.TABLE:
            return self._table().convert_to_table([obj], include_object=self._include_object())
        if target is Target.PARTIAL:
            return partial_metadata(obj)
        return obj

    def _with_dry_run(self) -> None:
        verb = context.request_info(self.scope).verb
        if opts.dry_run(self.query, _WRITE_OPTIONS.get(verb, "CreateOptions")):
            self.ctx = rest.RequestContext(self.ctx.namespace, self.ctx.user, True)

    def _with_field_manager(self) -> None:
        """Who writes, for managedFields: `fieldManager`, else the User-Agent's product."""
        manager = opts.first(self.query, "fieldManager") or managedfields.manager_from_user_agent(
            _header(self.scope, b"user-agent"))
        self.ctx = dataclasses.replace(self.ctx, field_manager=manager)

    def _field_validation(self) -> str:
        return decoding.directive(opts.first(self.query, "fieldValidation"))

    def _decode(self, body: dict[str, Any], raw: bytes) -> list[tuple[bytes, bytes]]:
        """Decode a create or update body as upstream's strict decoder; Warning headers."""
        version = self.resource.api_version.rpartition("/")[2]
        return decoding.decode_body(self.resource.info.model, body, raw,
                                    self._field_validation(), self.resource.info.kind, version)

    async def _body(self, allowed: tuple[str, ...] = (JSON,)) -> tuple[str, bytes]:
        media = body_media_type(_header(self.scope, b"content-type"), allowed)
        return media, await read_body(self.receive, self.limits.max_body_bytes)

    # verbs ----------------------------------------------------------------
    async def get(self, name: str) -> None:
        target = negotiate(self.accept, is_list=False)  # 406 before any work
        obj = await self.storage.get(self.ctx, name)
        if target is not Target.OBJECT:
            obj = self._shape(obj)
        await send_json(self.send, 200, obj)

    def _list_options(self, name: str, *, watch: bool = False) -> rest.ListOptions:
        """ListOptions of a list or watch; a name (from the path, or the field selector through
        request info) narrows it to that one object, as upstream's ListResource does."""
        options = opts.list_options(self.query, self.resource.info.field_selectors, watch=watch)
        if not name:
            return options
        selector = options.field_selector
        if selector.empty():
            selector = FieldSelector.one_term("metadata.name", name, selector.getters)
        elif selector.requires_exact("metadata.name") != name:
            raise errors.BadRequest("fieldSelector metadata.name doesn't match requested name")
        return dataclasses.replace(options, field_selector=selector)

    async def list(self, name: str) -> None:
        target = negotiate(self.accept, is_list=True)
        options = self._list_options(name)
        result: rest.ObjectList = await self.storage.list(self.ctx, options)
        meta: dict[str, Any] = {"resourceVersion": result.resource_version}
        if result.continue_token:
            meta["continue"] = result.continue_token
        if result.remaining_item_count is not None:
            meta["remainingItemCount"] = result.remaining_item_count
        if target is Target.TABLE:
            table_meta = {k: v for k, v in meta.items() if k != "resourceVersion"}
            body = self._table().convert_to_table(
                result.items, list_rv=result.resource_version,
                include_object=self._include_object(), list_meta=table_meta)
        elif target is Target.PARTIAL:
            body = {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                    "metadata": meta, "items": [partial_metadata(o) for o in result.items]}
        else:
            body = {"kind": self.resource.info.list_kind, "apiVersion": self.resource.api_version,
                    "metadata": meta, "items": result.items}
        await send_json(self.send, 200, body)

    async def watch(self, name: str) -> None:
        target = negotiate(self.accept, is_list=True)
        options = self._list_options(name, watch=True)
        include = self._include_object()
        table = self._table()

        def transform(obj: rest.Object) -> rest.Object:
            if target is Target.TABLE:
                return table.convert_to_table([obj], include_object=include)
            if target is Target.PARTIAL:
                return partial_metadata(obj)
            return obj

        kind, api_version = self.resource.info.kind, self.resource.api_version

        def bookmark(rv: str) -> rest.Object:
            return bookmark_object(kind, api_version, rv)

        events = self.storage.watch(self.ctx, options)
        await stream_watch(
            events, self.send, self.receive, transform=transform,
            bookmark=bookmark if options.allow_watch_bookmarks else None,
            duration=float(options.timeout_seconds) if options.timeout_seconds else None,
            queue_length=self.limits.watch_queue_length,
        )

    def _check_type(self, body: dict[str, Any]) -> None:
        api_version, kind = body.get("apiVersion"), body.get("kind")
        if api_version and api_version != self.resource.api_version:
            raise errors.BadRequest(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({self.resource.api_version})")
        if kind and kind != self.resource.info.kind:
            raise errors.BadRequest(
                f"the kind in the data ({kind}) does not match the expected kind "
                f"({self.resource.info.kind})")
        meta = body.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            # what Go's decoder says for a metadata that is no object (400, not a 500 here)
            own, version = self.resource.info.kind, self.resource.api_version.rsplit("/")[-1]
            raise errors.BadRequest(
                f'{own} in version "{version}" cannot be handled as a {own}: json: cannot '
                f"unmarshal {_json_type(meta)} into Go struct field {own}.metadata of type "
                "v1.ObjectMeta")

    async def create(self, name: str) -> None:
        target = negotiate(self.accept, is_list=False)
        _, raw = await self._body()
        body = parse_object(raw, self.limits.max_nesting_depth)
        self._check_type(body)
        self._with_dry_run()
        self._with_field_manager()
        warnings = self._decode(body, raw)
        created = await self.storage.create(self.ctx, body)
        body = created if target is Target.OBJECT else self._shape(created)
        await send_json(self.send, 201, body, warnings)

    async def update(self, name: str) -> None:
        negotiate(self.accept, is_list=False)
        _, raw = await self._body()
        body = parse_object(raw, self.limits.max_nesting_depth)
        self._check_type(body)
        self._with_dry_run()
        self._with_field_manager()
        warnings = self._decode(body, raw)
        obj, created = await self.storage.update(self.ctx, name, body)
        await send_json(self.send, 201 if created else 200, self._shape(obj), warnings)

    async def patch(self, name: str) -> None:
        negotiate(self.accept, is_list=False)
        media, raw = await self._body(PATCH_TYPES)
        if media == APPLY_PATCH:
            await self._apply(name, raw)
            return
        patch = parse_json(raw, self.limits.max_nesting_depth, UNDECODABLE_PATCH)
        self._with_dry_run()
        self._with_field_manager()
        how = self._field_validation()
        model_schema = schema.of_model(self.resource.info.model)
        before = decoding.patch_problems(media, patch, raw, how)
        warnings: list[tuple[bytes, bytes]] = []

        def patched_from(current: rest.Object) -> rest.Object:
            patched = apply_patch(media, current, patch, self.limits, model_schema)
            # decoded as upstream decodes the patched object: the last attempt's warnings count
            warnings[:] = decoding.decode_patched(self.resource.info.model, patched, before, how)
            meta = patched.get("metadata")
            if not isinstance(meta, dict):
                raise errors.BadRequest("the patched object has no metadata")
            patch_meta = patch.get("metadata") if isinstance(patch, dict) else None
            if not isinstance(patch_meta, dict) or "resourceVersion" not in patch_meta:
                meta["resourceVersion"] = current["metadata"].get("resourceVersion")
            self._check_type(patched)
            return patched

        if getattr(self.storage, "read_modify_write", False):
            # the store re-applies the patch to whatever is current when it loses a race
            obj, _ = await self.storage.update(self.ctx, name, patched_from)
        else:
            current = await self.storage.get(self.ctx, name)
            obj, _ = await self.storage.update(self.ctx, name, patched_from(current))
        await send_json(self.send, 200, self._shape(obj), warnings)

    async def _apply(self, name: str, raw: bytes) -> None:
        """Server-side apply: merge the configuration as its manager (conflicts are 409s),
        creating the object when there is none (201)."""
        manager = opts.first(self.query, "fieldManager")
        if not manager:
            raise errors.Invalid("PatchOptions", "meta.k8s.io", "", [errors.field_required(
                "fieldManager", "is required for apply patch")])
        force = bool(opts.query_bool(self.query, "force"))
        query = {k: v for k, v in self.query.items() if k != "force"}
        if opts.dry_run(query, "PatchOptions"):
            self.ctx = dataclasses.replace(self.ctx, dry_run=True)
        config = parse_apply(raw, self.limits)
        self._check_type(config)
        for field in ("kind", "apiVersion"):
            if not config.get(field):
                shown = raw.decode(errors="replace")[:1024]
                raise errors.BadRequest(f"Object '{field[0].upper()}{field[1:]}' is missing in "
                                        f"'{shown}'")
        meta = config.get("metadata") or {}
        if meta.get("managedFields") is not None:
            raise errors.BadRequest("metadata.managedFields must be nil")
        if meta.get("name") and meta["name"] != name:
            raise errors.BadRequest(f"the name of the object ({meta['name']}) does not match "
                                    f"the name on the URL ({name})")
        how = self._field_validation()
        model, api_version = self.resource.info.model, self.resource.api_version
        model_schema = schema.of_model(model)
        warnings: list[tuple[bytes, bytes]] = []

        def applied_from(current: rest.Object | None) -> rest.Object:
            result = ssa.apply(current, config, manager, api_version, store_now(),
                               model_schema, force=force)
            warnings[:] = decoding.decode_patched(model, result, [], how)
            check_result(result, self.limits)
            self._check_type(result)
            if current is not None and "resourceVersion" not in meta:
                result["metadata"]["resourceVersion"] = current["metadata"].get(
                    "resourceVersion")
            return result

        self.ctx = dataclasses.replace(self.ctx, field_manager=None)  # apply records its own
        for _ in range(3):
            try:
                if getattr(self.storage, "read_modify_write", False):
                    obj, _ = await self.storage.update(self.ctx, name, applied_from)
                else:
                    current = await self.storage.get(self.ctx, name)
                    obj, _ = await self.storage.update(self.ctx, name, applied_from(current))
                await send_json(self.send, 200, self._shape(obj), warnings)
                return
            except errors.NotFound as exc:
                if exc.details.get("name") != name or exc.details.get("kind") != (
                        self.resource.info.plural):
                    raise
            new = applied_from(None)
            new["metadata"] = {**new["metadata"], "name": name}
            try:
                created = await self.storage.create(self.ctx, new)
            except errors.AlreadyExists:
                continue  # created meanwhile: apply to what is there now
            await send_json(self.send, 201, self._shape(created), warnings)
            return
        raise errors.Conflict(self.resource.group_resource, name, errors.OBJECT_MODIFIED)

    async def _delete_options(self) -> rest.DeleteOptions:
        """DeleteOptions from the body, or the query when there is no body; sets dry run."""
        raw = await read_body(self.receive, self.limits.max_body_bytes)
        body = parse_object(raw, self.limits.max_nesting_depth) if raw.strip() else None
        options = opts.delete_options(self.query, body, (self.resource.api_version,))
        if options.dry_run:
            self.ctx = rest.RequestContext(self.ctx.namespace, self.ctx.user, True)
        return options

    async def delete(self, name: str) -> None:
        options = await self._delete_options()
        obj, gone = await self.storage.delete(self.ctx, name, options)
        if not gone:
            await send_json(self.send, 200, self._shape(obj))
            return
        details = {"name": name, "kind": self.resource.info.plural,
                   "uid": obj.get("metadata", {}).get("uid", "")}
        if self.resource.group:
            details["group"] = self.resource.group
        await send_json(self.send, 200, {
            "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
            "details": details,
        })

    async def deletecollection(self, name: str) -> None:
        list_options = opts.list_options(self.query, self.resource.info.field_selectors)
        options = await self._delete_options()
        result = await self.storage.delete_collection(self.ctx, options, list_options)
        await send_json(self.send, 200, {
            "kind": self.resource.info.list_kind, "apiVersion": self.resource.api_version,
            "metadata": {"resourceVersion": result.resource_version}, "items": result.items,
        })
