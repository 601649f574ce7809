"""The resource endpoint: one ASGI app for every `/apis/<group>/<version>/...` resource path.

It finds the resource (or its subresource) from the parsed request info, checks the verb
against the capabilities its REST object declares, and runs the handler: get, list, watch,
create, update, patch, delete, deletecollection. Objects travel as dicts, written with orjson.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar
from urllib.parse import parse_qs

from k8s_aggapi import errors
from k8s_aggapi.admission import (
    EMPTY,
    Chain,
    GroupVersionKind,
    GroupVersionResource,
    RequestAdmission,
)
from k8s_aggapi.api import APIGroup, Resource, Subresource
from k8s_aggapi.endpoints import decoding
from k8s_aggapi.endpoints import options as opts
from k8s_aggapi.endpoints.negotiation import JSON, Target, body_media_type, negotiate
from k8s_aggapi.endpoints.patch import (
    APPLY_PATCH,
    PATCH_TYPES,
    STRATEGIC_MERGE_PATCH,
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
    send_parts,
)
from k8s_aggapi.endpoints.watch import WatchPush, stream_watch
from k8s_aggapi.limits import DEFAULT_LIMITS, ServerLimits
from k8s_aggapi.patching import apply as ssa
from k8s_aggapi.patching import managedfields, schema
from k8s_aggapi.registry import rest
from k8s_aggapi.registry.encoded import around
from k8s_aggapi.registry.selectors import FieldSelector
from k8s_aggapi.registry.store import now_rfc3339 as store_now
from k8s_aggapi.registry.table import INCLUDE_OBJECT, list_table, partial_metadata, table_body
from k8s_aggapi.registry.validation import is_dns1123_label
from k8s_aggapi.registry.watch import bookmark_object
from k8s_aggapi.request import context
from k8s_aggapi.storage.subscriber import offer_push

_NEEDS_NAME = frozenset({"get", "update", "patch", "delete"})
_WRITE_OPTIONS = {"create": "CreateOptions", "update": "UpdateOptions", "patch": "PatchOptions"}
_ADMITTED = frozenset({"create", "update", "patch", "delete", "deletecollection"})
_Capability = TypeVar("_Capability")
_WITH_HEADERS = rest.TableOptions()


def _served(capability: _Capability | None) -> _Capability:
    """The capability a verb needs; the endpoint only dispatches verbs that are served."""
    if capability is None:
        raise errors.MethodNotAllowed()
    return capability


class ResourceEndpoint:
    """ASGI app serving all resources of `groups` (discovery lives in `discovery.py`)."""

    def __init__(
        self, groups: Sequence[APIGroup], limits: ServerLimits = DEFAULT_LIMITS,
        admission: Chain = EMPTY,
    ) -> None:
        self.limits = limits
        self.admission = admission
        # each path's verbs, found once from the capabilities registered
        self.resources: dict[tuple[str, str, str], tuple[Resource, frozenset[str]]] = {}
        self.subresources: dict[tuple[str, str, str, str], tuple[Subresource, frozenset[str]]] = {}
        # a deprecated version's Warning header, made once (by id: the resources are kept above)
        self.warnings: dict[int, tuple[bytes, bytes]] = {}
        for group in groups:
            for version in group.versions:
                for plural, resource in version.resources.items():
                    key = (group.name, version.name, plural)
                    self.resources[key] = (resource, frozenset(resource.verbs))
                    deprecation = resource.info.deprecation
                    if deprecation is not None:
                        text = deprecation.warning(resource.api_version, resource.info.kind)
                        self.warnings[id(resource)] = (
                            b"warning", f"299 - {errors.go_quote(text)}".encode())
                    for name, sub in resource.subresources.items():
                        self.subresources[(*key, name)] = (sub, frozenset(sub.verbs))

    async def __call__(self, scope: dict[str, Any], receive: Receive, send: Send) -> None:
        info = context.request_info(scope)
        found = self.resources.get((info.api_group, info.api_version, info.resource))
        if found is None or not info.is_resource_request:
            raise errors.PathNotFound()
        resource, verbs = found
        sub: Subresource | None = None
        if info.subresource:
            found_sub = self.subresources.get(
                (info.api_group, info.api_version, info.resource, info.subresource))
            if found_sub is None or not info.name:
                raise errors.PathNotFound()
            sub, verbs = found_sub
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
            if verb == "watch" and "list" in verbs:  # ListResource's answer upstream
                raise errors.MethodNotAllowed(
                    f'watch is not supported on resources of kind "{resource.group_resource}"',
                    errors.details_of(resource.group_resource))
            raise errors.MethodNotAllowed()
        if info.namespace and not is_dns1123_label(info.namespace):
            _no_such_namespace(resource, verb, info.namespace, info.name)
        raw_query: bytes = scope.get("query_string", b"")
        query = parse_qs(raw_query.decode(), keep_blank_values=True) if raw_query else {}
        user = scope.get(context.USER)
        bound = None
        if verb in _ADMITTED and self.admission:
            kind = (GroupVersionKind(sub.group, sub.version, sub.kind) if sub is not None
                    else GroupVersionKind(resource.group, resource.version, resource.info.kind))
            bound = RequestAdmission(
                self.admission, kind,
                GroupVersionResource(resource.group, resource.version, resource.info.plural),
                info.subresource, user)
        ctx = rest.RequestContext(info.namespace, user, admission=bound)
        warning = self.warnings.get(id(resource))
        if warning is not None:  # upstream's Warning on every answer, errors included
            await _warned(resource, ctx, scope, receive, send, query, self.limits, sub, verb,
                          info.name, warning)
            return
        handler = Handler(resource, ctx, scope, receive, send, query, self.limits, sub)
        await VERBS[verb](handler, info.name)


async def _warned(resource: Resource, ctx: rest.RequestContext, scope: dict[str, Any],
                  receive: Receive, send: Send, query: dict[str, list[str]],
                  limits: ServerLimits, sub: Subresource | None, verb: str, name: str,
                  warning: tuple[bytes, bytes]) -> None:
    """Run the verb with `warning` on its answer; a refusal is answered here (unless the
    answer had started, as a watch's) so that it carries the warning too."""
    started = False

    async def sending(message: dict[str, Any]) -> None:
        nonlocal started
        if message["type"] == "http.response.start":
            started = True
            # first, as upstream adds it before the handler's own (unknown field) warnings
            message = {**message, "headers": [warning, *message.get("headers", ())]}
        await send(message)

    handler = Handler(resource, ctx, scope, receive, sending, query, limits, sub)
    try:
        await VERBS[verb](handler, name)
    except errors.StatusError as error:
        if started:
            raise
        await send_json(send, error.code, error.to_status(), [warning])


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
    """One request against one resource (or one of its subresources); a method per verb."""

    def __init__(self, resource: Resource, ctx: rest.RequestContext, scope: dict[str, Any],
                 receive: Receive, send: Send, query: dict[str, list[str]],
                 limits: ServerLimits = DEFAULT_LIMITS, sub: Subresource | None = None) -> None:
        self.resource, self.ctx, self.scope = resource, ctx, scope
        self.limits = limits
        self.receive, self.send, self.query = receive, send, query
        self.accept = _header(scope, b"accept")
        # what the path serves and the kind it answers with
        if sub is None:
            self.rest, self.kind, self.api_version = (
                resource.capabilities, resource.info.kind, resource.api_version)
            self.model = resource.info.model
        else:
            self.rest, self.kind, self.api_version = sub.capabilities, sub.kind, sub.api_version
            self.model = sub.model

    def _table(self, objects: list[rest.Object], list_meta: dict[str, Any] | None = None,
               include_object: str | None = None) -> rest.Object:
        table = self.rest.table.convert_to_table(objects, _WITH_HEADERS)
        include = self._include_object() if include_object is None else include_object
        return table_body(table, include_object=include, list_meta=list_meta)

    def _include_object(self) -> str:
        value = opts.first(self.query, "includeObject", "Metadata")
        if value not in INCLUDE_OBJECT:
            raise errors.BadRequest(
                f'includeObject: Unsupported value: "{value}": supported values: "None", '
                '"Metadata", "Object"'
            )
        return value

    def _shape(self, obj: rest.Object) -> rest.Object:
        target = negotiate(self.accept, is_list=False)
        if target is Target.TABLE:
            return self._table([obj])
        if target is Target.PARTIAL:
            return partial_metadata(obj)
        return obj

    def _with_dry_run(self) -> None:
        verb = context.request_info(self.scope).verb
        if opts.dry_run(self.query, _WRITE_OPTIONS.get(verb, "CreateOptions")):
            self.ctx = dataclasses.replace(self.ctx, dry_run=True)

    def _with_field_manager(self) -> None:
        """Who writes, for managedFields: `fieldManager`, else the User-Agent's product."""
        manager = opts.first(self.query, "fieldManager") or managedfields.manager_from_user_agent(
            _header(self.scope, b"user-agent"))
        self.ctx = dataclasses.replace(self.ctx, field_manager=manager)

    def _field_validation(self) -> str:
        return decoding.directive(opts.first(self.query, "fieldValidation"))

    def _decode(self, body: dict[str, Any], raw: bytes) -> list[tuple[bytes, bytes]]:
        """Decode a create or update body as upstream's strict decoder; Warning headers."""
        version = self.api_version.rpartition("/")[2]
        return decoding.decode_body(self.model, body, raw, self._field_validation(), self.kind,
                                    version)

    async def _body(self, allowed: tuple[str, ...] = (JSON,),
                    default: str | None = JSON) -> tuple[str, bytes]:
        media = body_media_type(_header(self.scope, b"content-type"), allowed, default)
        return media, await read_body(self.receive, self.limits.max_body_bytes)

    # verbs ----------------------------------------------------------------
    async def get(self, name: str) -> None:
        target = negotiate(self.accept, is_list=False)  # 406 before any work
        options = rest.GetOptions(opts.resource_version(self.query)) if self.query else (
            rest.GET_LATEST)
        obj = await _served(self.rest.getter).get(self.ctx, name, options)
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
        result = await _served(self.rest.lister).list(self.ctx, options)
        # omitempty, as Go writes ListMeta: a list with no resourceVersion has `metadata: {}`
        meta: dict[str, Any] = (
            {"resourceVersion": result.resource_version} if result.resource_version else {})
        if result.continue_token:
            meta["continue"] = result.continue_token
        if result.remaining_item_count is not None:
            meta["remainingItemCount"] = result.remaining_item_count
        # items kept encoded by the store are joined, not encoded again (`registry.encoded`)
        encoding = result.encoding
        body: rest.Object | tuple[bytes, ...]
        if target is Target.TABLE:
            body = list_table(self.rest.table, result.items, include_object=self._include_object(),
                              list_meta=meta, encoding=encoding)
        elif target is Target.PARTIAL:
            head = {"kind": "PartialObjectMetadataList", "apiVersion": "meta.k8s.io/v1",
                    "metadata": meta}
            body = ({**head, "items": [partial_metadata(o) for o in result.items]}
                    if encoding is None else around({**head, "items": []},
                                                    encoding.partial(result.items)))
        else:
            head = {"kind": self.resource.info.list_kind,
                    "apiVersion": self.resource.api_version, "metadata": meta}
            body = ({**head, "items": result.items} if encoding is None
                    else around({**head, "items": []}, encoding.json(result.items)))
        if isinstance(body, tuple):
            await send_parts(self.send, 200, body)
        else:
            await send_json(self.send, 200, body)

    async def watch(self, name: str) -> None:
        target = negotiate(self.accept, is_list=True)
        options = self._list_options(name, watch=True)
        include = self._include_object()

        def transform(obj: rest.Object) -> rest.Object:
            if target is Target.TABLE:
                return self._table([obj], include_object=include)
            if target is Target.PARTIAL:
                return partial_metadata(obj)
            return obj

        kind, api_version = self.kind, self.api_version

        def bookmark(rv: str) -> rest.Object:
            return bookmark_object(kind, api_version, rv)

        watcher = _served(self.rest.watcher)
        push = None
        if target is Target.OBJECT:  # the objects as they come: the storage may write them
            push = WatchPush()
            offer_push(watcher, push)
        events = watcher.watch(self.ctx, options)
        await stream_watch(
            events, self.send, self.receive, transform=transform,
            bookmark=bookmark if options.allow_watch_bookmarks else None,
            duration=float(options.timeout_seconds) if options.timeout_seconds else None,
            body_send=self.scope.get(context.RAW_SEND), push=push,
        )

    def _check_type(self, body: dict[str, Any]) -> None:
        api_version, kind = body.get("apiVersion"), body.get("kind")
        if api_version and api_version != self.api_version:
            raise errors.BadRequest(
                f"the API version in the data ({api_version}) does not match the expected API "
                f"version ({self.api_version})")
        if kind and kind != self.kind:
            raise errors.BadRequest(
                f"the kind in the data ({kind}) does not match the expected kind "
                f"({self.kind})")
        meta = body.get("metadata")
        if meta is not None and not isinstance(meta, dict):
            # what Go's decoder says for a metadata that is no object (400, not a 500 here)
            own, version = self.kind, self.api_version.rsplit("/")[-1]
            raise errors.BadRequest(
                f'{own} in version "{version}" cannot be handled as a {own}: json: cannot '
                f"unmarshal {_json_type(meta)} into Go struct field {own}.metadata of type "
                "v1.ObjectMeta")

    async def create(self, name: str) -> None:
        target = negotiate(self.accept, is_list=False)
        _, raw = await self._body()
        body = parse_object(raw, self.limits.max_nesting_depth, self.kind)
        self._check_type(body)
        self._with_dry_run()
        self._with_field_manager()
        warnings = self._decode(body, raw)
        created = await _served(self.rest.creater).create(self.ctx, body)
        body = created if target is Target.OBJECT else self._shape(created)
        await send_json(self.send, 201, body, warnings)

    async def update(self, name: str) -> None:
        negotiate(self.accept, is_list=False)
        _, raw = await self._body()
        body = parse_object(raw, self.limits.max_nesting_depth, self.kind)
        self._check_type(body)
        self._with_dry_run()
        self._with_field_manager()
        warnings = self._decode(body, raw)
        obj, created = await _served(self.rest.updater).update(
            self.ctx, name, rest.ObjectUpdate.replace(body))
        await send_json(self.send, 201 if created else 200, self._shape(obj), warnings)

    async def patch(self, name: str) -> None:
        negotiate(self.accept, is_list=False)
        media, raw = await self._body(PATCH_TYPES, None)
        if media == APPLY_PATCH:
            await self._apply(name, raw)
            return
        patch = parse_json(raw, self.limits.max_nesting_depth, UNDECODABLE_PATCH)
        self._with_dry_run()
        self._with_field_manager()
        how = self._field_validation()
        model_schema = schema.of_model(self.model)
        before = decoding.patch_problems(media, patch, raw, how)
        warnings: list[tuple[bytes, bytes]] = []

        def patched_from(current: rest.Object) -> rest.Object:
            patched = apply_patch(media, current, patch, self.limits, model_schema)
            # decoded as upstream decodes the patched object: the last attempt's warnings count
            warnings[:] = decoding.decode_patched(
                self.model, patched, before, how,
                patch if media == STRATEGIC_MERGE_PATCH else None)
            meta = patched.get("metadata")
            if not isinstance(meta, dict):
                raise errors.BadRequest("the patched object has no metadata")
            patch_meta = patch.get("metadata") if isinstance(patch, dict) else None
            if not isinstance(patch_meta, dict) or "resourceVersion" not in patch_meta:
                meta["resourceVersion"] = current["metadata"].get("resourceVersion")
            self._check_type(patched)
            return patched

        # the REST object re-applies the patch to whatever is current when it loses a race
        obj, _ = await _served(self.rest.updater).update(
            self.ctx, name, rest.ObjectUpdate(patched_from))
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
        if self.rest is self.resource.capabilities and self.resource.info.status:
            # status is not this path's to write (upstream resets it from the apply too)
            config = {k: v for k, v in config.items() if k != "status"}
        how = self._field_validation()
        model, api_version = self.model, self.api_version
        decoding.check_apply_fields(model, config, api_version, self.kind)
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
                obj, _ = await _served(self.rest.updater).update(
                    self.ctx, name, rest.ObjectUpdate(applied_from))
                await send_json(self.send, 200, self._shape(obj), warnings)
                return
            except errors.NotFound as exc:
                if exc.details.get("name") != name or exc.details.get("kind") != (
                        self.resource.info.plural):
                    raise
            new = applied_from(None)
            new["metadata"] = {**new["metadata"], "name": name}
            try:
                created = await _served(self.rest.creater).create(self.ctx, new)
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
            self.ctx = dataclasses.replace(self.ctx, dry_run=True)
        return options

    async def delete(self, name: str) -> None:
        options = await self._delete_options()
        obj, gone = await _served(self.rest.deleter).delete(self.ctx, name, options)
        if not gone:
            # 202 only for orphanDependents=false, as upstream (other clients expect 200)
            code = 202 if options.orphan_dependents is False else 200
            await send_json(self.send, code, self._shape(obj))
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
        result = await _served(self.rest.collection_deleter).delete_collection(
            self.ctx, options, list_options)
        await send_json(self.send, 200, {
            "kind": self.resource.info.list_kind, "apiVersion": self.resource.api_version,
            "metadata": {"resourceVersion": result.resource_version}, "items": result.items,
        })


# each verb's method, found once (not per request)
VERBS: dict[str, Callable[[Handler, str], Awaitable[None]]] = {
    "get": Handler.get, "list": Handler.list, "watch": Handler.watch, "create": Handler.create,
    "update": Handler.update, "patch": Handler.patch, "delete": Handler.delete,
    "deletecollection": Handler.deletecollection,
}
