"""Declaring an API: an `APIGroup` collects versions, each version collects resources.

No global registry: the server takes a list of groups. A resource is its `ResourceInfo`
(names, scope, model, subresources) plus the REST object that serves it. Two explicit ways to
register one:

- `add_store(info, backend, strategy=...)`: a `storage.Storage` backend, served by the generic
  `registry.Store` (every verb; `status` and `scale` as `info` declares them);
- `add_rest(info, rest)`: your own object, serving exactly the `registry.rest` capabilities its
  class declares (`Getter`, `Lister`, ...).

Routing, discovery and OpenAPI all read what is registered here.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from k8s_aggapi.errors import GroupResource
from k8s_aggapi.models.autoscaling import SCALE_GROUP, SCALE_KIND, SCALE_VERSION
from k8s_aggapi.models.autoscaling import Scale as ScaleModel
from k8s_aggapi.registry.info import ColumnDefinition, ResourceInfo, Scale, TableColumn
from k8s_aggapi.registry.rest import REST, Capabilities, TableConvertor
from k8s_aggapi.registry.scale import ScaleREST
from k8s_aggapi.registry.status import StatusREST
from k8s_aggapi.registry.store import Store
from k8s_aggapi.registry.strategy import Strategy
from k8s_aggapi.registry.table import DefaultTableConvertor
from k8s_aggapi.storage.interface import Storage

__all__ = [
    "APIGroup", "APIVersion", "ColumnDefinition", "DocumentedEndpoint", "EndpointOperation",
    "Resource", "ResourceInfo", "Scale", "Subresource", "TableColumn", "VersionEndpoint",
]


def _capabilities(rest: REST, table: TableConvertor, what: str) -> Capabilities:
    if not isinstance(rest, REST):
        raise TypeError(
            f"{what}: {type(rest).__name__} declares no REST capability (subclass "
            "registry.rest.Getter, Lister, ...); register a storage backend with add_store")
    capabilities = Capabilities.of(rest, table)
    if not capabilities.verbs:
        raise TypeError(f"{what}: {type(rest).__name__} serves no REST verb")
    return capabilities


class _Served:
    """What a resource and a subresource both answer: their apiVersion and their verbs."""

    group: str
    version: str
    capabilities: Capabilities

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def verbs(self) -> list[str]:
        return self.capabilities.verbs


@dataclass
class Subresource(_Served):
    """`<plural>/<name>`: what serves it and the kind it answers with."""

    name: str
    rest: REST
    capabilities: Capabilities
    group: str
    version: str
    kind: str
    model: type[BaseModel] | None = None


@dataclass
class Resource(_Served):
    """A resource served in one group version, with its subresources."""

    info: ResourceInfo
    rest: REST
    group: str
    version: str
    storage_version: str = ""
    table: TableConvertor | None = None  # None: the REST object's own, else info.columns
    subresources: dict[str, Subresource] = field(default_factory=dict)
    capabilities: Capabilities = field(init=False)

    def __post_init__(self) -> None:
        table = self.table or DefaultTableConvertor(self.info.columns)
        self.capabilities = _capabilities(self.rest, table, self.info.plural)

    @property
    def group_resource(self) -> GroupResource:
        return GroupResource(self.group, self.info.plural)

    @property
    def storage_version_hash(self) -> str:
        """base64(sha256("<group>/<version>/<Kind>")[:8]) of the storage version."""
        raw = f"{self.group}/{self.storage_version or self.version}/{self.info.kind}"
        return base64.b64encode(hashlib.sha256(raw.encode()).digest()[:8]).decode()

    def add_subresource(
        self, name: str, rest: REST, *, kind: str = "", group: str | None = None,
        version: str | None = None, model: type[BaseModel] | None = None,
    ) -> Subresource:
        """Serve `<plural>/<name>` from `rest`; it answers with `kind` (default: the
        resource's own kind, group, version and model) in `group`/`version`."""
        if name in self.subresources:
            raise ValueError(f"{self.info.plural}/{name} is already served")
        same = not kind
        table = self.capabilities.table if same else DefaultTableConvertor()
        sub = Subresource(
            name, rest, _capabilities(rest, table, f"{self.info.plural}/{name}"),
            self.group if group is None else group,
            self.version if version is None else version,
            kind or self.info.kind, self.info.model if same and model is None else model)
        self.subresources[name] = sub
        return sub


class VersionEndpoint(Protocol):
    """A group-version that is no set of CRUD resources (custom metrics, say): an ASGI app for
    every path under `/apis/<group>/<version>/`, which lists its own resources for discovery
    (legacy `APIResource` dicts; the list may change while the server runs)."""

    async def api_resources(self) -> list[dict[str, Any]]: ...

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None: ...


@dataclass(frozen=True)
class EndpointOperation:
    """One GET a `VersionEndpoint` serves, for OpenAPI: its path under `/apis/<g>/<v>/`
    (`{param}` templates), the installer's operation name (`listMetricValue`; the group and
    version are added as GetOperationIDAndTags adds them), its path and extra query parameters
    as (name, description), whether the list options apply, and the definition it answers."""

    path: str
    operation: str
    description: str
    response: str
    path_params: tuple[tuple[str, str], ...] = ()
    query_params: tuple[tuple[str, str], ...] = ()
    list_options: bool = True


@runtime_checkable
class DocumentedEndpoint(Protocol):
    """A `VersionEndpoint` that documents its paths: operations, and the Swagger 2.0
    definitions (by name, refs `#/definitions/<name>`) their answers use."""

    def openapi_operations(self) -> list[EndpointOperation]: ...

    def openapi_definitions(self) -> dict[str, dict[str, Any]]: ...


@dataclass
class APIVersion:
    group: str
    name: str
    resources: dict[str, Resource] = field(default_factory=dict)
    endpoint: VersionEndpoint | None = None

    @property
    def group_version(self) -> str:
        return f"{self.group}/{self.name}" if self.group else self.name

    def add_store(
        self,
        info: ResourceInfo,
        backend: Storage,
        *,
        strategy: Strategy | None = None,
        table: TableConvertor | None = None,
        storage_version: str = "",
    ) -> Resource:
        """Serve `info` from a storage backend through the generic `registry.Store` (with
        `strategy`'s hooks; `table` replaces the Table of `info.columns`). Its `status` and
        `scale` subresources are served as `info` declares them."""
        if isinstance(backend, REST) or not isinstance(backend, Storage):
            raise TypeError(
                f"{info.plural}: {type(backend).__name__} is no storage.Storage backend; "
                "register a REST object with add_rest")
        store = Store(info, self.group, self.name, backend, strategy)
        resource = self._add(Resource(info, store, self.group, self.name, storage_version, table))
        if info.status:
            resource.add_subresource("status", StatusREST(store))
        if info.scale is not None:
            resource.add_subresource(
                "scale", ScaleREST(store, info.scale), kind=SCALE_KIND, group=SCALE_GROUP,
                version=SCALE_VERSION, model=ScaleModel)
        return resource

    def add_rest(self, info: ResourceInfo, rest: REST, *, storage_version: str = "") -> Resource:
        """Serve `info` from your own REST object: exactly the verbs its class declares.
        Subresources of your own: `add_rest(...).add_subresource(name, rest)`."""
        if info.status or info.scale is not None:
            raise ValueError(
                f"{info.plural}: status and scale are served by add_store's generic store; "
                "serve your own with Resource.add_subresource")
        return self._add(Resource(info, rest, self.group, self.name, storage_version))

    def _add(self, resource: Resource) -> Resource:
        if self.endpoint is not None:
            raise ValueError(f"{self.group_version} is served by its own endpoint")
        if resource.info.plural in self.resources:
            raise ValueError(f"{resource.info.plural} is already served in {self.group_version}")
        self.resources[resource.info.plural] = resource
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
