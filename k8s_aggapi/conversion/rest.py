"""A resource served in one version from a store that works in the hub version.

Every object in converts to the hub before the store sees it; every object out converts to
the served version: get, list, watch, create, update, every patch (the patch applies to the
served version's view of what is current, inside the store's retrying update), delete and
deletecollection. Validation, admission and the strategy run once, on the hub.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from typing import Any

from k8s_aggapi.conversion.converter import KindConverter
from k8s_aggapi.registry.rest import (
    GET_LATEST,
    CollectionDeleter,
    Creater,
    DeleteOptions,
    Deleter,
    GetOptions,
    Getter,
    Lister,
    ListOptions,
    Object,
    ObjectList,
    ObjectUpdate,
    RequestContext,
    Updater,
    Watcher,
    WatchEvent,
)
from k8s_aggapi.registry.store import RECORDED, Store, track_managed_fields
from k8s_aggapi.storage.subscriber import forward_push, take_push


class VersionedREST(Getter, Lister, Watcher, Creater, Updater, Deleter, CollectionDeleter):
    """Every verb of `version` (patch too: a Getter and Updater), over the hub's `store`.
    `reader`, a store over the same keys in `version` itself, serves get, list and watch
    with no conversion through the hub (`serve_kind` gives one to the storage version)."""

    def __init__(self, store: Store, converter: KindConverter, version: str,
                 reader: Store | None = None, model: Any = None) -> None:
        self.store, self.converter, self.version = store, converter, version
        self.reader = reader
        self.model = model  # of this version: managedFields are kept in the request's version
        self.api_version = converter.api_version(version)

    def _track(self, ctx: RequestContext, old: Object | None, new: Object) -> Object:
        """managedFields in this version (as upstream records the request's), before the
        object goes to the hub store, which then keeps them as given."""
        if ctx.field_manager is None:
            return new
        # the fields as the hub will have them, defaulted (upstream's field manager sees the
        # defaulted object); only the managedFields found are kept from that copy
        seen = self.converter.from_hub(self._in(new), self.version)
        seen = {**seen, "metadata": dict(seen.get("metadata") or {})}
        track_managed_fields(ctx, old, seen, self.api_version, self.model)
        meta = {k: v for k, v in (new.get("metadata") or {}).items() if k != "managedFields"}
        if "managedFields" in seen["metadata"]:
            meta["managedFields"] = seen["metadata"]["managedFields"]
        return {**new, "metadata": meta}

    def _hub_ctx(self, ctx: RequestContext) -> RequestContext:
        if ctx.field_manager is None:
            return ctx
        return dataclasses.replace(ctx, field_manager=RECORDED)

    def _out(self, obj: Object) -> Object:
        # what the store returns is never mutated (the backend's contract), so remembered
        return self.converter.convert_stored(obj, self.version)

    def _in(self, obj: Object) -> Object:
        return self.converter.to_hub(obj, self.version)

    def _list(self, listed: ObjectList) -> ObjectList:
        return dataclasses.replace(listed, items=[self._out(o) for o in listed.items],
                                   encoding=None)

    async def get(
        self, ctx: RequestContext, name: str, options: GetOptions = GET_LATEST
    ) -> Object:
        if self.reader is not None:
            return await self.reader.get(ctx, name, options)
        return self._out(await self.store.get(ctx, name, options))

    async def list(self, ctx: RequestContext, options: ListOptions) -> ObjectList:
        if self.reader is not None:
            return await self.reader.list(ctx, options)
        return self._list(await self.store.list(ctx, options))

    def watch(self, ctx: RequestContext, options: ListOptions) -> AsyncIterator[WatchEvent]:
        if self.reader is not None:
            forward_push(self, self.reader)  # the reader's events, as they are
            return self.reader.watch(ctx, options)
        take_push(self)  # converted per watcher: the queued way
        return self._watch(ctx, options)

    async def _watch(self, ctx: RequestContext, options: ListOptions) -> AsyncIterator[WatchEvent]:
        api_version = self.converter.api_version(self.version)
        events = self.store.watch(ctx, options)
        async for event in events:
            if event.type == "BOOKMARK":
                yield WatchEvent(event.type, {**event.object, "apiVersion": api_version})
            elif event.type == "ERROR":
                yield event
            else:
                yield WatchEvent(event.type, self._out(event.object))

    async def create(self, ctx: RequestContext, obj: Object) -> Object:
        return self._out(await self.store.create(
            self._hub_ctx(ctx), self._in(self._track(ctx, None, obj))))

    async def update(
        self, ctx: RequestContext, name: str, update: ObjectUpdate
    ) -> tuple[Object, bool]:
        def in_hub(current: Object) -> Object:
            old = self._out(current)
            return self._in(self._track(ctx, old, update.compute(old)))

        replacement = None if update.replacement is None else self._in(
            self._track(ctx, None, update.replacement))
        stored, created = await self.store.update(
            self._hub_ctx(ctx), name,
            dataclasses.replace(update, compute=in_hub, replacement=replacement))
        return self._out(stored), created

    async def delete(
        self, ctx: RequestContext, name: str, options: DeleteOptions
    ) -> tuple[Object, bool]:
        obj, gone = await self.store.delete(ctx, name, options)
        return self._out(obj), gone

    async def delete_collection(
        self, ctx: RequestContext, options: DeleteOptions, list_options: ListOptions
    ) -> ObjectList:
        return self._list(await self.store.delete_collection(ctx, options, list_options))
