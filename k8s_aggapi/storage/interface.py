"""The storage contract: keyed JSON objects, one revision counter, compare-and-swap, watch.

A backend knows nothing of HTTP, groups or kinds; it stores dicts under string keys and
stamps `metadata.resourceVersion` with its revision. Objects it returns must not be mutated.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

Object = dict[str, Any]


class StorageError(Exception):
    """Base of the backend errors; the generic store maps each to a StatusError."""


class KeyNotFound(StorageError):
    pass


class KeyExists(StorageError):
    pass


class Conflict(StorageError):
    """The stored revision is not the expected one."""


class Unavailable(StorageError):
    """The backend could not be reached or did not answer in time (etcd down, no leader)."""


class Expired(StorageError):
    """The requested revision is older than the backend still remembers."""

    def __init__(self, requested: int, oldest: int) -> None:
        super().__init__(f"too old resource version: {requested} ({oldest})")
        self.requested = requested
        self.oldest = oldest


class FutureRevision(StorageError):
    """The requested revision is above the backend's current one."""

    def __init__(self, requested: int, current: int) -> None:
        super().__init__(f"Too large resource version: {requested}, current: {current}")
        self.requested = requested
        self.current = current


@dataclass(frozen=True)
class Event:
    """A change: type is ADDED, MODIFIED or DELETED; `object` is the new (or last) state.

    A backend may also yield BOOKMARK events (no key, empty object): every event under the
    prefix up to `revision` was delivered (etcd's progress notifications). `prev` is the
    state a MODIFIED event replaced, when the backend knows it (a selector's watch needs it
    to see an object leave or enter the selection, as upstream's watch cache does)."""

    type: str
    key: str
    object: Object
    revision: int
    prev: Object | None = None


@dataclass(frozen=True)
class ListResult:
    items: list[Object]
    revision: int
    remaining: int = 0  # items after this page; 0 = complete
    next_key: str = ""
    keys: Sequence[str] = ()  # the items' keys, in order, when the backend tells them


@runtime_checkable
class Storage(Protocol):
    """Reads take `at_revision` (0: the latest): the state as it was right after that write,
    `Expired` when it is older than the backend keeps, `FutureRevision` when above current."""

    async def get(self, key: str, *, at_revision: int = 0) -> Object | None: ...

    async def list(
        self, prefix: str, *, start: str = "", limit: int = 0, at_revision: int = 0
    ) -> ListResult:
        """Objects under `prefix` in key order, from key `start` on, at most `limit` (0: all),
        all at one revision (`ListResult.revision`: the one read)."""
        ...

    async def create(self, key: str, obj: Object) -> Object: ...

    async def update(self, key: str, obj: Object, *, expected_revision: int | None) -> Object: ...

    async def delete(self, key: str, *, expected_revision: int | None = None) -> Object: ...

    def watch(self, prefix: str, *, after_revision: int) -> AsyncIterator[Event]:
        """Events under `prefix` with a revision above `after_revision`, then live ones."""
        ...

    async def current_revision(self) -> int: ...


@runtime_checkable
class ProgressRequester(Protocol):
    """A backend whose watches yield a BOOKMARK at the current revision soon when asked:
    the watch cache uses it to know it is up to date (etcd's progress requests)."""

    async def request_progress(self) -> None: ...


@runtime_checkable
class CachedLister(Protocol):
    """A backend that can answer a list from memory without first catching up with the
    latest revision: what resourceVersion "0" ("any") allows, as upstream's watch cache
    serves it. The result is at a revision at least as new as the cache's start."""

    async def list_cached(self, prefix: str, *, start: str = "", limit: int = 0) -> ListResult:
        ...
