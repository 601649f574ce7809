"""Server-side apply: merge an apply configuration into the live object as its manager.

As upstream's structured-merge-diff: the configuration is merged by the schema (objects field
by field, associative lists by key, sets by value, anything atomic replaced); the fields it
would change that another manager owns are conflicts (a 409 naming each manager and field)
unless `force`, which takes them over; the manager's field set becomes exactly the fields of
its configuration, and the fields it applied before but no longer does are removed from the
object when no other manager owns them.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import orjson

from k8s_aggapi.errors import StatusError
from k8s_aggapi.patching import fieldpath, managedfields
from k8s_aggapi.patching.fieldpath import Path
from k8s_aggapi.patching.managedfields import APPLY, Entry
from k8s_aggapi.patching.schema import Schema


def merge(live: Any, config: Any, schema: Schema) -> Any:
    """`config` merged into `live` (neither is modified)."""
    if isinstance(config, dict) and isinstance(live, dict) and not (
            schema.atomic_map and schema.kind in ("struct", "map")):
        out = dict(live)
        for key, value in config.items():
            if value is None:
                out.pop(key, None)
            else:
                out[key] = merge(live.get(key), value, schema.field(key))
        return out
    if isinstance(config, list) and isinstance(live, list) and schema.kind == "list":
        if schema.list_type == "set":
            out_list = list(live)
            for value in config:
                if value not in out_list:
                    out_list.append(value)
            return out_list
        if schema.list_type == "map":
            return _merge_map_list(live, config, schema)
    return config


def _merge_map_list(live: list[Any], config: list[Any], schema: Schema) -> list[Any]:
    keys = schema.keys
    elements = [fieldpath.key_element(v, keys) if isinstance(v, dict) else None for v in config]
    if None in elements:
        return config
    out = list(live)
    where = {fieldpath.key_element(v, keys): i for i, v in enumerate(out) if isinstance(v, dict)}
    for element, value in zip(elements, config, strict=True):
        at = where.get(element)
        if at is None:
            where[element] = len(out)
            out.append(value)
        else:
            out[at] = merge(out[at], value, schema.item())
    return out


def conflict_error(conflicts: list[tuple[Entry, Path]]) -> StatusError:
    """Upstream's NewApplyConflict: 409, a cause per field, the message in its words."""
    ordered = sorted(conflicts, key=lambda c: (c[0].manager, c[0].operation,
                                               fieldpath.path_string(c[1])))
    causes = [{"reason": "FieldManagerConflict", "message": f"conflict with {e.describe()}",
               "field": fieldpath.path_string(p)} for e, p in ordered]
    if len(ordered) == 1:
        entry, path = ordered[0]
        message = (f"Apply failed with 1 conflict: conflict with {entry.describe()}: "
                   f"{fieldpath.path_string(path)}")
    else:
        lines: list[str] = []
        last = None
        for entry, path in ordered:
            if entry != last:
                lines.append(f"conflicts with {entry.describe()}:")
                last = entry
            lines.append(f"- {fieldpath.path_string(path)}")
        message = f"Apply failed with {len(ordered)} conflicts: " + "\n".join(lines)
    return StatusError(message, 409, "Conflict", {"causes": causes})


def apply(live: dict[str, Any] | None, config: dict[str, Any], manager: str,
          api_version: str, now: str, schema: Schema, *, force: bool = False) -> dict[str, Any]:
    """The object after `manager` applied `config` over `live` (None: it does not exist)."""
    current = dict(live) if live is not None else {}
    entries = managedfields.decode((current.get("metadata") or {}).get("managedFields")) or []
    config_flat = managedfields.owned(config, schema)
    applied = frozenset(config_flat)
    merged = merge(current, config, schema)
    touched, _ = managedfields.changes(current, merged, schema)
    me = Entry(manager, APPLY, api_version, now, applied)
    mine: Entry | None = None
    others: list[Entry] = []
    conflicts: list[tuple[Entry, Path]] = []
    for entry in entries:
        if entry.same_owner(me):
            mine = entry
            continue
        clash = entry.fields & touched
        conflicts.extend((entry, p) for p in clash)
        others.append(replace(entry, fields=entry.fields - clash, raw=None) if clash else entry)
    if conflicts and not force:
        raise conflict_error(conflicts)
    owned_by_others = frozenset().union(*(e.fields for e in others))
    previous = mine.fields if mine is not None else frozenset()
    merged = _prune(merged, previous - applied - owned_by_others, owned_by_others, schema)
    unchanged = mine is not None and mine.fields == applied and _without_managed(
        merged) == _without_managed(current)
    entry = mine if unchanged and mine is not None else me
    meta = dict(merged.get("metadata") or {})
    meta["managedFields"] = managedfields.encode([*others, entry])
    merged["metadata"] = meta
    return dict(merged)


def _without_managed(obj: dict[str, Any]) -> dict[str, Any]:
    meta = dict(obj.get("metadata") or {})
    meta.pop("managedFields", None)
    return {**obj, "metadata": meta} if "metadata" in obj else obj


def _prune(obj: dict[str, Any], remove: frozenset[Path], keep: frozenset[Path],
           schema: Schema) -> dict[str, Any]:
    """`obj` without the members `remove`; a member another manager owns something inside
    of stays (never lose another manager's data), its own members go one by one."""
    out = obj
    done: list[Path] = []
    for path in sorted(remove, key=len):
        if any(path[:len(d)] == d for d in done):
            continue
        if any(len(k) > len(path) and k[:len(path)] == path for k in keep):
            continue
        if _is_key_of_kept_item(path, done):
            continue
        out = _remove(out, path, schema)
        done.append(path)
    return out


def _is_key_of_kept_item(path: Path, removed: list[Path]) -> bool:
    """A key field of a list item: it goes with its item or not at all."""
    if len(path) < 2 or not path[-2].startswith("k:") or not path[-1].startswith("f:"):
        return False
    try:
        keys = orjson.loads(path[-2][2:])
    except orjson.JSONDecodeError:
        return False
    return path[-1][2:] in keys and path[:-1] not in removed


def _remove(value: Any, path: Path, schema: Schema) -> Any:
    if not path:
        return value
    element, rest = path[0], path[1:]
    kind, body = element[:2], element[2:]
    if kind == "f:" and isinstance(value, dict) and body in value:
        out = dict(value)
        child = schema.field(body)
        if rest:
            out[body] = _remove(value[body], rest, child)
            if out[body] in ({}, []) and child.kind in ("map", "list", "any"):
                del out[body]  # emptied: gone, as Go omits an empty map or slice
        else:
            del out[body]
        return out
    if isinstance(value, list) and kind in ("k:", "v:"):
        out_list = []
        for item in value:
            if kind == "k:" and isinstance(item, dict):
                match = fieldpath.key_element(item, schema.keys) == element
            else:
                match = kind == "v:" and fieldpath.value_element(item) == element
            if not match:
                out_list.append(item)
            elif rest:
                out_list.append(_remove(item, rest, schema.item()))
        return out_list
    return value
