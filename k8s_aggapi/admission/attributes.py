"""What an admission plugin sees of one write: upstream's admission.Attributes as a value.

The object and the old object are dicts in the form the store works on (the hub of the
kind's versions, upstream's internal version); `kind` and `resource` name the version the
client asked for, as upstream's `GetKind()` and `GetResource()` do.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from k8s_aggapi import errors
from k8s_aggapi.request.user import User

Object = dict[str, Any]


class Operation(enum.StrEnum):
    CREATE = "CREATE"
    UPDATE = "UPDATE"
    DELETE = "DELETE"
    CONNECT = "CONNECT"


@dataclass(frozen=True)
class GroupVersionKind:
    group: str
    version: str
    kind: str


@dataclass(frozen=True)
class GroupVersionResource:
    group: str
    version: str
    resource: str

    @property
    def group_resource(self) -> errors.GroupResource:
        return errors.GroupResource(self.group, self.resource)


@dataclass(frozen=True)
class Attributes:
    """One write as admission sees it. CREATE has no old object, DELETE no object (its old
    object is what is being deleted); `name` is empty on a create with only generateName."""

    operation: Operation
    kind: GroupVersionKind
    resource: GroupVersionResource
    name: str = ""
    namespace: str = ""
    subresource: str = ""
    object: Object | None = None
    old_object: Object | None = None
    user: User | None = None
    dry_run: bool = False


def forbidden(attributes: Attributes, reason: str) -> errors.Forbidden:
    """Upstream's admission.NewForbidden: `<resource> "<name>" is forbidden: <reason>`, the name
    taken from the request, else the object's name or generateName, else "Unknown"."""
    name = attributes.name
    if not name:
        meta = (attributes.object or {}).get("metadata") or {}
        name = str(meta.get("name") or meta.get("generateName") or "Unknown")
    return errors.Forbidden(attributes.resource.group_resource, name, reason)
