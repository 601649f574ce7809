"""Live TLS configuration: serving pair reloaded from disk, client CAs replaceable at runtime.

The listening context's SNI callback moves each new handshake onto the current context (the
Python form of Go's `GetConfigForClient`), so rotations never need a restart.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
from pathlib import Path

from cryptography import x509

from k8s_aggapi.serving.certs import load_bundle

logger = logging.getLogger(__name__)

_Stamp = tuple[tuple[int, int, int, int], tuple[int, int, int, int]]


class DynamicServingTLS:
    """The `ssl.SSLContext` to listen with, and the pair and CAs new handshakes get.

    Client certificates are requested, not required (`CERT_OPTIONAL`) whenever a client CA is
    configured; a presented certificate from any other CA fails the handshake.
    """

    def __init__(
        self,
        cert_file: Path,
        key_file: Path,
        *,
        client_ca_pem: bytes = b"",
        min_version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_2,
    ) -> None:
        self.cert_file, self.key_file = cert_file, key_file
        self.min_version = min_version
        self._lock = asyncio.Lock()
        self._client_ca_pem = client_ca_pem
        self._stamp = _stat_pair(cert_file, key_file)
        self._current, self._cert_pem = self._build(client_ca_pem)
        self._listening, _ = self._build(client_ca_pem)
        self._listening.sni_callback = self._select
        self._pending = False
        self._failed_stamp: _Stamp | None = None

    @property
    def context(self) -> ssl.SSLContext:
        """The context to hand to the listener; it forwards every handshake to the current one."""
        return self._listening

    @property
    def client_ca_pem(self) -> bytes:
        return self._client_ca_pem

    @property
    def certificate(self) -> x509.Certificate:
        """The serving certificate new handshakes present (the leaf)."""
        return x509.load_pem_x509_certificate(self._cert_pem)

    async def set_client_cas(self, pem: bytes) -> bool:
        """Replace the accepted client CAs (client-ca + requestheader-ca bundles, concatenated).

        Open connections keep what they negotiated; new handshakes use the new set. An empty
        `pem` stops asking for client certificates. False if the serving pair could not be
        loaded just now (mid-rotation): the new set is then applied by the next reload.
        """
        try:
            if pem.strip() and not load_bundle(pem):
                raise ValueError("no certificates found")
        except ValueError as exc:
            raise ValueError(f"client CA bundle: {exc}") from exc
        async with self._lock:
            self._client_ca_pem = pem
            self._pending = True
            return await self._rebuild(self._stamp)

    async def reload_if_changed(self) -> bool:
        """Load the pair again if either file changed (or a rebuild is pending); True if swapped.

        A half-written update (cert and key not matching) is ignored until both files agree.
        """
        try:
            stamp = await asyncio.to_thread(_stat_pair, self.cert_file, self.key_file)
        except OSError:  # between a remove and a rename: look again next time
            return False
        async with self._lock:
            if stamp == self._stamp and not self._pending:
                return False
            return await self._rebuild(stamp)

    async def watch(self, interval: float = 2.0) -> None:
        """Poll both files every `interval` seconds, forever (run it as a task)."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.reload_if_changed()
            except Exception:  # keep watching whatever happened
                logger.exception("reloading the serving certificate failed")

    async def _rebuild(self, stamp: _Stamp) -> bool:
        try:
            context, cert_pem = await asyncio.to_thread(self._build, self._client_ca_pem)
        except (OSError, ssl.SSLError, ValueError) as exc:
            self._pending = True
            if stamp != self._failed_stamp:
                self._failed_stamp = stamp
                logger.warning("keeping the old serving certificate: %s", exc)
            return False
        self._current, self._cert_pem, self._stamp = context, cert_pem, stamp
        self._pending, self._failed_stamp = False, None
        self._listening.verify_mode = context.verify_mode
        logger.info("serving certificate loaded: %s", self.certificate.subject.rfc4514_string())
        return True

    def _build(self, client_ca_pem: bytes) -> tuple[ssl.SSLContext, bytes]:
        before = self.cert_file.read_bytes()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.minimum_version = self.min_version
        context.load_cert_chain(self.cert_file, self.key_file)
        if before != self.cert_file.read_bytes():
            raise ValueError(f"{self.cert_file} changed while it was being loaded")
        if client_ca_pem.strip():
            context.load_verify_locations(cadata=client_ca_pem.decode("ascii"))
            context.verify_mode = ssl.CERT_OPTIONAL
        else:
            context.verify_mode = ssl.CERT_NONE
        context.set_alpn_protocols(["http/1.1"])
        return context, before

    def _select(self, conn: ssl.SSLObject, _name: str | None, _ctx: ssl.SSLContext) -> None:
        conn.context = self._current


def _stat_pair(cert_file: Path, key_file: Path) -> _Stamp:
    return _stat(cert_file), _stat(key_file)


def _stat(path: Path) -> tuple[int, int, int, int]:
    st = os.stat(path)  # follows symlinks, so a Secret's `..data` swap counts as a change
    return st.st_ino, st.st_dev, st.st_size, st.st_mtime_ns
