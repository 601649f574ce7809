"""The authorization seam: attributes of a request, a decision, and the one-method protocol."""

from __future__ import annotations

import enum
from operator import attrgetter
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from k8s_aggapi.request.info import RequestInfo
from k8s_aggapi.request.user import User


class Decision(enum.Enum):
    DENY = "deny"
    ALLOW = "allow"
    NO_OPINION = "no-opinion"


_set = object.__setattr__


class Attributes:
    """authorizer.Attributes: the user, and the request info it is asked about (resource or
    non-resource fields), read through as properties.

    `Attributes.of(info, user)` wraps what the middleware already has, copying nothing; the
    keyword constructor makes the request info from the fields (tests, hand-made checks).
    Immutable, as both parts are."""

    __slots__ = ("info", "user")
    info: RequestInfo
    user: User

    def __init__(
        self, user: User, verb: str, resource_request: bool, path: str = "",
        namespace: str = "", api_group: str = "", api_version: str = "", resource: str = "",
        subresource: str = "", name: str = "", label_selector: str = "",
        field_selector: str = "",
    ) -> None:
        _set(self, "user", user)
        _set(self, "info", RequestInfo(
            is_resource_request=resource_request, path=path, verb=verb, api_group=api_group,
            api_version=api_version, namespace=namespace, resource=resource,
            subresource=subresource, name=name, label_selector=label_selector,
            field_selector=field_selector))

    @classmethod
    def of(cls, info: RequestInfo, user: User) -> Attributes:
        attributes = object.__new__(cls)
        _set(attributes, "info", info)
        _set(attributes, "user", user)
        return attributes

    def replace(self, **changes: Any) -> Attributes:
        """A copy with some fields changed (the constructor's names)."""
        fields: dict[str, Any] = {name: getattr(self, name) for name in FIELDS}
        fields.update(changes)
        return Attributes(**fields)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"cannot assign to field {name!r} of Attributes")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Attributes):
            return NotImplemented
        return self.user == other.user and all(
            getattr(self, name) == getattr(other, name) for name in FIELDS[1:])

    __hash__ = None  # type: ignore[assignment]  # as the dataclass before: User holds a dict

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, name)!r}" for name in FIELDS)
        return f"Attributes({shown})"

    if TYPE_CHECKING:  # the request info's fields, under authorizer.Attributes' names
        verb: str
        resource_request: bool
        path: str
        namespace: str
        api_group: str
        api_version: str
        resource: str
        subresource: str
        name: str
        label_selector: str
        field_selector: str
    else:
        verb = property(attrgetter("info.verb"))
        resource_request = property(attrgetter("info.is_resource_request"))
        path = property(attrgetter("info.path"))
        namespace = property(attrgetter("info.namespace"))
        api_group = property(attrgetter("info.api_group"))
        api_version = property(attrgetter("info.api_version"))
        resource = property(attrgetter("info.resource"))
        subresource = property(attrgetter("info.subresource"))
        name = property(attrgetter("info.name"))
        label_selector = property(attrgetter("info.label_selector"))
        field_selector = property(attrgetter("info.field_selector"))

FIELDS = ("user", "verb", "resource_request", "path", "namespace", "api_group", "api_version",
          "resource", "subresource", "name", "label_selector", "field_selector")


@runtime_checkable
class Authorizer(Protocol):
    async def authorize(self, attributes: Attributes) -> tuple[Decision, str]: ...
