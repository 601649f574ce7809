"""Authentication middleware, after request info: finds out who is asking, leaves the `User` in
the scope, and removes the credential headers (`Authorization`, `X-Remote-*`) before any
later layer can read them. A rejected credential raises `Unauthorized` (a 401 Status).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from k8s_aggapi.authentication.interface import (
    Authenticator,
    Credentials,
    Headers,
    Rejected,
    checker,
    header_key,
)
from k8s_aggapi.authentication.requestheader import STANDARD_HEADERS
from k8s_aggapi.errors import Unauthorized
from k8s_aggapi.request import context

logger = logging.getLogger(__name__)

StripHeaders = Callable[[], Iterable[str]] | Iterable[str]
ALWAYS_STRIPPED = ("authorization", *STANDARD_HEADERS.strip_headers())
NAMES_REMEMBERED_MAX = 256


class Stripped(dict[bytes, bool]):
    """Whether a raw header name is removed under one set of names and prefixes (a trailing
    `*` makes a prefix), learned per name: clients send the same few. Names are compared as
    the authenticators read them (`header_key`), so whatever they read is removed."""

    def __init__(self, headers: Iterable[str]) -> None:
        super().__init__()
        names: set[str] = set()
        prefixes: list[str] = []
        for header in (*ALWAYS_STRIPPED, *headers):
            key = header.strip().lower()
            if key.endswith("*"):
                prefixes.append(key[:-1])
            else:
                names.add(key)
        self.names, self.prefixes = frozenset(names), tuple(prefixes)

    def __missing__(self, name: bytes) -> bool:
        key = header_key(name)
        stripped = key in self.names or key.startswith(self.prefixes)
        if len(self) < NAMES_REMEMBERED_MAX:
            self[name] = stripped
        return stripped


class AuthenticationMiddleware:
    """`strip_headers`: more header names to remove (a trailing `*` makes a prefix), or a
    callable giving them, since the ConfigMap may rename the request headers at runtime."""

    def __init__(
        self, app: ASGIApp, authenticator: Authenticator, *, strip_headers: StripHeaders = ()
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self._check = checker(authenticator)
        self.strip_headers = strip_headers
        self._extra: tuple[str, ...] | None = None  # the names `_strip` was made from
        self._strip = Stripped(())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_headers: list[tuple[bytes, bytes]] = scope.get("headers") or []
        credentials = Credentials(Headers(raw_headers), context.peer_certificate_der(scope))
        outcome = await self._check(credentials)
        if isinstance(outcome, Rejected):
            logger.info("Unable to authenticate the request: %s", outcome.cause)
            raise outcome.exception()
        if outcome is None:
            raise Unauthorized()
        stripped = self._stripped()
        kept = [header for header in raw_headers if not stripped[header[0]]]
        if len(kept) != len(raw_headers):
            scope["headers"] = kept
        scope[context.USER] = outcome
        await self.app(scope, receive, send)

    def _stripped(self) -> Stripped:
        """What to strip, made again only when the configured names change."""
        configured = self.strip_headers() if callable(self.strip_headers) else self.strip_headers
        if configured is self._extra:
            return self._strip
        extra = tuple(configured)
        if extra != self._extra:
            self._strip, self._extra = Stripped(extra), extra
        return self._strip
