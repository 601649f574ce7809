"""The REST verb protocols: a resource serves exactly the verbs its storage implements.

Objects cross this seam as JSON-ready dicts (camelCase, as on the wire), so hot paths never
need a pydantic object per item. `verbs_of()` is what the installer and discovery use.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from k8s_aggapi.authentication.user import User
from k8s_aggapi.registry.selectors import FieldSelector, LabelSelector

Object = dict[str, Any]


@dataclass(frozen=True)
class RequestContext:
    """What a verb needs to know about the request beyond its arguments."""

    namespace: str = ""
    user: User | None = None
    dry_run: bool = False
    # who writes (managedFields); None: the caller records managedFields itself (apply)
    field_manager: str | None = None


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


@runtime_checkable
class Getter(Protocol):
    async def get(self, ctx: RequestContext, name: str) -> Object: ...


@runtime_checkable
class Lister(Protocol):
    async def list(self, ctx: RequestContext, options: ListOptions) -> ObjectList: ...


@runtime_checkable
class Creater(Protocol):
    async def create(self, ctx: RequestContext, obj: Object) -> Object: ...


@runtime_checkable
class Updater(Protocol):
    async def update(self, ctx: RequestContext, name: str, obj: Object) -> tuple[Object, bool]:
        """Returns the stored object and whether it was created."""
        ...


@runtime_checkable
class Patcher(Protocol):
    """A Getter and Updater that accepts patches (the handler applies them with get + update)."""

    async def get(self, ctx: RequestContext, name: str) -> Object: ...

    async def update(
        self, ctx: RequestContext, name: str, obj: Object
    ) -> tuple[Object, bool]: ...

    def supports_patch(self) -> bool: ...


@runtime_checkable
class Deleter(Protocol):
    async def delete(
        self, ctx: RequestContext, name: str, options: DeleteOptions
    ) -> tuple[Object, bool]:
        """Returns the object and whether it is gone now (False: finalizers keep it)."""
        ...


@runtime_checkable
class CollectionDeleter(Protocol):
    async def delete_collection(
        self, ctx: RequestContext, options: DeleteOptions, list_options: ListOptions
    ) -> ObjectList: ...


@runtime_checkable
class Watcher(Protocol):
    def watch(self, ctx: RequestContext, options: ListOptions) -> AsyncIterator[WatchEvent]: ...


@runtime_checkable
class TableConvertor(Protocol):
    def convert_to_table(self, objects: list[Object], *, list_rv: str = "") -> Object: ...


_VERBS: tuple[tuple[str, type], ...] = (
    ("create", Creater),
    ("delete", Deleter),
    ("deletecollection", CollectionDeleter),
    ("get", Getter),
    ("list", Lister),
    ("patch", Patcher),
    ("update", Updater),
    ("watch", Watcher),
)


def verbs_of(storage: object) -> list[str]:
    """The kube verbs a storage serves, sorted as discovery lists them."""
    verbs = []
    for verb, proto in _VERBS:
        if not isinstance(storage, proto):
            continue
        if verb == "patch" and not storage.supports_patch():  # type: ignore[attr-defined]
            continue
        verbs.append(verb)
    return verbs
