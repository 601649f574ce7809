"""Persistence behind one protocol: the generic store builds every REST semantic on it."""

from k8s_aggapi.storage.interface import (
    Conflict,
    Event,
    Expired,
    KeyExists,
    KeyNotFound,
    ListResult,
    Storage,
    StorageError,
)
from k8s_aggapi.storage.memory import MemoryStorage

__all__ = [
    "Conflict",
    "Event",
    "Expired",
    "KeyExists",
    "KeyNotFound",
    "ListResult",
    "MemoryStorage",
    "Storage",
    "StorageError",
]
