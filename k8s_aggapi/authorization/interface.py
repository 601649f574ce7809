"""The authorization seam: attributes of a request, a decision, and the one-method protocol."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from k8s_aggapi.request.user import User


class Decision(enum.Enum):
    DENY = "deny"
    ALLOW = "allow"
    NO_OPINION = "no-opinion"


@dataclass(frozen=True)
class Attributes:
    """authorizer.Attributes: the user plus either resource or non-resource fields."""

    user: User
    verb: str
    resource_request: bool
    path: str = ""
    namespace: str = ""
    api_group: str = ""
    api_version: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    label_selector: str = ""
    field_selector: str = ""


@runtime_checkable
class Authorizer(Protocol):
    async def authorize(self, attributes: Attributes) -> tuple[Decision, str]: ...
