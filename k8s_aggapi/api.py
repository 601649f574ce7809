"""Declaring an API: an `APIGroup` collects versions, each version collects resources.

No global registry: the server takes a list of groups. A resource is its `ResourceInfo`
(names, scope, model) plus the storage that serves it; verbs come from what that storage
implements (`registry.rest.verbs_of`).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel

from k8s_aggapi.errors import GroupResource
from k8s_aggapi.registry.rest import Object, verbs_of

if TYPE_CHECKING:
    from k8s_aggapi.registry.strategy import Strategy


@dataclass(frozen=True)
class TableColumn:
    """A server-side Table column; `value` takes the object dict and returns the cell."""

    name: str
    value: Callable[[Object], Any]
    type: str = "string"
    format: str = ""
    description: str = ""
    priority: int = 0  # 0 = shown by default, 1 = shown with -o wide


@dataclass(frozen=True)
class ResourceInfo:
    """What a resource is called and how it is shaped in one version."""

    kind: str
    plural: str
    model: type[BaseModel] | None = None
    singular: str = ""
    namespaced: bool = True
    short_names: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    columns: tuple[TableColumn, ...] = ()
    field_selectors: Mapping[str, Callable[[Object], str]] | None = None

    @property
    def singular_name(self) -> str:
        return self.singular or self.kind.lower()

    @property
    def list_kind(self) -> str:
        return f"{self.kind}List"


@dataclass
class Resource:
    """A resource served in one group version."""

    info: ResourceInfo
    storage: object
    group: str
    version: str
    storage_version: str = ""

    @property
    def group_resource(self) -> GroupResource:
        return GroupResource(self.group, self.info.plural)

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def verbs(self) -> list[str]:
        return verbs_of(self.storage)

    @property
    def storage_version_hash(self) -> str:
        """base64(sha256("<group>/<version>/<Kind>")[:8]) of the storage version."""
        raw = f"{self.group}/{self.storage_version or self.version}/{self.info.kind}"
        return base64.b64encode(hashlib.sha256(raw.encode()).digest()[:8]).decode()


class VersionEndpoint(Protocol):
    """A group-version that is no set of CRUD resources (custom metrics, say): an ASGI app for
    every path under `/apis/<group>/<version>/`, which lists its own resources for discovery
    (legacy `APIResource` dicts; the list may change while the server runs)."""

    async def api_resources(self) -> list[dict[str, Any]]: ...

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None: ...


@dataclass
class APIVersion:
    group: str
    name: str
    resources: dict[str, Resource] = field(default_factory=dict)
    endpoint: VersionEndpoint | None = None

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.name}" if self.group else self.name

    def add_resource(
        self,
        info: ResourceInfo,
        storage: object,
        *,
        strategy: Strategy | None = None,
        storage_version: str = "",
    ) -> Resource:
        """Serve `info` from `storage`. A `storage.Storage` backend is wrapped in the generic
        `registry.Store` (with `strategy`); an object implementing REST verbs directly is
        served as it is."""
        from k8s_aggapi.registry.store import Store, is_backend

        if self.endpoint is not None:
            raise ValueError(f"{self.group_version} is served by its own endpoint")
        if info.plural in self.resources:
            raise ValueError(f"{info.plural} is already served in {self.group_version}")
        resource = Resource(info, storage, self.group, self.name, storage_version)
        if is_backend(storage):
            resource.storage = Store(resource, storage, strategy)  # type: ignore[arg-type]
        if not resource.verbs:
            raise TypeError(f"{info.plural}: the storage implements no REST verb")
        self.resources[info.plural] = resource
        return resource


@dataclass
class APIGroup:
    """An API group; versions are listed in preference order (the first is preferred)."""

    name: str
    versions: list[APIVersion] = field(default_factory=list)

    def serve_version(self, name: str, endpoint: VersionEndpoint) -> APIVersion:
        """Let `endpoint` serve every path of version `name` (appended: lower preference)."""
        version = self.version(name)
        if version.resources or version.endpoint is not None:
            raise ValueError(f"{version.group_version} is already served")
        version.endpoint = endpoint
        return version

    def version(self, name: str) -> APIVersion:
        """The version called `name`, created on first use (appended: lower preference)."""
        for v in self.versions:
            if v.name == name:
                return v
        created = APIVersion(self.name, name)
        self.versions.append(created)
        return created

    @property
    def preferred(self) -> APIVersion:
        return self.versions[0]

    def resource(self, version: str, plural: str) -> Resource | None:
        for v in self.versions:
            if v.name == version:
                return v.resources.get(plural)
        return None
