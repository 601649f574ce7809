"""A storage backend that keeps a kind's objects in its storage version.

The generic store reads and writes hub objects; this wrapper converts each to the storage
version on the way in and back to the hub on the way out (upstream's storage codec). An
object stored in another version, e.g. before the storage version changed, is read through
the hub all the same, so changing the storage version needs no migration first.
"""

from __future__ import annotations

import operator
from collections.abc import AsyncGenerator, AsyncIterator

from k8s_aggapi.conversion.converter import KindConverter
from k8s_aggapi.storage import interface as st
from k8s_aggapi.storage.subscriber import Guard, forward_push

_API_VERSION = operator.itemgetter("apiVersion")


class ConvertingStorage:
    """Implements `storage.Storage` over `backend`, in `storage_version` underneath and in
    `version` (default: the hub) above. Reading in the storage version converts only objects
    stored in another one: a list costs one comparison per object."""

    def __init__(self, backend: st.Storage, converter: KindConverter, storage_version: str,
                 version: str = "") -> None:
        for v in (storage_version, version):
            if v and v not in converter.served:
                raise ValueError(f"{converter.kind}: version {v} is not served")
        self.backend = backend
        self.converter = converter
        self.storage_version = storage_version
        self.version = version or converter.hub
        self._api_version = converter.api_version(self.version)
        self._guard = Guard(self._unchanged)  # a push offer's test, one per event

    def _in(self, obj: st.Object) -> st.Object:
        return self.converter.convert(obj, self.storage_version)

    def _out(self, obj: st.Object) -> st.Object:
        if obj.get("apiVersion") == self._api_version:
            return obj
        return self.converter.convert_stored(obj, self.version)

    async def get(self, key: str, *, at_revision: int = 0) -> st.Object | None:
        found = await self.backend.get(key, at_revision=at_revision)
        return None if found is None else self._out(found)

    async def list(
        self, prefix: str, *, start: str = "", limit: int = 0, at_revision: int = 0
    ) -> st.ListResult:
        page = await self.backend.list(prefix, start=start, limit=limit, at_revision=at_revision)
        try:  # at C speed (the stored objects share one apiVersion string, compared by
            # identity first): a list costs a few ns an object when nothing is to convert
            if operator.countOf(map(_API_VERSION, page.items), self._api_version) == len(
                    page.items):
                return page
        except KeyError:  # an object without apiVersion: converted one by one below
            pass
        return st.ListResult([self._out(o) for o in page.items], page.revision, page.remaining,
                             page.next_key)

    async def list_cached(self, prefix: str, *, start: str = "", limit: int = 0
                          ) -> st.ListResult:
        """resourceVersion "0": the watch cache's state when the backend has one."""
        if not isinstance(self.backend, st.CachedLister):
            return await self.list(prefix, start=start, limit=limit)
        page = await self.backend.list_cached(prefix, start=start, limit=limit)
        if set(map(_API_VERSION, page.items)) <= {self._api_version}:
            return page
        return st.ListResult([self._out(o) for o in page.items], page.revision, page.remaining,
                             page.next_key)

    async def get_cached(self, key: str, *, min_revision: int = 0) -> st.Object | None:
        """resourceVersion "0" or "N": the watch cache's object when the backend has one."""
        if isinstance(self.backend, st.CachedLister):
            found = await self.backend.get_cached(key, min_revision=min_revision)
        else:
            if min_revision and min_revision > (current := await self.current_revision()):
                raise st.FutureRevision(min_revision, current)
            found = await self.backend.get(key)
        return None if found is None else self._out(found)

    async def create(self, key: str, obj: st.Object) -> st.Object:
        return self._out(await self.backend.create(key, self._in(obj)))

    async def update(self, key: str, obj: st.Object, *, expected_revision: int | None) -> st.Object:
        return self._out(await self.backend.update(
            key, self._in(obj), expected_revision=expected_revision))

    async def delete(self, key: str, *, expected_revision: int | None = None) -> st.Object:
        return self._out(await self.backend.delete(key, expected_revision=expected_revision))

    async def watch(self, prefix: str, *, after_revision: int) -> AsyncIterator[st.Event]:
        # an offered push goes on to the backend for the events yielded as they came
        forward_push(self, self.backend, self._guard)
        events = self.backend.watch(prefix, after_revision=after_revision)
        try:
            async for event in events:
                out = self._out(event.object)  # the same objects when nothing is converted
                prev = None if event.prev is None else self._out(event.prev)
                yield event if out is event.object and prev is event.prev else st.Event(
                    event.type, event.key, out, event.revision, prev)
        finally:
            if isinstance(events, AsyncGenerator):  # the backend's watch ends with ours
                await events.aclose()

    def _unchanged(self, event: st.Event) -> bool:
        """Whether `watch` yields `event` as it came (`_out` keeps both objects)."""
        version, prev = self._api_version, event.prev
        return event.object.get("apiVersion") == version and (
            prev is None or prev.get("apiVersion") == version)

    async def current_revision(self) -> int:
        return await self.backend.current_revision()
