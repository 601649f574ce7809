"""Persistence behind one protocol: the generic store builds every REST semantic on it."""

from k8s_aggapi.storage.interface import (
    Conflict,
    Event,
    Expired,
    FutureRevision,
    KeyExists,
    KeyNotFound,
    ListResult,
    Storage,
    StorageError,
    Unavailable,
)
from k8s_aggapi.storage.memory import MemoryStorage
from k8s_aggapi.storage.update import DELETE, UpdateFn, guaranteed_update

__all__ = [
    "DELETE",
    "Conflict",
    "Event",
    "Expired",
    "FutureRevision",
    "KeyExists",
    "KeyNotFound",
    "ListResult",
    "MemoryStorage",
    "Storage",
    "StorageError",
    "Unavailable",
    "UpdateFn",
    "guaranteed_update",
]
