"""Front-proxy (request-header) authentication, first in the chain: X-Remote-* headers are
trusted only when the peer certificate was issued directly by a requestheader CA and its CN is
allowed (k8s.io/apiserver pkg/authentication/request/headerrequest and x509.Verifier).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

from k8s_aggapi.authentication.cabundle import DynamicCABundle, peer_subject
from k8s_aggapi.authentication.interface import Credentials, CredentialsRejected
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


def _values(headers: Mapping[str, tuple[str, ...]], name: str) -> list[str]:
    """Every value of header `name`, trimmed of spaces and tabs as Go's textproto does."""
    return [v.strip(_OWS) for v in headers.get(name.strip().lower(), ())]


def _first_value(headers: Mapping[str, tuple[str, ...]], names: tuple[str, ...]) -> str:
    for name in names:
        values = _values(headers, name)
        if values and values[0]:
            return values[0]
    return ""


def user_from_headers(
    headers: Mapping[str, tuple[str, ...]], config: RequestHeaderConfig
) -> User | None:
    """The user the headers name, or None without a username header."""
    name = _first_value(headers, config.username_headers)
    if not name:
        return None
    groups = [
        value for header in config.group_headers for value in _values(headers, header) if value
    ]
    extra: dict[str, tuple[str, ...]] = {}
    for prefix in (p.strip().lower() for p in config.extra_headers_prefix):
        for header in headers:
            if header.startswith(prefix):
                key = unescape_extra_key(header[len(prefix):])
                extra[key] = (*extra.get(key, ()), *_values(headers, header))
    return User(name, tuple(groups), _first_value(headers, config.uid_headers), extra)


class RequestHeaderAuthenticator:
    """Verify the proxy's certificate, then read the user from the headers.

    No certificate, or no CA yet: no opinion. A certificate that is not a valid front-proxy
    certificate is an error, as upstream; the union goes on to x509 with it.
    """

    def __init__(self, ca: DynamicCABundle, config: RequestHeaderConfig | None = None) -> None:
        self.ca = ca
        self.config = config or RequestHeaderConfig()

    def update_config(self, config: RequestHeaderConfig) -> None:
        self.config = config

    async def authenticate(self, credentials: Credentials) -> User | None:
        der = credentials.client_cert_der
        if der is None or self.ca.verified_peer(der) is None:
            return None
        config = self.config
        cn = peer_subject(der)[0]
        if config.allowed_names and cn not in config.allowed_names:
            raise CredentialsRejected(f"x509: subject with cn={cn} is not in the allowed list")
        return user_from_headers(credentials.headers, config)
