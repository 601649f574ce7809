"""The authentication seam: one method, and a union that tries each authenticator in order."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from k8s_aggapi.errors import Unauthorized
from k8s_aggapi.request.user import User


@dataclass(frozen=True)
class Credentials:
    """What an authenticator may look at: headers (lower-case names, all values) and the
    peer certificate (DER)."""

    headers: Mapping[str, tuple[str, ...]]
    client_cert_der: bytes | None = None

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None


@runtime_checkable
class Authenticator(Protocol):
    """Returns the user, or None for "no opinion". Raises `Unauthorized` when it recognised
    the credentials and they were bad (upstream's authenticator error → 401)."""

    async def authenticate(self, credentials: Credentials) -> User | None: ...


class CredentialsRejected(Unauthorized):
    """Credentials were recognised and are bad. The wire message stays "Unauthorized" as
    upstream's; `cause` says why, for the log only."""

    def __init__(self, cause: str) -> None:
        super().__init__()
        self.cause = cause
