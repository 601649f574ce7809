"""In-memory storage: the default backend, with a bounded event history for watch resumes.

Single process, no persistence. Revisions grow by one per write, like etcd's; a watch from a
revision older than the history it keeps fails with `Expired` (HTTP 410 upstream). A watcher
that falls `watch_queue_length` events behind is ended, as upstream's cacher ends it.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections import deque
from collections.abc import AsyncIterator

from k8s_aggapi.limits import DEFAULT_LIMITS
from k8s_aggapi.storage.interface import (
    Conflict,
    Event,
    Expired,
    KeyExists,
    KeyNotFound,
    ListResult,
    Object,
)

log = logging.getLogger("k8s_aggapi.storage")


def _prefix_end(prefix: str) -> str | None:
    """The smallest key above every key that starts with `prefix` (None: no bound).

    Like etcd's range end for a prefix: the last character incremented. A sentinel such as
    `prefix + "\\uffff"` is not enough, since keys may hold characters above U+FFFF.
    """
    while prefix and prefix[-1] == chr(0x10FFFF):
        prefix = prefix[:-1]
    return prefix[:-1] + chr(ord(prefix[-1]) + 1) if prefix else None


def _stamp(obj: Object, revision: int) -> Object:
    meta = dict(obj.get("metadata") or {})
    meta["resourceVersion"] = str(revision)
    return {**obj, "metadata": meta}


class _Watcher:
    """One subscriber: its key prefix, its bounded queue, and whether it was ended."""

    __slots__ = ("ended", "prefix", "queue")

    def __init__(self, prefix: str, size: int) -> None:
        self.prefix = prefix
        self.queue: asyncio.Queue[Event] = asyncio.Queue(size)
        self.ended = False


class MemoryStorage:
    """Implements `storage.Storage`; share one instance between resources if you like."""

    def __init__(
        self, *, history: int = 10_000,
        watch_queue_length: int = DEFAULT_LIMITS.watch_queue_length,
    ) -> None:
        if watch_queue_length < 1:
            raise ValueError("watch_queue_length must be at least 1")
        self._objects: dict[str, tuple[Object, int]] = {}
        self._keys: list[str] = []
        self._revision = 0
        self._history: deque[Event] = deque(maxlen=history)
        self._watchers: set[_Watcher] = set()
        self._queue_length = watch_queue_length

    async def current_revision(self) -> int:
        return self._revision

    async def get(self, key: str) -> Object | None:
        entry = self._objects.get(key)
        return entry[0] if entry else None

    async def list(self, prefix: str, *, start: str = "", limit: int = 0) -> ListResult:
        lo = bisect.bisect_left(self._keys, max(prefix, start))
        end = _prefix_end(prefix)
        hi = len(self._keys) if end is None else bisect.bisect_left(self._keys, end)
        keys = self._keys[lo:hi]
        if limit and len(keys) > limit:
            page, rest = keys[:limit], keys[limit:]
            return ListResult(
                [self._objects[k][0] for k in page], self._revision, len(rest), rest[0]
            )
        return ListResult([self._objects[k][0] for k in keys], self._revision)

    async def create(self, key: str, obj: Object) -> Object:
        if key in self._objects:
            raise KeyExists(key)
        bisect.insort(self._keys, key)
        return self._write("ADDED", key, obj)

    async def update(self, key: str, obj: Object, *, expected_revision: int | None) -> Object:
        entry = self._objects.get(key)
        if entry is None:
            raise KeyNotFound(key)
        if expected_revision is not None and entry[1] != expected_revision:
            raise Conflict(key)
        return self._write("MODIFIED", key, obj)

    async def delete(self, key: str, *, expected_revision: int | None = None) -> Object:
        entry = self._objects.get(key)
        if entry is None:
            raise KeyNotFound(key)
        if expected_revision is not None and entry[1] != expected_revision:
            raise Conflict(key)
        del self._objects[key]
        self._keys.pop(bisect.bisect_left(self._keys, key))
        self._revision += 1
        last = _stamp(entry[0], self._revision)
        self._publish(Event("DELETED", key, last, self._revision))
        return last

    def _write(self, kind: str, key: str, obj: Object) -> Object:
        self._revision += 1
        stored = _stamp(obj, self._revision)
        self._objects[key] = (stored, self._revision)
        self._publish(Event(kind, key, stored, self._revision))
        return stored

    def _publish(self, event: Event) -> None:
        self._history.append(event)
        unresponsive: list[_Watcher] = []
        for watcher in self._watchers:
            if event.key.startswith(watcher.prefix):
                try:
                    watcher.queue.put_nowait(event)
                except asyncio.QueueFull:
                    unresponsive.append(watcher)
        for watcher in unresponsive:
            # What is queued is still delivered, then the stream ends: the client resumes
            # from the last resourceVersion it saw, so nothing is lost.
            log.info("Forcing watcher close due to unresponsiveness: key: %r. "
                     "len(queue) = %d, cap(queue) = %d", watcher.prefix,
                     watcher.queue.qsize(), watcher.queue.maxsize)
            watcher.ended = True
            self._watchers.discard(watcher)

    async def watch(self, prefix: str, *, after_revision: int) -> AsyncIterator[Event]:
        watcher = _Watcher(prefix, self._queue_length)
        # Replay and subscribe with no await in between, so no event falls in a gap.
        oldest = self._history[0].revision if self._history else self._revision + 1
        if after_revision < self._revision and after_revision + 1 < oldest:
            raise Expired(after_revision, oldest - 1)
        backlog = [e for e in self._history if e.revision > after_revision]
        self._watchers.add(watcher)
        try:
            for event in backlog:
                if event.key.startswith(prefix):
                    yield event
            # A getter waits only on an empty queue, which cannot overflow: no lost wake-up.
            while not (watcher.ended and watcher.queue.empty()):
                yield await watcher.queue.get()
        finally:
            self._watchers.discard(watcher)
