"""A small expiring LRU cache with an injectable clock.

Used by the TokenReview authenticator and the SubjectAccessReview authorizer, which cache
kube-apiserver's answers for a few seconds like upstream's webhook caches.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")

Clock = Callable[[], float]


class ExpiringCache(Generic[K, V]):
    """Entries live for the TTL given when stored; the least recently used go first when full."""

    def __init__(self, max_size: int = 4096, clock: Clock = time.monotonic) -> None:
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()
        self._max_size = max_size
        self._clock = clock

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> tuple[bool, V | None]:
        """`(True, value)` for a live entry, `(False, None)` otherwise."""
        entry = self._entries.get(key)
        if entry is None:
            return False, None
        expires, value = entry
        if self._clock() >= expires:
            del self._entries[key]
            return False, None
        self._entries.move_to_end(key)
        return True, value

    def set(self, key: K, value: V, ttl: float) -> None:
        if ttl <= 0:
            return
        self._entries[key] = (self._clock() + ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self._max_size:
            self._entries.popitem(last=False)
