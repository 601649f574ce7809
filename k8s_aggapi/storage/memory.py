"""In-memory storage: the default backend, with a bounded history for watches and past reads.

Single process, no persistence. Revisions grow by one per write, like etcd's. The last
`history` writes are kept as events and as per-key versions, so a watch resumes and a read
(`get`/`list` with `at_revision`) sees one past revision; older ones fail with `Expired` (HTTP
410 upstream), as etcd's compaction does. A watcher that falls `watch_queue_length` events
behind is ended, as upstream's cacher ends it. A watcher idle on its empty queue whose
endpoint offered a sink (`subscriber.offer_push`) has its events written by the write itself.
"""

from __future__ import annotations

import asyncio
import bisect
import builtins
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator

from k8s_aggapi.limits import DEFAULT_LIMITS
from k8s_aggapi.storage.interface import (
    Conflict,
    Event,
    Expired,
    FutureRevision,
    KeyExists,
    KeyNotFound,
    ListResult,
    Object,
)
from k8s_aggapi.storage.subscriber import MORE, Subscriber, deliver, take_push

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
        # past reads: every key's versions (None: deleted) back to the compacted revision
        self._versions: dict[str, list[tuple[int, Object | None]]] = {}
        self._all_keys: list[str] = []  # keys with a kept version, sorted
        self._compacted = 0  # reads below this revision are Expired
        self._writes_since_sweep = 0
        self._watchers: set[Subscriber] = set()
        self._queue_length = watch_queue_length

    async def current_revision(self) -> int:
        return self._revision

    async def get(self, key: str, *, at_revision: int = 0) -> Object | None:
        if self._is_past(at_revision):
            return self._version_at(key, at_revision)
        entry = self._objects.get(key)
        return entry[0] if entry else None

    async def list(
        self, prefix: str, *, start: str = "", limit: int = 0, at_revision: int = 0
    ) -> ListResult:
        past = self._is_past(at_revision)
        index = self._all_keys if past else self._keys
        lo = bisect.bisect_left(index, max(prefix, start))
        end = _prefix_end(prefix)
        hi = len(index) if end is None else bisect.bisect_left(index, end)
        if past:
            return self._list_past(index[lo:hi], limit, at_revision)
        keys = index[lo:hi]
        if limit and len(keys) > limit:
            page, rest = keys[:limit], keys[limit:]
            return ListResult(
                [self._objects[k][0] for k in page], self._revision, len(rest), rest[0]
            )
        return ListResult([self._objects[k][0] for k in keys], self._revision, keys=keys)

    async def compact(self, revision: int) -> None:
        """Forget what is older than `revision`, as etcd's compaction does: reads below it and
        watches from before it fail with `Expired` (the history bound does this on its own)."""
        revision = min(revision, self._revision)
        if revision <= self._compacted:
            return
        self._compacted = revision
        while self._history and self._history[0].revision <= revision:
            self._history.popleft()
        self._sweep()

    # past reads -----------------------------------------------------------
    def _is_past(self, revision: int) -> bool:
        """Whether a read at `revision` needs the kept versions (False: the live state)."""
        if revision == 0 or revision == self._revision:
            return False
        if revision > self._revision:
            raise FutureRevision(revision, self._revision)
        if revision < self._compacted:
            raise Expired(revision, self._compacted)
        return True

    def _version_at(self, key: str, revision: int) -> Object | None:
        versions = self._versions.get(key)
        if not versions:
            return None
        at = bisect.bisect_right(versions, revision, key=lambda v: v[0])
        return versions[at - 1][1] if at else None

    def _list_past(
        self, keys: builtins.list[str], limit: int, revision: int
    ) -> ListResult:
        items: builtins.list[Object] = []
        for i, key in enumerate(keys):
            obj = self._version_at(key, revision)
            if obj is None:
                continue
            if limit and len(items) == limit:
                rest = sum(1 for k in keys[i:] if self._version_at(k, revision) is not None)
                return ListResult(items, revision, rest, key)
            items.append(obj)
        return ListResult(items, revision)

    def _keep(self, key: str, revision: int, obj: Object | None) -> None:
        versions = self._versions.get(key)
        if versions is None:
            versions = self._versions[key] = []
            bisect.insort(self._all_keys, key)
        versions.append((revision, obj))
        self._writes_since_sweep += 1
        if self._writes_since_sweep >= max(self._history.maxlen or 1, 64):
            self._sweep()

    def _sweep(self) -> None:
        """Drop versions no read at or above the compacted revision can see (amortised O(1))."""
        self._writes_since_sweep = 0
        floor = self._compacted
        for key in [k for k, v in self._versions.items() if v[0][0] < floor]:
            versions = self._versions[key]
            at = bisect.bisect_right(versions, floor, key=lambda v: v[0])
            kept = versions[at - 1:] if at else versions
            if len(kept) == 1 and kept[0][1] is None and kept[0][0] <= floor:
                del self._versions[key]
                self._all_keys.pop(bisect.bisect_left(self._all_keys, key))
            else:
                self._versions[key] = kept

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
        self._keep(key, self._revision, None)
        self._publish(Event("DELETED", key, last, self._revision))
        return last

    def _write(self, kind: str, key: str, obj: Object) -> Object:
        self._revision += 1
        stored = _stamp(obj, self._revision)
        prev = self._objects.get(key)
        self._objects[key] = (stored, self._revision)
        self._keep(key, self._revision, stored)
        self._publish(Event(kind, key, stored, self._revision,
                            prev[0] if prev is not None else None))
        return stored

    def _publish(self, event: Event) -> None:
        if len(self._history) == self._history.maxlen:
            # the oldest event is dropped: the state before it can no longer be read
            self._compacted = self._history[0].revision
        self._history.append(event)
        deliver(self._watchers, event)

    async def request_progress(self) -> None:
        """A BOOKMARK at the current revision to every watcher (all before it was queued)."""
        for watcher in self._watchers:
            with contextlib.suppress(asyncio.QueueFull):
                watcher.put(Event("BOOKMARK", "", {}, self._revision))

    async def watch(self, prefix: str, *, after_revision: int) -> AsyncIterator[Event]:
        watcher = Subscriber(prefix, self._queue_length, take_push(self))
        # Replay and subscribe with no await in between, so no event falls in a gap.
        oldest = self._history[0].revision if self._history else self._revision + 1
        if after_revision < self._revision and after_revision + 1 < oldest:
            raise Expired(after_revision, oldest - 1)
        backlog = [e for e in self._history if e.revision > after_revision]
        self._watchers.add(watcher)
        try:
            for event in backlog:
                if event.key.startswith(prefix):
                    MORE.set(True)
                    yield event
            # A getter waits only on an empty queue, which cannot overflow: no lost wake-up.
            queue = watcher.queue
            while not (watcher.ended and queue.empty()):
                event = await watcher.get()
                MORE.set(not queue.empty())
                yield event
        finally:
            self._watchers.discard(watcher)
