"""A CA bundle that can be swapped at runtime, and the client-certificate check made against it.

The requestheader and x509 authenticators each hold one; the ConfigMap follower or a file
poller updates it, and the serving layer subscribes to keep its TLS trust store in step.
"""

from __future__ import annotations

import datetime
import functools
import logging
from collections.abc import Callable

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from k8s_aggapi.authentication.interface import CredentialsRejected

logger = logging.getLogger(__name__)

Now = Callable[[], datetime.datetime]
Listener = Callable[["DynamicCABundle"], None]


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


def _allows_client_auth(cert: x509.Certificate) -> bool:
    try:
        usages = cert.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    except x509.ExtensionNotFound:
        return True
    return (
        ExtendedKeyUsageOID.CLIENT_AUTH in usages
        or ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE in usages
    )


def _valid_at(cert: x509.Certificate, now: datetime.datetime) -> bool:
    return cert.not_valid_before_utc <= now <= cert.not_valid_after_utc


@functools.lru_cache(maxsize=256)
def load_peer_certificate(der: bytes) -> x509.Certificate:
    """Parse the peer's DER certificate; cached, as a front proxy presents the same one often."""
    return x509.load_der_x509_certificate(der)


def subject_values(cert: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    """String values of one subject attribute, in order (Go keeps the last CN, all O's)."""
    return [str(a.value) for a in cert.subject.get_attributes_for_oid(oid)]


def common_name(cert: x509.Certificate) -> str:
    names = subject_values(cert, NameOID.COMMON_NAME)
    return names[-1] if names else ""


def describe(cert: x509.Certificate) -> str:
    """How upstream names a certificate in its log lines (subject and serial)."""
    return f'"{cert.subject.rfc4514_string()}" (serial {cert.serial_number:x})'


class DynamicCABundle:
    """A named PEM bundle of CAs; `update()` swaps it and tells the listeners."""

    def __init__(self, name: str, pem: bytes = b"", *, now: Now = _utcnow) -> None:
        self.name = name
        self._now = now
        self._listeners: list[Listener] = []
        self._pem = b""
        self._cas: tuple[x509.Certificate, ...] = ()
        if pem.strip():
            self.update(pem)

    @property
    def pem(self) -> bytes:
        return self._pem

    @property
    def certificates(self) -> tuple[x509.Certificate, ...]:
        return self._cas

    def __bool__(self) -> bool:
        return bool(self._cas)

    def subscribe(self, listener: Listener) -> None:
        """Call `listener(bundle)` after every change (the serving layer reloads its trust)."""
        self._listeners.append(listener)

    def update(self, pem: bytes) -> bool:
        """Swap in a new bundle; False when unchanged. Raises ValueError for empty or bad PEM,
        keeping the old content (as upstream's CA controllers do)."""
        if pem == self._pem:
            return False
        if not pem.strip():
            raise ValueError(f"missing content for CA bundle {self.name!r}")
        cas = tuple(x509.load_pem_x509_certificates(pem))
        self._pem, self._cas = pem, cas
        logger.info("loaded CA bundle %s: %s", self.name, ", ".join(map(describe, cas)))
        for listener in self._listeners:
            try:
                listener(self)
            except Exception:
                logger.exception("listener of CA bundle %s failed", self.name)
        return True

    def verified_peer(
        self, der: bytes | None, *, reason_prefix: str = ""
    ) -> x509.Certificate | None:
        """The peer certificate when it is a valid client certificate of this bundle; None
        when there is no certificate or no CA (no opinion); `CredentialsRejected` otherwise."""
        if der is None or not self:
            return None
        try:
            cert = load_peer_certificate(der)
        except ValueError as exc:
            raise CredentialsRejected(f"unparseable client certificate: {exc}") from None
        problem = self.verify_client(cert)
        if problem is not None:
            raise CredentialsRejected(reason_prefix + problem)
        return cert

    def verify_client(self, cert: x509.Certificate) -> str | None:
        """None when `cert` is a valid client certificate issued directly by one of the CAs,
        else the reason it is not. Intermediates are not followed: the serving layer hands
        over the leaf only."""
        now = self._now()
        if not _valid_at(cert, now):
            return f"certificate {describe(cert)} has expired or is not yet valid"
        if not _allows_client_auth(cert):
            return f"certificate {describe(cert)} is not valid for client authentication"
        for ca in self._cas:
            try:
                cert.verify_directly_issued_by(ca)
            except (ValueError, TypeError, InvalidSignature):
                continue
            if not _valid_at(ca, now):
                return f"CA {describe(ca)} of bundle {self.name!r} has expired or is not yet valid"
            if not _allows_client_auth(ca):
                return f"CA {describe(ca)} of bundle {self.name!r} does not allow client auth"
            return None
        return f"certificate {describe(cert)} is not signed by a CA of bundle {self.name!r}"
