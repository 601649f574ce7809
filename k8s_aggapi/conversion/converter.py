"""The versions of one kind, converted through one hub.

The hub is the version the generic store works in (validation, admission, strategy: the part
upstream gives its internal version); every other version has a pair of functions to and
from the hub, so n versions need 2(n-1) functions, never one per pair. A function takes an
object of its version (a dict, as on the wire) and returns a new one; it must not mutate its
argument (stored objects are shared). `apiVersion` and `kind` are set here, not by it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from k8s_aggapi import errors

Object = dict[str, Any]
Convert = Callable[[Object], Object]
CACHE_LIMIT = 100_000  # conversions remembered per kind; all forgotten when it is reached


class ReadCache:
    """Conversions of objects that are never mutated (what a backend returns, and what is
    converted from it), by the object's identity: a list read again converts nothing. Each
    entry holds its source, so an id cannot be reused while it is remembered."""

    def __init__(self, limit: int = CACHE_LIMIT) -> None:
        self._limit = limit
        self._entries: dict[tuple[int, str], tuple[Object, Object]] = {}

    def find(self, obj: Object, version: str) -> Object | None:
        found = self._entries.get((id(obj), version))
        return found[1] if found is not None and found[0] is obj else None

    def remember(self, obj: Object, version: str, converted: Object) -> None:
        if len(self._entries) >= self._limit:
            self._entries.clear()
        self._entries[(id(obj), version)] = (obj, converted)


@dataclass(frozen=True)
class VersionConversion:
    """How one version becomes the hub (`to_hub`) and back (`from_hub`)."""

    to_hub: Convert
    from_hub: Convert


@dataclass(frozen=True)
class KindConverter:
    """`kind` of `group` in the hub version `hub` and the versions in `versions`."""

    group: str
    kind: str
    hub: str
    versions: Mapping[str, VersionConversion] = field(default_factory=dict)
    _reads: ReadCache = field(default_factory=ReadCache, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.hub in self.versions:
            raise ValueError(f"{self.kind}: the hub {self.hub} needs no conversion of its own")

    @property
    def served(self) -> tuple[str, ...]:
        return (self.hub, *self.versions)

    def api_version(self, version: str) -> str:
        return f"{self.group}/{version}" if self.group else version

    def _pair(self, version: str) -> VersionConversion:
        pair = self.versions.get(version)
        if pair is None:
            raise errors.InternalError(
                f"no conversion of {self.kind} between {version} and {self.hub}")
        return pair

    def to_hub(self, obj: Object, version: str) -> Object:
        """`obj`, of `version`, in the hub version."""
        if version == self.hub:
            return obj
        out = self._pair(version).to_hub(obj)
        out["apiVersion"], out["kind"] = self.api_version(self.hub), self.kind
        return out

    def from_hub(self, obj: Object, version: str) -> Object:
        """`obj`, of the hub version, in `version`."""
        if version == self.hub:
            return obj
        out = self._pair(version).from_hub(obj)
        out["apiVersion"], out["kind"] = self.api_version(version), self.kind
        return out

    def version_of(self, obj: Object) -> str:
        """The version an object says it is in (its apiVersion), the hub when it says none."""
        api_version = str(obj.get("apiVersion") or "")
        return api_version.rpartition("/")[2] if api_version else self.hub

    def convert(self, obj: Object, version: str) -> Object:
        """`obj`, in whatever version its apiVersion names, in `version`, through the hub."""
        current = self.version_of(obj)
        if current == version:
            return obj
        return self.from_hub(self.to_hub(obj, current), version)

    def convert_stored(self, obj: Object, version: str) -> Object:
        """`convert` for an object nobody mutates (read from storage, or converted from one):
        remembered both ways, so reading it again, in its own version or in this one, costs a
        dict lookup (the hot path of a list). The result must not be mutated."""
        found = self._reads.find(obj, version)
        if found is not None:
            return found
        current = self.version_of(obj)
        if current == version:
            return obj
        converted = self.convert(obj, version)
        self._reads.remember(obj, version, converted)
        # read back in the source's version, the converted object is the source itself
        self._reads.remember(converted, current, obj)
        return converted
