"""The wire encodings of stored objects, kept beside them: a list is a join of their bytes.

A stored object is never mutated (the storage contract), so its JSON, its
PartialObjectMetadata and its default Table row depend on the object alone: each is encoded
the first time a list needs it and found again by the object's identity. Entries are keyed
by (namespace, name, apiVersion), one per object stored and version read, so the cache is
bounded by the objects stored: an object replaced under its key replaces its entry (and the
store forgets a key it updates or deletes); a list of everything prunes keys gone meanwhile.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import orjson

from k8s_aggapi.storage.interface import Object

_Key = tuple[str, str, str]


def partial_metadata(obj: Object) -> Object:
    return {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
            "metadata": obj.get("metadata", {})}


Parts = tuple[bytes, bytes, bytes]


def around(body: Object, items: bytes) -> Parts:
    """`body` as JSON in three parts, its last member an empty list that gets `items` (the
    encoded elements, comma-separated) as its elements. Written part by part, a list kept
    joined is never copied into a new body."""
    head = orjson.dumps(body)
    if not head.endswith(b"[]}"):
        raise ValueError("the last member of the body is no empty list")
    return head[:-2], items, b"]}"


def _key(obj: Object) -> _Key:
    meta = obj.get("metadata") or {}
    return (meta.get("namespace", ""), meta.get("name", ""), obj.get("apiVersion", ""))


class Encodings:
    """The encodings of one key space's stored objects (shared by the stores over it), one
    table per view (JSON, PartialObjectMetadata, a convertor's Table rows). Found by
    identity (`id`, at C speed), held by key: one object per (namespace, name, apiVersion),
    so an id in a table is always the object's that was encoded. An equal object read again
    (same key and resourceVersion, e.g. a page decoded from etcd) finds the held one's."""

    def __init__(self) -> None:
        self._held: dict[int, tuple[Object, _Key]] = {}
        self._by_key: dict[_Key, Object] = {}
        self._views: dict[object, dict[int, bytes]] = {}
        self._counts: dict[str, int] = {}  # objects held per apiVersion
        # the last whole list of each (view, prefix), joined: its items (held) and bytes
        self._joined: dict[tuple[object, tuple[str, str]], tuple[list[Object], bytes]] = {}

    def __len__(self) -> int:
        return len(self._held)

    def encoded(self, items: Sequence[Object], view: object,
                encode: Callable[[Object], bytes]) -> list[bytes]:
        """`encode(obj)` of each item, computed once per stored object and `view`; `encode`
        must depend on the object alone."""
        table = self._views.get(view)
        if table is None:
            table = self._views[view] = {}
        out: list[bytes | None] = list(map(table.get, map(id, items)))
        if None in out:
            for i, part in enumerate(out):
                if part is None:
                    obj = self._holder(items[i])
                    part = table.get(id(obj))
                    out[i] = table[id(obj)] = encode(obj) if part is None else part
        return out  # type: ignore[return-value]  # no None left

    def joined(self, items: list[Object], view: object, encode: Callable[[Object], bytes],
               whole: tuple[str, str] | None = None) -> bytes:
        """`encoded` items joined with commas. `whole` (apiVersion, prefix) names a list that
        holds every object under the prefix: its join is kept and given again while the list
        has the same objects (any write through the stores forgets every join)."""
        if whole:
            kept = self._joined.get((view, whole))
            if kept is not None and kept[0] == items:  # by identity, at C speed
                return kept[1]
        out = b",".join(self.encoded(items, view, encode))
        if whole:
            self._joined[(view, whole)] = (list(items), out)
        return out

    def _holder(self, obj: Object) -> Object:
        """The object held for `obj`'s key: `obj` itself, or one read before at the same
        resourceVersion (the same stored state, e.g. decoded again from etcd)."""
        if id(obj) in self._held:
            return obj
        key = _key(obj)
        held = self._by_key.get(key)
        if held is not None:
            rv = (obj.get("metadata") or {}).get("resourceVersion")
            if rv and rv == held["metadata"].get("resourceVersion"):
                return held
        self._hold(obj, key, held)
        return obj

    def _hold(self, obj: Object, key: _Key, replaced: Object | None) -> None:
        if replaced is None:
            self._counts[key[2]] = self._counts.get(key[2], 0) + 1
        else:
            self._release(replaced)
        self._by_key[key] = obj
        self._held[id(obj)] = (obj, key)

    def _release(self, obj: Object) -> None:
        del self._held[id(obj)]
        for table in self._views.values():
            table.pop(id(obj), None)

    def _drop(self, key: _Key) -> None:
        obj = self._by_key.pop(key, None)
        if obj is not None:
            self._release(obj)
            self._counts[key[2]] -= 1

    def json(self, items: Sequence[Object]) -> list[bytes]:
        """Each object as JSON."""
        return self.encoded(items, "json", orjson.dumps)

    def partial(self, items: Sequence[Object]) -> list[bytes]:
        """Each object's PartialObjectMetadata as JSON."""
        return self.encoded(items, "partial", _partial_json)

    def rows(self, items: Sequence[Object], owner: object,
             cells: Callable[[Object], list[Any]], include_object: str) -> list[bytes]:
        """Each object's Table row as JSON, the object in it as `include_object` asks (None,
        Metadata or Object); `cells` must depend on the object alone, and `owner` (a table
        convertor) names it, so two convertors never share a row."""
        return self.encoded(items, (owner, include_object), lambda obj: orjson.dumps(
            table_row(cells(obj), obj, include_object)))

    def forget(self, namespace: str, name: str) -> None:
        """Drop every version's entry of the object under (namespace, name): it is replaced
        or deleted."""
        for version in self._counts:
            self._drop((namespace, name, version))
        self._joined.clear()

    def retain(self, items: Sequence[Object], api_version: str) -> None:
        """`items` are every object stored, in `api_version`, each held now: drop the
        entries of that version whose object is no longer stored (deleted behind this
        server's back, by another server on the same etcd)."""
        if self._counts.get(api_version, 0) <= len(items):
            return  # at most one held per listed object: none can be stale
        listed = {_key(o) for o in items}
        for key in [k for k in self._by_key if k[2] == api_version and k not in listed]:
            self._drop(key)
        self._joined.clear()


def table_row(cells: list[Any], obj: Object, include_object: str) -> Object:
    """A Table row on the wire, its object as `includeObject` asks."""
    if include_object == "Object":
        return {"cells": cells, "object": obj}
    if include_object == "None":
        return {"cells": cells}
    return {"cells": cells, "object": partial_metadata(obj)}


def _partial_json(obj: Object) -> bytes:
    return orjson.dumps(partial_metadata(obj))


class ListEncoding:
    """How a list's items are encoded: from `encodings`. `whole` is the list's prefix when
    it holds every object under it (no selector, no page); `complete` when that is every
    object stored in `api_version` (then entries of objects gone are dropped)."""

    __slots__ = ("api_version", "complete", "encodings", "whole")

    def __init__(self, encodings: Encodings, api_version: str, *, whole: str = "",
                 complete: bool = False) -> None:
        self.encodings, self.api_version = encodings, api_version
        self.whole, self.complete = whole, complete

    def _joined(self, items: list[Object], view: object,
                encode: Callable[[Object], bytes]) -> bytes:
        out = self.encodings.joined(items, view, encode,
                                    (self.api_version, self.whole) if self.whole else None)
        if self.complete:
            self.encodings.retain(items, self.api_version)
        return out

    def json(self, items: list[Object]) -> bytes:
        """The items as JSON, comma-separated."""
        return self._joined(items, "json", orjson.dumps)

    def partial(self, items: list[Object]) -> bytes:
        """The items' PartialObjectMetadata as JSON, comma-separated."""
        return self._joined(items, "partial", _partial_json)

    def rows(self, items: list[Object], owner: object,
             cells: Callable[[Object], list[Any]], include_object: str) -> bytes:
        """The items' Table rows as JSON, comma-separated (see `Encodings.rows`)."""
        return self._joined(items, (owner, include_object), lambda obj: orjson.dumps(
            table_row(cells(obj), obj, include_object)))
