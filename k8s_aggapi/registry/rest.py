"""The REST capabilities: a resource serves exactly the verbs its REST object declares.

Each capability is an abstract base class (`Getter`, `Lister`, ...). A REST object declares
what it serves by subclassing them, so mypy checks every method against the capability and
`isinstance` is a declaration, never a guess from method names: a storage backend
(`MemoryStorage`) has methods called `get` and `list` but is no `Getter`. `Capabilities.of()`
finds them once at registration; the handler is typed against the result.

Objects cross this seam as JSON-ready dicts (camelCase, as on the wire), so hot paths never
need a pydantic object per item.
"""

from __future__ import annotations

import abc
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from k8s_aggapi.admission.chain import RequestAdmission
from k8s_aggapi.registry.encoded import ListEncoding
from k8s_aggapi.registry.info import ColumnDefinition
from k8s_aggapi.registry.selectors import FieldSelector, LabelSelector
from k8s_aggapi.request.user import User
from k8s_aggapi.storage.interface import Object

__all__ = [
    "GET_LATEST", "REST", "Capabilities", "CollectionDeleter", "Creater", "DeleteOptions",
    "Deleter", "GetOptions", "Getter", "ListOptions", "Lister", "Object", "ObjectList",
    "ObjectUpdate", "RequestContext", "Table", "TableConvertor", "TableOptions", "TableRow",
    "Updater", "WatchEvent", "Watcher",
]


@dataclass(frozen=True)
class RequestContext:
    """What a verb needs to know about the request beyond its arguments."""

    namespace: str = ""
    user: User | None = None
    dry_run: bool = False
    admission: RequestAdmission | None = None  # the server's chain, bound to this request
    # who writes (managedFields); None: the caller records managedFields itself (apply)
    field_manager: str | None = None


@dataclass(frozen=True)
class GetOptions:
    """`resourceVersion` of a get: "" the latest, "0" any, "N" one at least as new as N."""

    resource_version: str = ""


GET_LATEST = GetOptions()


@dataclass(frozen=True)
class ListOptions:
    label_selector: LabelSelector = field(default_factory=LabelSelector)
    field_selector: FieldSelector = field(default_factory=FieldSelector)
    limit: int = 0
    continue_token: str = ""
    resource_version: str = ""
    resource_version_match: str = ""
    timeout_seconds: int | None = None
    allow_watch_bookmarks: bool = False
    send_initial_events: bool | None = None


@dataclass(frozen=True)
class ObjectList:
    items: list[Object]
    resource_version: str = ""
    continue_token: str = ""
    remaining_item_count: int | None = None
    # where the items' wire encodings are kept (the generic store's); None: encode them now.
    # Whoever replaces `items` with other objects drops it (or the cache just misses).
    encoding: ListEncoding | None = None


@dataclass(frozen=True)
class WatchEvent:
    """ADDED, MODIFIED, DELETED, BOOKMARK or ERROR, with the object as a dict."""

    type: str
    object: Object


@dataclass(frozen=True)
class DeleteOptions:
    preconditions_uid: str | None = None  # None: no precondition ("" is one, as upstream)
    preconditions_resource_version: str | None = None
    grace_period_seconds: int | None = None
    propagation_policy: str = ""
    orphan_dependents: bool | None = None
    dry_run: bool = False


@dataclass(frozen=True)
class ObjectUpdate:
    """How an update computes the new object from the stored one (upstream's
    UpdatedObjectInfo). `compute(current)` may run more than once: an update that loses a race
    re-reads and computes again. `replacement` is a PUT body: what is created when nothing is
    stored and the resource allows create on update; None (a patch) makes that a 404.
    `uid` is a precondition: the stored object must have it (409 otherwise)."""

    compute: Callable[[Object], Object]
    replacement: Object | None = None
    uid: str | None = None

    @classmethod
    def replace(cls, obj: Object) -> ObjectUpdate:
        """PUT: the body replaces whatever is stored; a uid in it is a precondition (upstream's
        DefaultUpdatedObjectInfo)."""
        meta = obj.get("metadata")
        uid = meta.get("uid") if isinstance(meta, dict) else None
        return cls(lambda current: obj, obj, uid if isinstance(uid, str) and uid else None)


@dataclass(frozen=True)
class TableOptions:
    """What the handler asks of a TableConvertor beyond the objects."""

    no_headers: bool = False


class TableRow(NamedTuple):
    """One row: its cells and the object it shows (the handler embeds that object as the
    request's `includeObject` asks: whole, as PartialObjectMetadata, or not at all)."""

    cells: list[Any]
    object: Object


class Table(NamedTuple):
    """A `meta.k8s.io/v1` Table before the handler adds list metadata and row objects.
    A row is a `TableRow` or any `(cells, object)` pair (the default convertor's, as a list of
    10,000 rows should not cost 10,000 constructor calls)."""

    column_definitions: Sequence[ColumnDefinition] | None  # None: no headers (`null`)
    rows: Sequence[tuple[list[Any], Object]]


class REST(abc.ABC):  # noqa: B024 - a marker: the capabilities below hold the methods
    """The base of every REST capability; `APIVersion.add_rest` takes an object of one."""


class Getter(REST):
    @abc.abstractmethod
    async def get(
        self, ctx: RequestContext, name: str, options: GetOptions = GET_LATEST
    ) -> Object:
        """The object called `name`; `options.resource_version` may be ignored by a REST
        object that keeps no revisions (as upstream's metrics server ignores it)."""


class Lister(REST):
    @abc.abstractmethod
    async def list(self, ctx: RequestContext, options: ListOptions) -> ObjectList: ...


class Creater(REST):
    @abc.abstractmethod
    async def create(self, ctx: RequestContext, obj: Object) -> Object: ...


class Updater(REST):
    """Serves `update`, and `patch` too when it is also a Getter (as upstream's Patcher)."""

    @abc.abstractmethod
    async def update(
        self, ctx: RequestContext, name: str, update: ObjectUpdate
    ) -> tuple[Object, bool]:
        """The stored object and whether it was created."""


class Deleter(REST):
    @abc.abstractmethod
    async def delete(
        self, ctx: RequestContext, name: str, options: DeleteOptions
    ) -> tuple[Object, bool]:
        """The object and whether it is gone now (False: finalizers keep it)."""


class CollectionDeleter(REST):
    @abc.abstractmethod
    async def delete_collection(
        self, ctx: RequestContext, options: DeleteOptions, list_options: ListOptions
    ) -> ObjectList: ...


class Watcher(REST):
    @abc.abstractmethod
    def watch(self, ctx: RequestContext, options: ListOptions) -> AsyncIterator[WatchEvent]: ...


class TableConvertor(abc.ABC):
    """Server-side Table output; a REST object that is one shows its own columns."""

    @abc.abstractmethod
    def convert_to_table(self, objects: Sequence[Object], options: TableOptions) -> Table: ...


@dataclass(frozen=True)
class Capabilities:
    """What one REST object serves, found once at registration; None: not served."""

    table: TableConvertor
    getter: Getter | None = None
    lister: Lister | None = None
    creater: Creater | None = None
    updater: Updater | None = None
    deleter: Deleter | None = None
    collection_deleter: CollectionDeleter | None = None
    watcher: Watcher | None = None

    @classmethod
    def of(cls, rest: REST, default_table: TableConvertor) -> Capabilities:
        return cls(
            table=rest if isinstance(rest, TableConvertor) else default_table,
            getter=rest if isinstance(rest, Getter) else None,
            lister=rest if isinstance(rest, Lister) else None,
            creater=rest if isinstance(rest, Creater) else None,
            updater=rest if isinstance(rest, Updater) else None,
            deleter=rest if isinstance(rest, Deleter) else None,
            collection_deleter=rest if isinstance(rest, CollectionDeleter) else None,
            watcher=rest if isinstance(rest, Watcher) else None,
        )

    @property
    def verbs(self) -> list[str]:
        """The kube verbs served, sorted as discovery lists them."""
        served = {
            "create": self.creater, "delete": self.deleter,
            "deletecollection": self.collection_deleter, "get": self.getter,
            "list": self.lister, "update": self.updater, "watch": self.watcher,
            "patch": self.updater if self.getter is not None else None,
        }
        return sorted(verb for verb, capability in served.items() if capability is not None)
