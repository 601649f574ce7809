"""Front-proxy (request-header) authentication, first in the chain: X-Remote-* headers are
trusted only when the peer certificate was issued directly by a requestheader CA and its CN is
allowed (k8s.io/apiserver pkg/authentication/request/headerrequest and x509.Verifier).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from k8s_aggapi.authentication.cabundle import DynamicCABundle, peer_subject
from k8s_aggapi.authentication.interface import (
    CheckingAuthenticator,
    Credentials,
    Headers,
    Outcome,
    Rejected,
    header_key,
)
from k8s_aggapi.request.user import User

_BAD_ESCAPE = re.compile(r"%(?![0-9A-Fa-f]{2})")
_OWS = " \t"


@dataclass(frozen=True)
class RequestHeaderConfig:
    """Which headers carry the user, and which proxy CNs may send them."""

    username_headers: tuple[str, ...] = ("X-Remote-User",)
    group_headers: tuple[str, ...] = ("X-Remote-Group",)
    extra_headers_prefix: tuple[str, ...] = ("X-Remote-Extra-",)
    uid_headers: tuple[str, ...] = ()
    allowed_names: tuple[str, ...] = ()

    @functools.cached_property
    def lookup(self) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """The username, group, extra-prefix and uid header names as looked up (lower case,
        trimmed), made once per configuration."""
        def keys(names: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(name.strip().lower() for name in names)

        return (keys(self.username_headers), keys(self.group_headers),
                keys(self.extra_headers_prefix), keys(self.uid_headers))

    @functools.cached_property
    def identity_headers(self) -> frozenset[str]:
        username_keys, group_keys, _, uid_keys = self.lookup
        return frozenset((*username_keys, *group_keys, *uid_keys))

    def strip_headers(self) -> tuple[str, ...]:
        """Lower-case header names to remove after authentication; prefixes end with `*`."""
        names = (*self.username_headers, *self.uid_headers, *self.group_headers)
        prefixes = tuple(f"{p}*" for p in self.extra_headers_prefix)
        return tuple(h.strip().lower() for h in (*names, *prefixes))


STANDARD_HEADERS = RequestHeaderConfig(uid_headers=("X-Remote-Uid",))
"""The headers kube-apiserver's proxy sends; always stripped, whatever is configured."""


def unescape_extra_key(encoded: str) -> str:
    """Percent-decode an extra key like Go's url.PathUnescape; keep it as is when malformed."""
    if _BAD_ESCAPE.search(encoded):
        return encoded
    try:
        return unquote_to_bytes(encoded).decode()
    except UnicodeDecodeError:
        return encoded


def _values(headers: Mapping[str, tuple[str, ...]], key: str) -> list[str]:
    """Every value of header `key` (lower case), trimmed of spaces and tabs as Go's textproto
    does."""
    return [v.strip(_OWS) for v in headers.get(key, ())]


def _first_value(headers: Mapping[str, tuple[str, ...]], keys: tuple[str, ...]) -> str:
    for key in keys:
        values = headers.get(key)
        if values and (first := values[0].strip(_OWS)):
            return first
    return ""


def user_from_headers(
    headers: Mapping[str, tuple[str, ...]], config: RequestHeaderConfig
) -> User | None:
    """The user the headers name, or None without a username header."""
    username_keys, group_keys, extra_prefixes, uid_keys = config.lookup
    name = _first_value(headers, username_keys)
    if not name:
        return None
    groups = [value for key in group_keys for value in _values(headers, key) if value]
    extra: dict[str, tuple[str, ...]] = {}
    for prefix in extra_prefixes:
        for header in headers:
            if header.startswith(prefix):
                key = unescape_extra_key(header[len(prefix):])
                extra[key] = (*extra.get(key, ()), *_values(headers, header))
    return User(name, tuple(groups), _first_value(headers, uid_keys), extra)


USERS_REMEMBERED_MAX = 1024
IDENTITY_REMEMBERED_BYTES = 1024
"""Users are remembered only for identity headers this short, so the memory stays bounded."""
Identity = tuple[tuple[str, tuple[str, ...]], ...]
RawIdentity = tuple[tuple[str, bytes], ...]


def identity_of(
    headers: Mapping[str, tuple[str, ...]], config: RequestHeaderConfig
) -> Identity | None:
    """The headers a user is made from, in order, as a key; None when they are too long to
    remember."""
    names, prefixes = config.identity_headers, config.lookup[2]
    identity = tuple(item for item in headers.items()
                     if item[0] in names or item[0].startswith(prefixes))
    size = sum(len(value) for _, values in identity for value in values)
    return identity if size <= IDENTITY_REMEMBERED_BYTES else None


NAMES_REMEMBERED_MAX = 256


class IdentityNames(dict[bytes, str | None]):
    """For one configuration: the name `Headers` decodes each raw header name to, when that
    header carries identity, else None; learned per raw name (a proxy sends the same few)."""

    def __init__(self, config: RequestHeaderConfig) -> None:
        super().__init__()
        self.names, self.prefixes = config.identity_headers, config.lookup[2]

    def __missing__(self, raw: bytes) -> str | None:
        name = header_key(raw)
        found = name if name in self.names or name.startswith(self.prefixes) else None
        if len(self) < NAMES_REMEMBERED_MAX:
            self[raw] = found
        return found


def raw_identity(raw: list[tuple[bytes, bytes]], names: IdentityNames) -> RawIdentity | None:
    """`identity_of` without decoding a value: the identity headers' (decoded name, raw value)
    pairs in order, equal exactly when the decoded identities are; None when too long to
    remember."""
    identity = []
    size = 0
    for raw_name, value in raw:
        if (name := names[raw_name]) is not None:
            identity.append((name, value))
            size += len(value)
    return tuple(identity) if size <= IDENTITY_REMEMBERED_BYTES else None


class RequestHeaderAuthenticator(CheckingAuthenticator):
    """Verify the proxy's certificate, then read the user from the headers.

    No certificate, or no CA yet: no opinion. A certificate that is not a valid front-proxy
    certificate is an error, as upstream; the union goes on to x509 with it.
    """

    def __init__(self, ca: DynamicCABundle, config: RequestHeaderConfig | None = None) -> None:
        self.ca = ca
        self.config = config or RequestHeaderConfig()
        # one User per identity a proxy sends (as x509 has one per certificate), so what the
        # layers after authentication derive from a user is remembered for proxied users too
        self._users: tuple[RequestHeaderConfig, dict[Identity | RawIdentity, User | None],
                           IdentityNames] = (self.config, {}, IdentityNames(self.config))

    def update_config(self, config: RequestHeaderConfig) -> None:
        self.config = config

    async def check(self, credentials: Credentials) -> Outcome:
        der = credentials.client_cert_der
        checked = self.ca.check_peer(der)
        if isinstance(checked, str):
            return Rejected(checked)
        if der is None or checked is None:
            return None
        config = self.config
        cn = peer_subject(der)[0]
        if config.allowed_names and cn not in config.allowed_names:
            return Rejected(f"x509: subject with cn={cn} is not in the allowed list")
        return self._user(credentials.headers, config)

    def _user(self, headers: Mapping[str, tuple[str, ...]], config: RequestHeaderConfig
              ) -> User | None:
        made_with, users, names = self._users
        if made_with is not config or len(users) >= USERS_REMEMBERED_MAX:
            names = names if made_with is config else IdentityNames(config)
            users = {}
            self._users = (config, users, names)
        identity: Identity | RawIdentity | None
        if isinstance(headers, Headers):  # as the middleware hands them: no value decoded
            identity = raw_identity(headers.raw, names)
        else:
            identity = identity_of(headers, config)
        if identity is None:
            return user_from_headers(headers, config)
        if identity in users:
            return users[identity]
        user = users[identity] = user_from_headers(headers, config)
        return user
