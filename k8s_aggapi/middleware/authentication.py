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
)
from k8s_aggapi.authentication.requestheader import STANDARD_HEADERS
from k8s_aggapi.errors import Unauthorized
from k8s_aggapi.request import context

logger = logging.getLogger(__name__)

StripHeaders = Callable[[], Iterable[str]] | Iterable[str]
ALWAYS_STRIPPED = ("authorization", *STANDARD_HEADERS.strip_headers())
Rules = tuple[frozenset[bytes], tuple[bytes, ...]]


def _rules(extra: Iterable[str]) -> Rules:
    names: set[bytes] = set()
    prefixes: list[bytes] = []
    for header in (*ALWAYS_STRIPPED, *extra):
        raw = header.strip().lower().encode("latin-1")
        if raw.endswith(b"*"):
            prefixes.append(raw[:-1])
        else:
            names.add(raw)
    return frozenset(names), tuple(prefixes)


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
        self._strip = _rules(())

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
        names, prefixes = self._rules()
        kept = [(name, value) for name, value in raw_headers
                if (lowered := name.lower()) not in names and not lowered.startswith(prefixes)]
        if len(kept) != len(raw_headers):
            scope["headers"] = kept
        scope[context.USER] = outcome
        await self.app(scope, receive, send)

    def _rules(self) -> Rules:
        """The names and prefixes to strip, made again only when the configured ones change."""
        configured = self.strip_headers() if callable(self.strip_headers) else self.strip_headers
        if configured is self._extra:
            return self._strip
        extra = tuple(configured)
        if extra != self._extra:
            self._strip, self._extra = _rules(extra), extra
        return self._strip
