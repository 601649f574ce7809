"""A CA bundle that can be swapped at runtime, and the client-certificate check made against it.

The requestheader and x509 authenticators each hold one; the ConfigMap follower or a file
poller updates it, and the serving layer subscribes to keep its TLS trust store in step.
The signature check of a peer certificate is remembered per bundle generation (a kept-alive
connection presents the same one each request); validity times are checked every time.
"""

from __future__ import annotations

import datetime
import functools
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from k8s_aggapi.authentication.interface import CredentialsRejected

logger = logging.getLogger(__name__)

Now = Callable[[], datetime.datetime]
Listener = Callable[["DynamicCABundle"], None]
VERDICTS_MAX = 1024
"""Distinct peer certificates remembered per bundle; past that the memory starts over."""


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


Window = tuple[float, float]
"""Not before and not after, as POSIX timestamps (compared with `time.time()` per request)."""


def _window(cert: x509.Certificate) -> Window:
    return cert.not_valid_before_utc.timestamp(), cert.not_valid_after_utc.timestamp()


def _valid_at(window: Window, now: float) -> bool:
    return window[0] <= now <= window[1]


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


@functools.lru_cache(maxsize=256)
def peer_subject(der: bytes) -> tuple[str, tuple[str, ...]]:
    """The (last) CN and the O's of a parsed peer certificate, cached by its DER."""
    cert = load_peer_certificate(der)
    return common_name(cert), tuple(subject_values(cert, NameOID.ORGANIZATION_NAME))


def describe(cert: x509.Certificate) -> str:
    """How upstream names a certificate in its log lines (subject and serial)."""
    return f'"{cert.subject.rfc4514_string()}" (serial {cert.serial_number:x})'


@dataclass(frozen=True, slots=True)
class _Verdict:
    """What does not depend on the clock: the usage checks and which CA signed `cert`, with
    the reasons a refusal gives already written (checked in upstream's order by `_judge`)."""

    cert: x509.Certificate
    window: Window
    issuer_window: Window
    expired: str  # the certificate is outside its validity window
    unusable: str | None  # not for client auth, or signed by no CA of the bundle
    issuer_expired: str
    issuer_unusable: str | None  # the CA does not allow client auth


class DynamicCABundle:
    """A named PEM bundle of CAs; `update()` swaps it and tells the listeners."""

    def __init__(self, name: str, pem: bytes = b"", *, now: Now = _utcnow) -> None:
        self.name = name
        self._now = now
        self._listeners: list[Listener] = []
        self._pem = b""
        self._cas: tuple[x509.Certificate, ...] = ()
        self._verdicts: dict[bytes, _Verdict] = {}  # for the current `_cas` only
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
        self._pem, self._cas, self._verdicts = pem, cas, {}
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
        checked = self.check_peer(der)
        if isinstance(checked, str):
            raise CredentialsRejected(reason_prefix + checked)
        return checked

    def check_peer(self, der: bytes | None) -> x509.Certificate | str | None:
        """`verified_peer` without raising: the reason the certificate is refused, as a str."""
        if der is None or not self._cas:
            return None
        verdict = self._verdicts.get(der)
        if verdict is None:
            try:
                cert = load_peer_certificate(der)
            except ValueError as exc:
                return f"unparseable client certificate: {exc}"
            verdict = self._verdict(cert)
            if len(self._verdicts) >= VERDICTS_MAX:
                self._verdicts = {}
            self._verdicts[der] = verdict
        problem = self._judge(verdict, self._timestamp())
        return verdict.cert if problem is None else problem

    def verify_client(self, cert: x509.Certificate) -> str | None:
        """None when `cert` is a valid client certificate issued directly by one of the CAs,
        else the reason it is not. Intermediates are not followed: the serving layer hands
        over the leaf only."""
        return self._judge(self._verdict(cert), self._timestamp())

    def _timestamp(self) -> float:
        return time.time() if self._now is _utcnow else self._now().timestamp()

    def _verdict(self, cert: x509.Certificate) -> _Verdict:
        described, bundle = describe(cert), repr(self.name)
        expired = f"certificate {described} has expired or is not yet valid"
        unusable = None
        if not _allows_client_auth(cert):
            unusable = f"certificate {described} is not valid for client authentication"
        for ca in self._cas:
            try:
                cert.verify_directly_issued_by(ca)
            except (ValueError, TypeError, InvalidSignature):
                continue
            issuer = describe(ca)
            return _Verdict(
                cert, _window(cert), _window(ca), expired, unusable,
                f"CA {issuer} of bundle {bundle} has expired or is not yet valid",
                None if _allows_client_auth(ca) else
                f"CA {issuer} of bundle {bundle} does not allow client auth")
        unsigned = f"certificate {described} is not signed by a CA of bundle {bundle}"
        window = _window(cert)
        return _Verdict(cert, window, window, expired, unusable or unsigned, "", None)

    @staticmethod
    def _judge(verdict: _Verdict, now: float) -> str | None:
        if not _valid_at(verdict.window, now):
            return verdict.expired
        if verdict.unusable is not None:
            return verdict.unusable
        if not _valid_at(verdict.issuer_window, now):
            return verdict.issuer_expired
        return verdict.issuer_unusable
