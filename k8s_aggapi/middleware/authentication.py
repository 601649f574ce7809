"""Authentication middleware, after request info: finds out who is asking, leaves the `User` in
the scope, and removes the credential headers (`Authorization`, `X-Remote-*`) before any
later layer can read them. A rejected credential raises `Unauthorized` (a 401 Status).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from starlette.types import ASGIApp, Receive, Scope, Send

from k8s_aggapi.authentication.interface import Authenticator, Credentials, CredentialsRejected
from k8s_aggapi.authentication.requestheader import STANDARD_HEADERS
from k8s_aggapi.errors import Unauthorized
from k8s_aggapi.request import context

logger = logging.getLogger(__name__)

StripHeaders = Callable[[], Iterable[str]] | Iterable[str]
ALWAYS_STRIPPED = ("authorization", *STANDARD_HEADERS.strip_headers())


def _text(raw: bytes) -> str:
    try:
        return raw.decode()
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _rules(extra: Iterable[str]) -> tuple[frozenset[str], tuple[str, ...]]:
    names: set[str] = set()
    prefixes: list[str] = []
    for header in (*ALWAYS_STRIPPED, *extra):
        header = header.strip().lower()
        if header.endswith("*"):
            prefixes.append(header[:-1])
        else:
            names.add(header)
    return frozenset(names), tuple(prefixes)


class AuthenticationMiddleware:
    """`strip_headers`: more header names to remove (a trailing `*` makes a prefix), or a
    callable giving them, since the ConfigMap may rename the request headers at runtime."""

    def __init__(
        self, app: ASGIApp, authenticator: Authenticator, *, strip_headers: StripHeaders = ()
    ) -> None:
        self.app = app
        self.authenticator = authenticator
        self.strip_headers = strip_headers
        self._extra: tuple[str, ...] | None = None  # the names `_strip` was made from
        self._strip = _rules(())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        raw_headers: list[tuple[bytes, bytes]] = scope.get("headers") or []
        names, prefixes = self._rules()
        headers: dict[str, tuple[str, ...]] = {}
        strip = False
        for name, value in raw_headers:
            key = name.decode("latin-1").lower()
            seen = headers.get(key)
            headers[key] = (_text(value),) if seen is None else (*seen, _text(value))
            strip = strip or key in names or key.startswith(prefixes)
        credentials = Credentials(headers, context.peer_certificate_der(scope))
        try:
            user = await self.authenticator.authenticate(credentials)
        except CredentialsRejected as exc:
            logger.info("Unable to authenticate the request: %s", exc.cause)
            raise
        if user is None:
            raise Unauthorized()
        if strip:
            scope["headers"] = [
                (name, value) for name, value in raw_headers
                if (lowered := name.decode("latin-1").lower()) not in names
                and not lowered.startswith(prefixes)
            ]
        scope[context.USER] = user
        await self.app(scope, receive, send)

    def _rules(self) -> tuple[frozenset[str], tuple[str, ...]]:
        """The names and prefixes to strip, made again only when the configured ones change."""
        extra = tuple(self.strip_headers() if callable(self.strip_headers)
                      else self.strip_headers)
        if extra != self._extra:
            self._strip, self._extra = _rules(extra), extra
        return self._strip
