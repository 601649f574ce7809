"""The generic store: every REST verb built on a `storage.Storage` backend plus a `Strategy`.

System fields (uid, creationTimestamp, generation, resourceVersion), validation through the
resource's pydantic model, optimistic concurrency, finalizers, selectors, pagination and watch
all live here, so a new backend gets them for free.
"""

from __future__ import annotations

import builtins
import datetime
import secrets
import uuid
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from k8s_aggapi import errors
from k8s_aggapi.registry import continuetoken
from k8s_aggapi.registry.objectmeta import validate_object_meta, validate_object_meta_update
from k8s_aggapi.registry.rest import (
    DeleteOptions,
    ListOptions,
    Object,
    ObjectList,
    RequestContext,
    WatchEvent,
)
from k8s_aggapi.registry.strategy import Strategy
from k8s_aggapi.registry.table import DefaultTableConvertor
from k8s_aggapi.registry.watch import watch_store
from k8s_aggapi.storage import interface as st

if TYPE_CHECKING:
    from k8s_aggapi.api import Resource

_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


def is_backend(obj: object) -> bool:
    return isinstance(obj, st.Storage)


def now_rfc3339() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def pydantic_causes(exc: ValidationError) -> list[errors.Cause]:
    causes = []
    for err in exc.errors():
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])[1:]
        value = err.get("input")
        kind = "FieldValueRequired" if err["type"] == "missing" else "FieldValueInvalid"
        if kind == "FieldValueRequired":
            causes.append(errors.field_required(path))
        else:
            shown = value if isinstance(value, str | int | float | bool) else str(value)[:80]
            causes.append(errors.field_invalid(path, shown, err["msg"]))
    return causes


class Store(DefaultTableConvertor):
    """Implements Getter, Lister, Creater, Updater, Patcher, Deleter, CollectionDeleter,
    Watcher and TableConvertor for one resource."""

    def __init__(self, resource: Resource, backend: st.Storage, strategy: Strategy | None = None):
        super().__init__(resource.info.columns)
        self.resource = resource
        self.backend = backend
        self.strategy = strategy or Strategy()
        self.gr = resource.group_resource
        self.prefix = f"/{resource.group}/{resource.info.plural}/"

    # keys -----------------------------------------------------------------
    def key(self, ctx: RequestContext, name: str) -> str:
        if self.resource.info.namespaced:
            return f"{self.prefix}{ctx.namespace}/{name}"
        return f"{self.prefix}{name}"

    def list_prefix(self, ctx: RequestContext) -> str:
        if self.resource.info.namespaced and ctx.namespace:
            return f"{self.prefix}{ctx.namespace}/"
        return self.prefix

    def supports_patch(self) -> bool:
        return True

    # read -----------------------------------------------------------------
    async def get(self, ctx: RequestContext, name: str) -> Object:
        obj = await self.backend.get(self.key(ctx, name))
        if obj is None:
            raise errors.NotFound(self.gr, name)
        return obj

    async def list(
        self, ctx: RequestContext, options: ListOptions
    ) -> ObjectList:
        prefix = self.list_prefix(ctx)
        start, token_rv = "", 0
        if options.continue_token:
            start, token_rv = continuetoken.decode(options.continue_token, prefix)
            if options.resource_version not in ("", "0"):
                raise errors.BadRequest(
                    "specifying resource version is not allowed when using continue")
        items: builtins.list[Object] = []
        filtering = not (options.label_selector.empty() and options.field_selector.empty())
        limit = options.limit
        while True:
            page = await self.backend.list(prefix, start=start, limit=limit)
            items.extend(o for o in page.items if not filtering or self._matches(o, options))
            if not limit or len(items) >= limit or not page.remaining:
                break
            start = page.next_key
        rv = str(token_rv) if token_rv else str(page.revision)
        if limit and page.remaining:
            token = continuetoken.encode(page.next_key, rv, prefix)
            remaining = None if filtering else page.remaining
            return ObjectList(items, rv, token, remaining)
        return ObjectList(items, rv)

    def _matches(self, obj: Object, options: ListOptions) -> bool:
        labels = obj.get("metadata", {}).get("labels")
        return options.label_selector.matches(labels) and options.field_selector.matches(obj)

    def watch(self, ctx: RequestContext, options: ListOptions) -> AsyncIterator[WatchEvent]:
        return watch_store(self, ctx, options)

    # write ----------------------------------------------------------------
    def _normalize(self, ctx: RequestContext, obj: Object, name: str) -> Object:
        model = self.resource.info.model
        if model is not None:
            try:
                obj = model.model_validate(obj).model_dump(
                    by_alias=True, exclude_none=True, mode="json"
                )
            except ValidationError as exc:
                raise errors.Invalid(
                    self.resource.info.kind, self.resource.group, name, pydantic_causes(exc)
                ) from exc
        obj["apiVersion"] = self.resource.api_version
        obj["kind"] = self.resource.info.kind
        return obj

    def _check_scope(self, ctx: RequestContext, meta: dict[str, Any]) -> None:
        if self.resource.info.namespaced:
            ns = meta.get("namespace")
            if ns and ns != ctx.namespace:
                raise errors.BadRequest(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            meta["namespace"] = ctx.namespace
        else:
            meta.pop("namespace", None)

    def _invalid(self, name: str, causes: builtins.list[errors.Cause]) -> None:
        if causes:
            unique = list(dict.fromkeys(causes))  # a rule met twice is reported once
            raise errors.Invalid(self.resource.info.kind, self.resource.group, name, unique)

    async def create(self, ctx: RequestContext, obj: Object) -> Object:
        meta = dict(obj.get("metadata") or {})
        name = meta.get("name") or ""
        if not name and meta.get("generateName"):
            base = str(meta["generateName"])[:58]
            name = base + "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))
        if not name:
            self._invalid("", [errors.field_required(
                "metadata.name", "name or generateName is required")])
        obj = self._normalize(ctx, {**obj, "metadata": meta}, name)
        meta = obj["metadata"]
        meta["name"] = name
        self._check_scope(ctx, meta)
        if meta.get("resourceVersion"):
            raise errors.BadRequest("resourceVersion should not be set on objects to be created")
        for field in ("deletionTimestamp", "deletionGracePeriodSeconds", "managedFields"):
            meta.pop(field, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        meta["generation"] = 1
        self.strategy.prepare_for_create(ctx, obj)
        self._invalid(name, self.strategy.validate_name(name) + self.strategy.validate(ctx, obj))
        # the common ObjectMeta rules run after the strategy's, as upstream's BeforeCreate does
        self._invalid(name, validate_object_meta(obj["metadata"], self.resource.info.namespaced))
        await self.strategy.admit(ctx, "CREATE", obj)
        if ctx.dry_run:
            if await self.backend.get(self.key(ctx, name)) is not None:
                raise errors.AlreadyExists(self.gr, name)
            return obj
        try:
            return await self.backend.create(self.key(ctx, name), obj)
        except st.KeyExists:
            raise errors.AlreadyExists(self.gr, name) from None

    async def update(self, ctx: RequestContext, name: str, obj: Object) -> tuple[Object, bool]:
        meta = dict(obj.get("metadata") or {})
        if meta.get("name") and meta["name"] != name:
            raise errors.BadRequest(
                f"the name of the object ({meta['name']}) does not match the name on the URL "
                f"({name})"
            )
        meta["name"] = name
        key = self.key(ctx, name)
        old = await self.backend.get(key)
        if old is None:
            if not self.strategy.allow_create_on_update:
                raise errors.NotFound(self.gr, name)
            return await self.create(ctx, {**obj, "metadata": meta}), True
        rv = str(meta.get("resourceVersion") or "")
        if not rv and not self.strategy.allow_unconditional_update:
            # upstream's generic store names the resource here, not the kind, and the value 0
            raise errors.Invalid(self.resource.info.plural, self.resource.group, name, [
                errors.Cause("FieldValueInvalid", "Invalid value: 0: must be specified for an "
                             "update", "metadata.resourceVersion")])
        new = self._normalize(ctx, {**obj, "metadata": meta}, name)
        self._check_scope(ctx, new["metadata"])
        old_meta = old["metadata"]
        new_meta = new["metadata"]
        for field in ("uid", "creationTimestamp", "deletionTimestamp",
                      "deletionGracePeriodSeconds", "generation"):
            if field in old_meta:
                new_meta[field] = old_meta[field]
            else:
                new_meta.pop(field, None)
        if new.get("spec") != old.get("spec"):
            new_meta["generation"] = int(old_meta.get("generation", 1)) + 1
        self.strategy.prepare_for_update(ctx, new, old)
        self._invalid(name, validate_object_meta_update(
            new["metadata"], old_meta, self.resource.info.namespaced
        ) + self.strategy.validate_update(ctx, new, old))
        await self.strategy.admit(ctx, "UPDATE", new)
        expected = int(rv) if rv.isdigit() else (None if not rv else -1)
        if expected is not None and str(expected) != old_meta.get("resourceVersion"):
            raise errors.Conflict(self.gr, name, errors.OBJECT_MODIFIED)
        if ctx.dry_run:
            return new, False
        if new_meta.get("deletionTimestamp") and not new_meta.get("finalizers"):
            await self._delete_now(key, name, old_meta.get("resourceVersion"))
            return new, False
        try:
            return await self.backend.update(key, new, expected_revision=expected), False
        except st.Conflict:
            raise errors.Conflict(self.gr, name, errors.OBJECT_MODIFIED) from None
        except st.KeyNotFound:
            raise errors.NotFound(self.gr, name) from None

    async def _delete_now(self, key: str, name: str, rv: str | None) -> Object:
        try:
            return await self.backend.delete(key, expected_revision=int(rv) if rv else None)
        except st.KeyNotFound:
            raise errors.NotFound(self.gr, name) from None
        except st.Conflict:
            raise errors.Conflict(self.gr, name, errors.OBJECT_MODIFIED) from None

    async def delete(
        self, ctx: RequestContext, name: str, options: DeleteOptions
    ) -> tuple[Object, bool]:
        key = self.key(ctx, name)
        obj = await self.get(ctx, name)
        meta = obj["metadata"]
        if options.preconditions_uid is not None and options.preconditions_uid != meta.get("uid"):
            raise errors.Conflict(self.gr, name, (
                f"Precondition failed: UID in precondition: {options.preconditions_uid}, "
                f"UID in object meta: {meta.get('uid')}"))
        if (options.preconditions_resource_version is not None
                and options.preconditions_resource_version != meta.get("resourceVersion")):
            raise errors.Conflict(self.gr, name, (
                "Precondition failed: ResourceVersion in precondition: "
                f"{options.preconditions_resource_version}, ResourceVersion in object meta: "
                f"{meta.get('resourceVersion')}"))
        await self.strategy.admit(ctx, "DELETE", obj)
        if meta.get("finalizers"):
            if meta.get("deletionTimestamp") or ctx.dry_run:
                return obj, False
            marked = {**obj, "metadata": {**meta, "deletionTimestamp": now_rfc3339(),
                                          "deletionGracePeriodSeconds": 0}}
            try:
                updated = await self.backend.update(
                    key, marked, expected_revision=int(meta["resourceVersion"]))
            except st.Conflict:
                raise errors.Conflict(self.gr, name, errors.OBJECT_MODIFIED) from None
            return updated, False
        if ctx.dry_run:
            return obj, True
        return await self._delete_now(key, name, meta.get("resourceVersion")), True

    async def delete_collection(
        self, ctx: RequestContext, options: DeleteOptions, list_options: ListOptions
    ) -> ObjectList:
        listed = await self.list(ctx, list_options)
        deleted = []
        for obj in listed.items:
            meta = obj["metadata"]
            item_ctx = RequestContext(meta.get("namespace", ""), ctx.user, ctx.dry_run)
            try:
                gone, _ = await self.delete(item_ctx, meta["name"], options)
            except errors.NotFound:
                continue
            deleted.append(gone)
        return ObjectList(deleted, listed.resource_version)
