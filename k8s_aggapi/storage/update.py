"""The guaranteed update: read, compute the new state with a function, compare-and-swap, retry.

Like Go's storage.Interface.GuaranteedUpdate, but built on the protocol's own compare-and-swap
(`update`/`delete` with `expected_revision`), so every backend gets it without a loop of its own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Final

from k8s_aggapi.storage.interface import Conflict, KeyNotFound, Object, Storage


class Delete:
    """Returned by an update function: remove the object (e.g. its last finalizer went)."""

    def __repr__(self) -> str:
        return "DELETE"


DELETE: Final = Delete()
UpdateFn = Callable[[Object], Awaitable[Object | Delete]]
ATTEMPTS = 100  # bounded; each attempt lost to another writer who did make progress


async def guaranteed_update(
    storage: Storage, key: str, update_fn: UpdateFn, *, dry_run: bool = False,
    attempts: int = ATTEMPTS,
) -> tuple[Object, bool]:
    """(the stored object, whether it was deleted). `update_fn(current)` returns the new state,
    `DELETE`, or `current` itself for no change; it raises to refuse (never retried here).

    A write that loses the compare-and-swap re-reads and calls `update_fn` again on what is
    current, so a patch is re-applied, never lost. Why the Store and not each backend: the
    loop needs nothing but the compare-and-swap the protocol already has (etcd's is a
    transaction on the key's mod revision), so one loop serves memory, etcd and any other
    backend, and the conformance suite checks the primitive it relies on. A new state equal
    to the current one is not written (upstream skips identical writes too), and neither is
    anything on `dry_run`. `KeyNotFound` when the key is (or becomes) absent; `Conflict` after
    `attempts` lost races.
    """
    current = await storage.get(key)
    for _ in range(attempts):
        if current is None:
            raise KeyNotFound(key)
        new = await update_fn(current)
        if isinstance(new, Delete):
            if dry_run:
                return current, True
        elif new is current or new == current:
            return current, False
        elif dry_run:
            return new, False
        revision = int(current["metadata"]["resourceVersion"])
        try:
            if isinstance(new, Delete):
                return await storage.delete(key, expected_revision=revision), True
            return await storage.update(key, new, expected_revision=revision), False
        except Conflict:
            current = await storage.get(key)
    raise Conflict(key)
