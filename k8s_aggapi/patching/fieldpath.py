"""Field sets: which fields of an object a manager owns, in managedFields' `FieldsV1` form.

A path is a tuple of elements spelled as in `fieldsV1`: `f:<field>` (an object's field),
`k:{"name":"a"}` (the item of an associative list with those key values), `v:"x"` (the item
of a set) and `i:<n>` (an item by index). A set holds member paths; in `fieldsV1` a member
that also has members below it carries `".": {}`, as upstream's structured-merge-diff writes
it. What is a member follows structured-merge-diff's rules: scalars, atomic lists and maps,
the items of granular lists, entries of maps with no declared fields, and null or empty
objects.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

import orjson

from k8s_aggapi.patching.schema import Schema

Path = tuple[str, ...]
_CONTAINER: Final = object()  # the value recorded for a member that holds other members
# deeper values are owned whole: a field set is then never much deeper than its object
MAX_PATH_LENGTH: Final = 64


def field(name: str) -> str:
    return f"f:{name}"


def _json(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode()


def key_element(item: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    """`k:{...}` for an associative list's item (None when the item lacks a key)."""
    if not all(k in item for k in keys):
        return None
    return "k:" + _json({k: item[k] for k in keys})


def value_element(value: Any) -> str:
    return "v:" + _json(value)


class Flattened(dict[Path, Any]):
    """Every member path of an object, with its value (leaves) or a container marker."""


def flatten(obj: Any, schema: Schema, prefix: Path = (), *, maps: bool = False) -> Flattened:
    """The members of `obj`; with `maps`, every non-empty object or granular list is a member
    too, as upstream's comparison of two objects counts a container that appears as added
    (`.` in an Update's field set, never in an Apply's)."""
    out = Flattened()
    _walk(obj, schema, prefix, out, maps)
    return out


def _walk(value: Any, schema: Schema, path: Path, out: dict[Path, Any],
          maps: bool = False) -> None:
    if len(path) >= MAX_PATH_LENGTH:
        out[path] = value
        return
    if isinstance(value, list):
        if schema.kind != "list" or schema.list_type == "atomic":
            out[path] = value
            return
        item = schema.item()
        if schema.list_type == "set":
            if any(isinstance(v, dict | list) for v in value):
                out[path] = value
                return
            if maps and value:
                out[path] = _CONTAINER
            for v in value:
                out[(*path, value_element(v))] = v
            return
        elements = [key_element(v, schema.keys) if isinstance(v, dict) else None
                    for v in value]
        if None in elements or len(set(elements)) != len(elements):
            out[path] = value  # no keys to tell the items apart: owned as one value
            return
        if maps:
            out[path] = _CONTAINER
        for element, v in zip(elements, value, strict=True):
            assert element is not None
            child = (*path, element)
            if item.atomic_map:
                out[child] = v  # an atomic item is one value
                continue
            out[child] = _CONTAINER
            _walk_fields(v, item, child, out, maps)
        return
    if isinstance(value, dict):
        if schema.atomic_map and schema.kind in ("struct", "map"):
            out[path] = value
            return
        if maps and value and path:
            out[path] = _CONTAINER
        _walk_fields(value, schema, path, out, maps)
        return
    out[path] = value


def _walk_fields(value: dict[str, Any], schema: Schema, path: Path,
                 out: dict[Path, Any], maps: bool) -> None:
    for name, v in value.items():
        child = (*path, field(name))
        child_schema = schema.field(name)
        _walk(v, child_schema, child, out, maps)
        if v is None or v == {}:
            out[child] = v
        elif isinstance(v, dict) and not schema.declares(name) and child not in out:
            out[child] = _CONTAINER


def field_set(obj: Any, schema: Schema) -> frozenset[Path]:
    return frozenset(flatten(obj, schema))


def changed(old: Flattened, new: Flattened) -> tuple[frozenset[Path], frozenset[Path]]:
    """(added or modified, removed) member paths from `old` to `new`."""
    touched = {p for p, v in new.items()
               if p not in old or (v is not _CONTAINER and not _same(old[p], v))}
    return frozenset(touched), frozenset(p for p in old if p not in new)


_ABSENT: Final = object()


def diff(old: Any, new: Any, schema: Schema, skip: frozenset[Path] = frozenset(), *,
         maps: bool = False) -> tuple[frozenset[Path], frozenset[Path]]:
    """`changed(flatten(old), flatten(new))`, walking only where the two differ: an update
    that changes one field looks at that field, not at the whole object. `skip`: paths left
    out, with everything below them. Equal subtrees are found by Python's `==`, which takes
    a `true` for a `1` inside them: such a change of type alone is not seen."""
    touched: set[Path] = set()
    removed: set[Path] = set()
    _diff(old, new, schema, (), skip, maps, True, touched, removed)
    return frozenset(touched), frozenset(removed)


def _diff(old: Any, new: Any, schema: Schema, path: Path, skip: frozenset[Path], maps: bool,
          declared: bool, touched: set[Path], removed: set[Path]) -> None:
    if path in skip or (type(old) is type(new) and old == new):
        return
    if (isinstance(old, dict) and isinstance(new, dict) and old and new
            and not (schema.atomic_map and schema.kind in ("struct", "map"))
            and len(path) < MAX_PATH_LENGTH - 1):
        for name in {**old, **new}:
            _diff(old.get(name, _ABSENT), new.get(name, _ABSENT), schema.field(name),
                  (*path, field(name)), skip, maps, schema.declares(name), touched, removed)
        return
    sides = []
    for value in (old, new):
        members: dict[Path, Any] = {}
        if value is not _ABSENT:
            _walk(value, schema, path, members, maps)
            if path and (value is None or value == {}):
                members[path] = value
            elif path and isinstance(value, dict) and not declared and path not in members:
                members[path] = _CONTAINER
        sides.append(Flattened(members))
    add, gone = changed(sides[0], sides[1])
    touched.update(add)
    removed.update(gone)


def _same(a: Any, b: Any) -> bool:
    if a is _CONTAINER or b is _CONTAINER:  # an empty object is the same container
        other = b if a is _CONTAINER else a
        return other is _CONTAINER or (isinstance(other, dict | list) and not other)
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, dict | list) or isinstance(b, dict | list):
        return _json(a) == _json(b)
    return bool(a == b)


# fieldsV1 -------------------------------------------------------------------------------
def to_fields_v1(paths: Iterable[Path]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    members = set(paths)
    for path in sorted(members):
        node = root
        for element in path:
            node = node.setdefault(element, {})
    for path in members:
        node = root
        for element in path:
            node = node[element]
        if node:
            node["."] = {}
    return _sorted(root)


def _sorted(node: dict[str, Any]) -> dict[str, Any]:
    return {k: _sorted(node[k]) for k in sorted(node)}


def from_fields_v1(doc: Any, prefix: Path = ()) -> frozenset[Path]:
    """The member paths of a `fieldsV1` document (anything not shaped so yields nothing)."""
    out: set[Path] = set()
    if not isinstance(doc, dict):
        return frozenset()
    for element, sub in doc.items():
        if element == ".":
            out.add(prefix)
            continue
        path = (*prefix, element)
        if isinstance(sub, dict) and sub:
            out |= from_fields_v1(sub, path)
        else:
            out.add(path)
    return frozenset(out)


def valid_fields_v1(doc: Any) -> bool:
    if not isinstance(doc, dict):
        return False
    for element, sub in doc.items():
        if not isinstance(sub, dict):
            return False
        if element == ".":
            if sub:
                return False
            continue
        if not (isinstance(element, str) and element[:2] in ("f:", "k:", "v:", "i:")):
            return False
        if not valid_fields_v1(sub):
            return False
    return True


# how upstream prints a path (fieldpath.Path.String) ------------------------------------
def path_string(path: Path) -> str:
    out = []
    for element in path:
        kind, body = element[:2], element[2:]
        if kind == "f:":
            out.append("." + body)
        elif kind == "k:":
            try:
                keys = orjson.loads(body)
            except orjson.JSONDecodeError:
                keys = {}
            out.append("[" + ",".join(f"{k}={_json(v)}" for k, v in keys.items()) + "]")
        elif kind == "v:":
            out.append(f"[={body}]")
        else:
            out.append(f"[{body}]")
    return "".join(out)
