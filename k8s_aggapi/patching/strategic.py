"""Strategic merge patch (`application/strategic-merge-patch+json`), as upstream's
k8s.io/apimachinery/pkg/util/strategicpatch applies a patch to an object.

Objects merge field by field (`null` deletes a field). A list whose schema declares the
`merge` strategy merges: by its merge key for objects (`list_map`), by value for scalars
(`list_set`); any other list is replaced. The directives:

- `$patch: replace | delete | merge` in an object (replace the object, delete it, default);
  `{"$patch": "replace"}` as a list item replaces the list with the patch's other items;
  `{"<key>": v, "$patch": "delete"}` deletes the item whose merge key is `v`.
- `$retainKeys: [...]`: the object keeps only those fields (the patch may set no others).
- `$deleteFromPrimitiveList/<field>: [...]`: those values leave a merged scalar list.
- `$setElementOrder/<field>: [...]`: the order of the merged list's items (items the patch
  does not name keep their place relative to the others).
"""

from __future__ import annotations

from typing import Any, Final

import orjson

from k8s_aggapi.errors import BadRequest, StatusError
from k8s_aggapi.patching.schema import Schema

PATCH: Final = "$patch"
RETAIN_KEYS: Final = "$retainKeys"
DELETE_FROM_PRIMITIVE_LIST: Final = "$deleteFromPrimitiveList/"
SET_ELEMENT_ORDER: Final = "$setElementOrder/"
_DIRECTIVES = (PATCH, RETAIN_KEYS)
_PREFIXES = (DELETE_FROM_PRIMITIVE_LIST, SET_ELEMENT_ORDER)


class _Deleted:
    pass


_DELETED: Final = _Deleted()


def _invalid_patch(message: str) -> StatusError:
    """What upstream's patch handler answers for a strategic patch that cannot apply."""
    return StatusError(message, 422, "Invalid")


def _is_directive(key: str) -> bool:
    return key in _DIRECTIVES or key.startswith(_PREFIXES)


def strategic_merge_patch(original: dict[str, Any], patch: Any, schema: Schema) -> dict[str, Any]:
    """`original` with `patch` applied; neither is modified."""
    if not isinstance(patch, dict):
        raise BadRequest("invalid JSON document")
    result = _merge_map(original, patch, schema)
    return {} if isinstance(result, _Deleted) else result


def _merge_map(original: dict[str, Any], patch: dict[str, Any],
               schema: Schema) -> dict[str, Any] | _Deleted:
    directive = patch.get(PATCH)
    if directive == "replace":
        replaced: dict[str, Any] = _strip({k: v for k, v in patch.items() if k != PATCH}, schema)
        return replaced
    if directive == "delete":
        return _DELETED
    if directive not in (None, "merge"):
        raise BadRequest(f"unknown patch type: {directive} in map: {_go_map(patch)}")
    result = dict(original)
    if RETAIN_KEYS in patch:
        retain = patch[RETAIN_KEYS]
        if not isinstance(retain, list) or not all(isinstance(k, str) for k in retain):
            raise BadRequest("invalid patch format of retainKeys")
        for key, value in patch.items():
            if not _is_directive(key) and value is not None and key not in retain:
                raise _invalid_patch("patch content doesn't match retainKeys list")
        result = {k: v for k, v in result.items() if k in retain}
    orders: dict[str, list[Any]] = {}
    for key, value in patch.items():
        if key.startswith(DELETE_FROM_PRIMITIVE_LIST):
            name = key[len(DELETE_FROM_PRIMITIVE_LIST):]
            if not isinstance(value, list):
                raise BadRequest("invalid patch format of primitive list")
            current = result.get(name)
            if isinstance(current, list):
                result[name] = [v for v in current if not any(_equal(v, d) for d in value)]
        elif key.startswith(SET_ELEMENT_ORDER):
            if not isinstance(value, list):
                raise BadRequest("invalid patch format of setElementOrder list")
            orders[key[len(SET_ELEMENT_ORDER):]] = value
    for key, value in patch.items():
        if _is_directive(key):
            continue
        if value is None:
            result.pop(key, None)
            continue
        merged = _merge_value(result.get(key), value, schema.field(key))
        if isinstance(merged, _Deleted):
            result.pop(key, None)
        else:
            result[key] = merged
    for key, order in orders.items():
        if isinstance(result.get(key), list):
            live = original.get(key)
            result[key] = _reorder(result[key], order, schema.field(key),
                                   live if isinstance(live, list) else [])
    return result


def _strip(value: Any, schema: Schema) -> Any:
    """A value taken whole from the patch, its directives applied to nothing."""
    if isinstance(value, dict):
        merged = _merge_map({}, value, schema)
        return {} if isinstance(merged, _Deleted) else merged
    if isinstance(value, list):
        merged = _merge_value(None, value, schema)
        return [] if isinstance(merged, _Deleted) else merged
    return value


def _merge_value(original: Any, patch: Any, schema: Schema) -> Any:
    if isinstance(patch, dict):
        return _merge_map(original if isinstance(original, dict) else {}, patch, schema)
    if isinstance(patch, list):
        if schema.kind == "list" and "merge" in schema.strategies:
            return _merge_list(original if isinstance(original, list) else [], patch, schema)
        return _replace_list(patch, schema)
    return patch


def _replace_list(patch: list[Any], schema: Schema) -> list[Any]:
    item = schema.item() if schema.kind == "list" else schema
    out = []
    for value in patch:
        if isinstance(value, list):
            out.append(_replace_list(value, item))
        elif isinstance(value, dict):
            if value.get(PATCH) == "replace" and len(value) == 1:
                continue
            out.append(_strip(value, item))
        else:
            out.append(value)
    return out


def _merge_list(original: list[Any], patch: list[Any], schema: Schema) -> list[Any]:
    item_schema = schema.item()
    key = schema.merge_key
    replace = [v for v in patch if isinstance(v, dict) and v.get(PATCH) == "replace"]
    if replace:
        rest = [v for v in patch if not (isinstance(v, dict) and v.get(PATCH) == "replace")]
        return _replace_list(rest, schema)
    if any(isinstance(v, list) for v in patch):
        raise _invalid_patch("lists of lists are not supported")
    if key is None:  # a set of scalars
        if any(isinstance(v, dict) for v in patch):
            raise BadRequest("invalid patch format of primitive list")
        out = list(original)
        for value in patch:
            if not any(_equal(value, v) for v in out):
                out.append(value)
        return out
    out = list(original)
    for value in patch:
        if not isinstance(value, dict):
            raise BadRequest(f"expected a map, but received a {_go_type(value)}")
        if key not in value:
            raise _invalid_patch(f"map: {_go_map(value)} does not contain declared merge "
                                 f"key: {key}")
        at = next((i for i, v in enumerate(out)
                   if isinstance(v, dict) and _equal(v.get(key), value[key])), None)
        if value.get(PATCH) == "delete":
            out = [v for v in out
                   if not (isinstance(v, dict) and _equal(v.get(key), value[key]))]
            continue
        if at is None:
            out.append(_strip(value, item_schema))
        else:
            merged = _merge_map(out[at], value, item_schema)
            if isinstance(merged, _Deleted):
                del out[at]
            else:
                out[at] = merged
    return out


def _reorder(items: list[Any], order: list[Any], schema: Schema,
             live: list[Any]) -> list[Any]:
    """Items named by `order` in that order, merged with the items it does not name (kept in
    their live order): a live-only item goes before a named one that follows it in the live
    list, or before a new one when no named item has been placed yet."""
    key = schema.merge_key if schema.kind == "list" else None

    def identity(value: Any) -> Any:
        if key is not None and isinstance(value, dict):
            return _hashable(value.get(key))
        return _hashable(value)

    rank: dict[Any, int] = {}
    for i, entry in enumerate(order):
        if key is not None and not isinstance(entry, dict):
            raise BadRequest("invalid patch format of setElementOrder list")
        rank.setdefault(identity(entry), i)
    where: dict[Any, int] = {}
    for i, value in enumerate(live):
        where.setdefault(identity(value), i)
    named = sorted((v for v in items if identity(v) in rank), key=lambda v: rank[identity(v)])
    others = [v for v in items if identity(v) not in rank]
    out: list[Any] = []
    placed = False
    for value in named:
        at = where.get(identity(value))
        while others:
            other_at = where.get(identity(others[0]))
            before_named = at is not None and other_at is not None and other_at < at
            if before_named or (at is None and not placed):
                out.append(others.pop(0))
            else:
                break
        out.append(value)
        placed = True
    return out + others


def _hashable(value: Any) -> Any:
    if isinstance(value, dict | list):
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)
    if isinstance(value, bool):
        return ("bool", value)
    return value


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    return bool(a == b)


def _go_type(value: Any) -> str:
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "float64"
    return "slice" if isinstance(value, list) else "map"


def _go_map(value: dict[str, Any]) -> str:
    """A map as Go's %v prints it: map[k:v ...], keys sorted."""
    def show(v: Any) -> str:
        if isinstance(v, dict):
            return _go_map(v)
        if isinstance(v, list):
            return "[" + " ".join(show(x) for x in v) + "]"
        if isinstance(v, bool):
            return "true" if v else "false"
        return "<nil>" if v is None else str(v)
    return "map[" + " ".join(f"{k}:{show(value[k])}" for k in sorted(value)) + "]"
