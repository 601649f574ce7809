"""The watch cache in front of any backend, as upstream's cacher: one backend watch per
resource shared by all its watchers, lists served from memory.

`Cacher(backend)` is itself a `Storage`. Writes go to the backend. The first list
or watch of a resource (`/<group>/<resource>/`) loads it into memory with one list and
follows it with one backend watch; from then on:

- a list or get with resourceVersion "0" (`list_cached`, `get_cached`) is answered from
  memory at once; a get with "N" once the cache reached N;
- a list or get at the latest revision (`at_revision=0`: resourceVersion "") is answered from
  memory once the cache has caught up with the backend's current revision, as upstream's
  consistent reads from cache do: the cache asks the backend for a progress notification
  (`ProgressRequester`) and waits for it, bounded by `fresh_timeout`, after which it reads
  the backend instead. One read of the backend's current revision serves every caller
  that arrived before it began. Reads at a past revision (continue tokens, Exact) go to
  the backend.
- a watch from a revision the cache still holds is served from memory: its history, then
  live events, through a bounded queue per watcher (a watcher that falls `queue_length`
  events behind is ended, as upstream's cacher ends it; it resumes from its last revision).
  A watcher waiting on its empty queue whose endpoint offered a sink (`subscriber.Sink`)
  has its events written by the fan-out itself: no queue put, no task wake-up.
  A watch from before the cache's window goes to the backend, which may answer Expired.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import dataclasses
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable

from k8s_aggapi.limits import DEFAULT_LIMITS
from k8s_aggapi.storage.interface import (
    Event,
    Expired,
    FutureRevision,
    ListResult,
    Object,
    ProgressRequester,
    Storage,
)
from k8s_aggapi.storage.subscriber import MORE, Sink, Subscriber, deliver, take_push

log = logging.getLogger("k8s_aggapi.storage.cacher")

HISTORY = 10_000  # events each resource's cache keeps for watches that resume
FRESH_TIMEOUT = 3.0  # seconds a list waits for the cache to catch up before it reads the backend
RELIST_DELAY = 1.0  # after the backend watch failed


def resource_prefix(prefix: str) -> str:
    """The resource a key prefix belongs to: `/<group>/<resource>/` of `/<g>/<r>/<ns>/`."""
    parts = prefix.split("/")
    return "/".join(parts[:3]) + "/" if len(parts) >= 4 else prefix


def _prefix_end(prefix: str) -> str:
    return prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix else "\U0010ffff"


class _ResourceCache:
    """One resource's objects, recent events and watchers, fed by one backend watch."""

    def __init__(self, cacher: Cacher, prefix: str) -> None:
        self.cacher, self.prefix = cacher, prefix
        self.objects: dict[str, Object] = {}
        self.keys: list[str] = []
        self.revision = 0  # every event up to here is applied
        self.oldest = 0  # watches after this revision are served from `history`
        self.history: deque[Event] = deque(maxlen=cacher.history)
        self.watchers: set[Subscriber] = set()
        self._waiters: list[tuple[int, asyncio.Future[None]]] = []
        self._asked, self._asked_at = False, 0.0  # a progress request is outstanding
        self._progress_task: asyncio.Future[None] | None = None
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        await self._load()
        self._task = asyncio.create_task(self._follow(), name=f"watch cache {self.prefix}")

    async def _load(self) -> None:
        listed = await self.cacher.backend.list(self.prefix)
        if len(listed.keys) == len(listed.items):
            self.objects = dict(zip(listed.keys, listed.items, strict=True))
        else:  # a backend that does not tell keys: the generic store's layout
            self.objects = {}
            for obj in listed.items:
                meta = obj.get("metadata") or {}
                self.objects[self._key_of(meta.get("name", ""), meta.get("namespace"))] = obj
        self.keys = sorted(self.objects)
        self.revision = self.oldest = listed.revision
        self.history.clear()

    def _key_of(self, name: str, namespace: str | None) -> str:
        return f"{self.prefix}{namespace}/{name}" if namespace else f"{self.prefix}{name}"

    async def _follow(self) -> None:
        backend = self.cacher.backend
        while True:
            try:
                async for event in backend.watch(self.prefix, after_revision=self.revision):
                    self._apply(event)
                # the backend ended the watch (it fell behind): go on from where it was
            except Expired:
                log.info("watch cache %s: revision %d expired; relisting", self.prefix,
                         self.revision)
                self._end_watchers()
                await self._reload()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("watch cache %s: backend watch failed (%s); retrying",
                            self.prefix, exc)
                await asyncio.sleep(RELIST_DELAY)

    async def _reload(self) -> None:
        while True:
            try:
                await self._load()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("watch cache %s: relist failed (%s)", self.prefix, exc)
                await asyncio.sleep(RELIST_DELAY)

    def _apply(self, event: Event) -> None:
        if event.revision < self.revision or (
                event.type == "BOOKMARK" and event.revision == self.revision):
            self._wake(event.type == "BOOKMARK")
            return
        if event.type != "BOOKMARK":
            key = event.key
            if event.type == "DELETED":
                if self.objects.pop(key, None) is not None:
                    self.keys.pop(bisect.bisect_left(self.keys, key))
            else:
                prev = self.objects.get(key)
                if prev is None:
                    bisect.insort(self.keys, key)
                elif event.prev is None:  # what it replaced, as upstream's watch cache keeps
                    event = dataclasses.replace(event, prev=prev)
                self.objects[key] = event.object
            if len(self.history) == self.history.maxlen:
                self.oldest = self.history[0].revision
            self.history.append(event)
        self.revision = event.revision
        deliver(self.watchers, event)
        self._wake(event.type == "BOOKMARK")

    def _wake(self, progress: bool = False) -> None:
        if progress:
            self._asked = False
        if not self._waiters:
            return
        keep = []
        for revision, future in self._waiters:
            if future.done():
                continue
            if revision <= self.revision:
                future.set_result(None)
            else:
                keep.append((revision, future))
        self._waiters = keep
        if keep and progress:  # read after etcd answered: ask once more for all of them
            self._progress_task = asyncio.ensure_future(self._ask_progress())

    def _end_watchers(self) -> None:
        for watcher in self.watchers:
            watcher.ended = True
            with contextlib.suppress(asyncio.QueueFull):
                # wake a waiting getter; what is queued is still delivered
                watcher.put(Event("BOOKMARK", "", {}, self.revision))
        self.watchers.clear()

    async def wait_fresh(self, revision: int, seconds: float) -> bool:
        """Whether the cache reached `revision` within `seconds`. Waiters share progress
        requests: one is asked when none is outstanding, and again when a notification came
        that left some waiting (their revision was read after etcd answered)."""
        if self.revision >= revision:
            return True
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((revision, future))
        loop = asyncio.get_running_loop()
        deadline, pause = loop.time() + seconds, 0.05
        while True:
            if not self._asked or loop.time() >= self._asked_at + pause:
                # again after a pause: a request before the backend watch is open goes unheard
                await self._ask_progress()
            left = deadline - loop.time()
            if left <= 0:
                future.cancel()
                return False
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(future), min(pause, left))
                return True
            pause = min(pause * 2, 1.0)

    async def _ask_progress(self) -> None:
        backend = self.cacher.backend
        if isinstance(backend, ProgressRequester):
            self._asked, self._asked_at = True, asyncio.get_running_loop().time()
            await backend.request_progress()

    def get(self, key: str) -> Object | None:
        return self.objects.get(key)

    def list(self, prefix: str, start: str, limit: int) -> ListResult:
        lo = bisect.bisect_left(self.keys, max(prefix, start))
        hi = bisect.bisect_left(self.keys, _prefix_end(prefix))
        keys = self.keys[lo:hi]
        if limit and len(keys) > limit:
            return ListResult([self.objects[k] for k in keys[:limit]], self.revision,
                              len(keys) - limit, keys[limit])
        return ListResult([self.objects[k] for k in keys], self.revision)

    async def watch(self, prefix: str, after_revision: int,
                    sink: Sink | None = None) -> AsyncIterator[Event]:
        """History after `after_revision`, then live events; with a `sink`, the live events
        that come while this watch waits on its empty queue are written through the sink by
        `_apply`'s fan-out instead (`subscriber.deliver`)."""
        watcher = Subscriber(prefix, self.cacher.queue_length, sink)
        # replay and subscribe with no await in between: no event falls in a gap
        backlog = [e for e in self.history if e.revision > after_revision]
        self.watchers.add(watcher)
        try:
            for event in backlog:
                if event.key.startswith(prefix):
                    MORE.set(True)
                    yield event
            watcher.last = max([after_revision, *(e.revision for e in backlog)])
            queue = watcher.queue
            while not (watcher.ended and queue.empty()):
                event = await watcher.get()
                if event.revision > watcher.last:  # never a bookmark behind what was sent
                    watcher.last = event.revision
                    MORE.set(not queue.empty())
                    yield event
        finally:
            self.watchers.discard(watcher)

    async def stop(self) -> None:
        self._end_watchers()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


class Cacher:
    """Implements `storage.Storage` (and `ProgressRequester`, `CachedLister`) over `backend`."""

    def __init__(
        self, backend: Storage, *, history: int = HISTORY,
        queue_length: int = DEFAULT_LIMITS.watch_queue_length,
        fresh_timeout: float = FRESH_TIMEOUT,
        resource_of: Callable[[str], str] = resource_prefix,
    ) -> None:
        self.backend = backend
        self.history, self.queue_length = history, queue_length
        self.fresh_timeout = fresh_timeout
        self._resource_of = resource_of
        self._caches: dict[str, asyncio.Future[_ResourceCache]] = {}
        self._reading = False  # a revision read is in flight
        self._next_read: asyncio.Future[int] | None = None  # callers of the next read
        self._reader: asyncio.Future[None] | None = None

    async def _cache(self, prefix: str) -> _ResourceCache:
        resource = self._resource_of(prefix)
        pending = self._caches.get(resource)
        if pending is None:
            pending = self._caches[resource] = asyncio.get_running_loop().create_future()
            cache = _ResourceCache(self, resource)
            try:
                await cache.start()
            except BaseException as exc:
                del self._caches[resource]
                pending.set_exception(exc)
                pending.exception()  # retrieved: the caller gets it raised below
                raise
            pending.set_result(cache)
        return await asyncio.shield(pending)

    async def _current(self) -> int:
        """The backend's current revision, read after this call began. With no read in
        flight the caller reads it; one arriving while a read is in flight waits for the
        next read, which starts when that one ends and serves everyone who waited, so the
        revision is never older than the caller and concurrent callers share reads."""
        if not self._reading:
            self._reading = True
            try:
                return await self.backend.current_revision()
            finally:
                self._reading = False
                if self._next_read is not None and (self._reader is None or
                                                    self._reader.done()):
                    self._reader = asyncio.ensure_future(self._read_revisions())
        if self._next_read is None:
            self._next_read = asyncio.get_running_loop().create_future()
        return await asyncio.shield(self._next_read)

    async def _read_revisions(self) -> None:
        while (future := self._next_read) is not None:
            self._next_read = None
            self._reading = True
            try:
                future.set_result(await self.backend.current_revision())
            except Exception as exc:
                future.set_exception(exc)
                future.exception()  # retrieved: each caller gets it raised
            finally:
                self._reading = False

    async def _fresh(self, prefix: str) -> _ResourceCache | None:
        """The resource's cache once it holds every write done before this call (a
        consistent read), or None when it did not catch up in time: read the backend."""
        cache = await self._cache(prefix)
        current = await self._current()
        if await cache.wait_fresh(current, self.fresh_timeout):
            return cache
        log.info("watch cache %s: at %d, not %d within %.1fs; reading the backend",
                 cache.prefix, cache.revision, current, self.fresh_timeout)
        return None

    async def get(self, key: str, *, at_revision: int = 0) -> Object | None:
        """At the latest revision: from the cache once it caught up with the backend's
        current revision (as a consistent list); at a past revision: the backend."""
        if at_revision:
            return await self.backend.get(key, at_revision=at_revision)
        cache = await self._fresh(key)
        return cache.get(key) if cache is not None else await self.backend.get(key)

    async def get_cached(self, key: str, *, min_revision: int = 0) -> Object | None:
        """resourceVersion "0" (any) or "N" (not older than N): the cache as it is, once at
        `min_revision`; `FutureRevision` when it does not get there in time (a 504)."""
        cache = await self._cache(key)
        if min_revision and not await cache.wait_fresh(min_revision, self.fresh_timeout):
            raise FutureRevision(min_revision, cache.revision)
        return cache.get(key)

    async def list(
        self, prefix: str, *, start: str = "", limit: int = 0, at_revision: int = 0
    ) -> ListResult:
        if at_revision:
            return await self.backend.list(prefix, start=start, limit=limit,
                                           at_revision=at_revision)
        cache = await self._fresh(prefix)
        if cache is None:
            return await self.backend.list(prefix, start=start, limit=limit)
        return cache.list(prefix, start, limit)

    async def list_cached(self, prefix: str, *, start: str = "", limit: int = 0) -> ListResult:
        """resourceVersion "0": whatever the cache holds, no wait (upstream's cacher)."""
        return (await self._cache(prefix)).list(prefix, start, limit)

    async def create(self, key: str, obj: Object) -> Object:
        return await self.backend.create(key, obj)

    async def update(self, key: str, obj: Object, *, expected_revision: int | None) -> Object:
        return await self.backend.update(key, obj, expected_revision=expected_revision)

    async def delete(self, key: str, *, expected_revision: int | None = None) -> Object:
        return await self.backend.delete(key, expected_revision=expected_revision)

    async def current_revision(self) -> int:
        return await self._current()

    async def request_progress(self) -> None:
        if isinstance(self.backend, ProgressRequester):
            await self.backend.request_progress()

    async def watch(self, prefix: str, *, after_revision: int) -> AsyncIterator[Event]:
        sink = take_push(self)  # an idle watcher's events written by the fan-out itself
        cache = await self._cache(prefix)
        if after_revision < cache.oldest:
            # before the cache's window: the backend may still have it (or says Expired)
            async for event in self.backend.watch(prefix, after_revision=after_revision):
                yield event
            return
        async for event in cache.watch(prefix, after_revision, sink):
            yield event

    async def stop(self) -> None:
        """End every cache's backend watch and its watchers."""
        caches = [f.result() for f in self._caches.values() if f.done() and not f.exception()]
        self._caches.clear()
        for cache in caches:
            await cache.stop()

    def stats(self) -> dict[str, int]:
        """Per resource: watchers served from memory (a test and the docs read it)."""
        return {r: len(f.result().watchers) for r, f in self._caches.items()
                if f.done() and not f.exception()}

    async def start(self) -> None:
        """Nothing to do: each resource's cache starts on its first list or watch."""

    def __repr__(self) -> str:
        return f"Cacher({self.backend!r})"
