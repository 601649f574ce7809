"""How a model declares the merge semantics of a list or map field.

The same OpenAPI extensions kube-apiserver publishes carry them, so strategic merge patch,
server-side apply and clients (kubectl's client-side apply, `kubectl explain`) all read one
declaration::

    class FlunderSpec(KubeModel):
        ports: list[Port] | None = Field(default=None, json_schema_extra=list_map("name"))
        tags: list[str] | None = Field(default=None, json_schema_extra=list_set())

`list_map(*keys)` is a Go field tagged `patchStrategy:"merge" patchMergeKey:"<first key>"` and
`+listType=map +listMapKeys=...`: items are merged by their keys. `list_set()` is a set of
scalars, merged by value. `list_atomic()` (and any list declared with nothing) is replaced
whole. `map_atomic()` makes an object field replaced whole by apply instead of merged.
"""

from __future__ import annotations

from typing import Any

LIST_TYPE = "x-kubernetes-list-type"
LIST_MAP_KEYS = "x-kubernetes-list-map-keys"
MAP_TYPE = "x-kubernetes-map-type"
PATCH_STRATEGY = "x-kubernetes-patch-strategy"
PATCH_MERGE_KEY = "x-kubernetes-patch-merge-key"


def list_map(*keys: str, retain_keys: bool = False) -> dict[str, Any]:
    """Items are objects identified by `keys` (the first is the strategic merge key)."""
    if not keys:
        raise ValueError("list_map needs at least one key")
    strategy = "merge,retainKeys" if retain_keys else "merge"
    return {LIST_TYPE: "map", LIST_MAP_KEYS: list(keys), PATCH_STRATEGY: strategy,
            PATCH_MERGE_KEY: keys[0]}


def list_set() -> dict[str, Any]:
    """Items are unique scalars, merged by value."""
    return {LIST_TYPE: "set", PATCH_STRATEGY: "merge"}


def list_atomic() -> dict[str, Any]:
    """The list is replaced whole (the default for a list declared with nothing)."""
    return {LIST_TYPE: "atomic"}


def map_atomic() -> dict[str, Any]:
    """The object is replaced whole by apply, and owned as one field."""
    return {MAP_TYPE: "atomic"}
