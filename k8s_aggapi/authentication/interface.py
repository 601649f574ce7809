"""The authentication seam: one method, and a union that tries each authenticator in order.

Authenticators on the hot path (front proxy, x509, the union) also answer with a value,
`check() -> User | Rejected | None`, so a refused credential that a later authenticator may
still accept (every plain client certificate is refused by the front-proxy authenticator
first) costs no exception.
"""

from __future__ import annotations

import functools
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, ItemsView, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from k8s_aggapi.errors import Unauthorized
from k8s_aggapi.request.user import User


class Headers(Mapping[str, tuple[str, ...]]):
    """A request's headers by lower-case name, every value, decoded on first use (an x509
    request is authenticated without reading any)."""

    __slots__ = ("_decoded", "_raw")

    def __init__(self, raw: list[tuple[bytes, bytes]]) -> None:
        self._raw = raw
        self._decoded: dict[str, tuple[str, ...]] | None = None

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """The (name, value) pairs as they came, undecoded."""
        return self._raw

    def _map(self) -> dict[str, tuple[str, ...]]:
        if self._decoded is None:
            decoded: dict[str, tuple[str, ...]] = {}
            for name, value in self._raw:
                key = header_key(name)
                seen = decoded.get(key)
                decoded[key] = (_text(value),) if seen is None else (*seen, _text(value))
            self._decoded = decoded
        return self._decoded

    def __getitem__(self, name: str) -> tuple[str, ...]:
        return self._map()[name]

    # Mapping's own get and `in` go through __getitem__ and a KeyError for a missing name
    def get(self, name: str, default: Any = None) -> Any:
        return self._map().get(name, default)

    def __contains__(self, name: object) -> bool:
        return name in self._map()

    def items(self) -> ItemsView[str, tuple[str, ...]]:
        return self._map().items()

    def __iter__(self) -> Iterator[str]:
        return iter(self._map())

    def __len__(self) -> int:
        return len(self._map())


def header_key(raw_name: bytes) -> str:
    """A header's name as `Headers` looks it up: decoded as latin-1, lower case."""
    return raw_name.decode("latin-1").lower()


def _text(raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw.decode("latin-1")


@dataclass(frozen=True, slots=True)
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


@dataclass(frozen=True, slots=True)
class Rejected:
    """A refusal as a value: `cause` for the log; `error` the exception an authenticator
    raised, when it raised one (re-raised as it was when nothing else succeeds)."""

    cause: str
    error: Unauthorized | None = None

    def exception(self) -> Unauthorized:
        return self.error if self.error is not None else CredentialsRejected(self.cause)


Outcome = User | Rejected | None


class CheckingAuthenticator(ABC):
    """An `Authenticator` whose answer is an `Outcome` value (`check`); `authenticate`
    raises a rejection as `CredentialsRejected`, as the protocol says."""

    @abstractmethod
    async def check(self, credentials: Credentials) -> Outcome: ...

    async def authenticate(self, credentials: Credentials) -> User | None:
        outcome = await self.check(credentials)
        if isinstance(outcome, Rejected):
            raise outcome.exception()
        return outcome


Check = Callable[[Credentials], Awaitable[Outcome]]


def checker(authenticator: Authenticator) -> Check:
    """The authenticator's `check`, or its `authenticate` with errors as values; found once
    (when a chain is built), not per request."""
    if isinstance(authenticator, CheckingAuthenticator):
        return authenticator.check
    return functools.partial(outcome_of, authenticator)


async def outcome_of(authenticator: Authenticator, credentials: Credentials) -> Outcome:
    """`check()` where the authenticator has it, else `authenticate()` with its error caught."""
    if isinstance(authenticator, CheckingAuthenticator):
        return await authenticator.check(credentials)
    try:
        return await authenticator.authenticate(credentials)
    except Unauthorized as exc:
        # without its traceback: kept, the error would hold this frame (and the caller's),
        # a cycle per request that only the garbage collector ends
        error = exc.with_traceback(None)
        return Rejected(error.cause if isinstance(error, CredentialsRejected) else error.message,
                        error)
