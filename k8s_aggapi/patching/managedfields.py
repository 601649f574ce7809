"""managedFields: who owns which field, recorded for every write as upstream's field manager.

Each entry is a manager, an operation (`Apply` or `Update`), the apiVersion it wrote with, the
time of its last change and its field set (`fieldsV1`). An update (create, PUT, a non-apply
patch) gives its manager the fields it added or changed, takes them from everyone else and
drops removed fields from every set. System fields (apiVersion, kind, name, namespace, uid,
resourceVersion, generation, timestamps, managedFields itself) are owned by nobody.

A write whose object sets managedFields differently from the stored ones replaces them (so
`[{}]` strips them all, and `[]`, like leaving them out, changes nothing), as upstream.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Final

from k8s_aggapi.patching import fieldpath
from k8s_aggapi.patching.fieldpath import Flattened, Path
from k8s_aggapi.patching.schema import Schema

APPLY: Final = "Apply"
UPDATE: Final = "Update"
FIELDS_V1: Final = "FieldsV1"
_SYSTEM_META: Final = frozenset({"name", "namespace", "uid", "resourceVersion", "generation",
                "creationTimestamp", "deletionTimestamp", "deletionGracePeriodSeconds",
                "managedFields", "selfLink"})
_IGNORED: Final = frozenset(
    {("f:apiVersion",), ("f:kind",)} | {("f:metadata", f"f:{f}") for f in _SYSTEM_META})
MAX_MANAGER_LENGTH: Final = 128


@dataclass(frozen=True)
class Entry:
    manager: str
    operation: str
    api_version: str
    time: str | None
    fields: frozenset[Path]
    subresource: str = ""
    # the entry as stored, written back as it is while unchanged (no re-encoding)
    raw: dict[str, Any] | None = field(default=None, compare=False, repr=False)

    def same_owner(self, other: Entry) -> bool:
        """One manager identity: Apply entries are one per manager, Update ones per version."""
        if (self.manager, self.operation, self.subresource) != (
                other.manager, other.operation, other.subresource):
            return False
        return self.operation == APPLY or self.api_version == other.api_version

    def describe(self) -> str:
        """How upstream names a manager in a conflict."""
        who = f'"{self.manager}"'
        if self.subresource:
            who += f' with subresource "{self.subresource}"'
        if self.operation == UPDATE:
            who += f" using {self.api_version}"
        return who


def owned(obj: Any, schema: Schema, *, maps: bool = False) -> Flattened:
    """The ownable members of an object, system fields left out (`maps`: see `flatten`)."""
    meta = obj.get("metadata") if isinstance(obj, dict) else None
    if isinstance(meta, dict) and "managedFields" in meta:  # nobody's, and not walked
        obj = {**obj, "metadata": {k: v for k, v in meta.items() if k != "managedFields"}}
    flat = fieldpath.flatten(obj, schema, maps=maps)
    return Flattened({p: v for p, v in flat.items() if not _ignored(p)})


_SKIPPED: Final = frozenset({("f:metadata", "f:managedFields")})


def changes(old: Any, new: Any, schema: Schema, *,
            maps: bool = False) -> tuple[frozenset[Path], frozenset[Path]]:
    """(added or changed, removed) ownable members from `old` to `new`."""
    touched, removed = fieldpath.diff(_ownable(old), _ownable(new), schema, _SKIPPED, maps=maps)
    return (frozenset(p for p in touched if not _ignored(p)),
            frozenset(p for p in removed if not _ignored(p)))


def _ownable(obj: Any) -> Any:
    """`obj` without the fields nobody owns (`_IGNORED`): their members are dropped from a
    diff anyway, so leaving them out first gives the same diff without walking them (a
    create's metadata is mostly such fields)."""
    if not isinstance(obj, dict):
        return obj
    meta = obj.get("metadata")
    out = {k: v for k, v in obj.items() if k not in _TOP_IGNORED}
    if isinstance(meta, dict):
        out["metadata"] = {k: v for k, v in meta.items() if k not in _SYSTEM_META}
    return out


_TOP_IGNORED: Final = frozenset({"apiVersion", "kind"})


def _ignored(path: Path) -> bool:
    return path[:1] in _IGNORED or path[:2] in _IGNORED or path == ("f:metadata",)


def decode(managed: Any) -> list[Entry] | None:
    """Entries of a managedFields list; None when it is not one upstream would accept."""
    if not isinstance(managed, list):
        return None
    out = []
    for item in managed:
        if not isinstance(item, dict):
            return None
        fields = item.get("fieldsV1", {})
        if item.get("fieldsType", FIELDS_V1) != FIELDS_V1 or not fieldpath.valid_fields_v1(
                fields):
            return None
        operation = item.get("operation")
        if operation not in (APPLY, UPDATE):
            return None
        out.append(Entry(str(item.get("manager") or ""), operation,
                         str(item.get("apiVersion") or ""), item.get("time"),
                         fieldpath.from_fields_v1(fields), str(item.get("subresource") or ""),
                         item))
    return out


def encode(entries: Iterable[Entry]) -> list[dict[str, Any]]:
    out = []
    for e in sorted(entries, key=lambda e: (e.time or "", e.operation != APPLY, e.manager)):
        if not e.fields:
            continue
        if e.raw is not None:
            out.append(dict(e.raw))
            continue
        item: dict[str, Any] = {"manager": e.manager, "operation": e.operation,
                                "apiVersion": e.api_version}
        if e.time:
            item["time"] = e.time
        item["fieldsType"] = FIELDS_V1
        item["fieldsV1"] = fieldpath.to_fields_v1(e.fields)
        if e.subresource:
            item["subresource"] = e.subresource
        out.append(item)
    return out


def _meta(obj: dict[str, Any]) -> dict[str, Any]:
    meta = obj.get("metadata")
    return meta if isinstance(meta, dict) else {}


def is_reset(managed: Any) -> bool:
    """`[{}]`: the request strips managedFields."""
    return isinstance(managed, list) and len(managed) == 1 and managed[0] == {}


def base_entries(old: dict[str, Any] | None, new: dict[str, Any]) -> list[Entry]:
    """The entries a write starts from: the request's when it changed them validly, else the
    stored ones."""
    given = _meta(new).get("managedFields")
    stored = _meta(old).get("managedFields") if old is not None else None
    if given and given != stored:
        entries = decode(given)
        if entries is not None:
            return entries
    return decode(stored) or []


def track_update(old: dict[str, Any] | None, new: dict[str, Any], manager: str,
                 api_version: str, now: str, schema: Schema, subresource: str = "",
                 zero: dict[str, Any] | None = None) -> list[dict[str, Any]] | None:
    """managedFields of `new` after `manager` wrote it over `old` (None: a create, compared
    with `zero`, the type's empty object). None when the request stripped them."""
    if is_reset(_meta(new).get("managedFields")):
        return None
    entries = base_entries(old, new)
    touched, removed = changes(old if old is not None else zero or {}, new, schema, maps=True)
    me = Entry(manager, UPDATE, api_version, now, frozenset(), subresource)
    out: list[Entry] = []
    mine: Entry | None = None
    for entry in entries:
        if entry.same_owner(me):
            mine = entry
            continue
        fields = entry.fields - touched - removed
        out.append(entry if fields == entry.fields else replace(entry, fields=fields, raw=None))
    previous = mine.fields if mine is not None else frozenset()
    fields = (previous | touched) - removed
    if mine is not None and fields == previous and not touched:
        out.append(mine)
    else:
        out.append(replace(me, fields=fields))
    return encode(out)


def manager_from_user_agent(user_agent: str | None) -> str:
    """Upstream's default manager: the printable characters of the User-Agent up to its first
    `/`, at most 128; `unknown` when that leaves nothing (as upstream's field manager names
    it)."""
    kept = "".join(c for c in (user_agent or "").split("/", 1)[0] if c.isprintable())
    return kept[:MAX_MANAGER_LENGTH] or "unknown"
