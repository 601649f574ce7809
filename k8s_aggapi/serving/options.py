"""Secure serving options (upstream's `--bind-address`, `--secure-port`, `--tls-*`, `--cert-dir`).

`SecureServingOptions` holds what the user said; `complete()` writes a self-signed pair when
no certificate files are given, reads the client CAs and returns a `SecureServingInfo`.
"""

from __future__ import annotations

import datetime
import ipaddress
import ssl
from dataclasses import dataclass
from pathlib import Path

from k8s_aggapi.serving.certs import is_ip, load_bundle, new_ca, new_cert
from k8s_aggapi.serving.tls import DynamicServingTLS

TLS_VERSIONS = {
    "VersionTLS12": ssl.TLSVersion.TLSv1_2,
    "VersionTLS13": ssl.TLSVersion.TLSv1_3,
}


@dataclass(frozen=True)
class SecureServingOptions:
    """What the user asked for; nothing is read or written until `complete()`."""

    bind_address: str = "0.0.0.0"
    secure_port: int = 443
    tls_cert_file: str = ""
    tls_private_key_file: str = ""
    cert_dir: str = "apiserver.local.config/certificates"
    pair_name: str = "apiserver"
    tls_sans: tuple[str, ...] = ()
    """Extra DNS names or IPs for the self-signed certificate (besides localhost, 127.0.0.1)."""
    tls_min_version: str = "VersionTLS12"
    client_ca_files: tuple[str, ...] = ()
    """Every CA the TLS layer accepts client certs from: client-ca and requestheader-ca."""
    cert_reload_interval: float = 2.0
    """Seconds between checks of the certificate and key files for a new pair."""

    def complete(self) -> SecureServingInfo:
        """Resolve the options: self-signed pair if needed, CAs read, TLS contexts built.

        Blocking (file I/O, key generation): call it at startup or through `asyncio.to_thread`.
        """
        if self.tls_min_version not in TLS_VERSIONS:
            raise ValueError(
                f"--tls-min-version: {self.tls_min_version!r} is not one of {sorted(TLS_VERSIONS)}"
            )
        if bool(self.tls_cert_file) != bool(self.tls_private_key_file):
            raise ValueError("--tls-cert-file and --tls-private-key-file must be given together")
        if self.tls_cert_file:
            cert_file, key_file = Path(self.tls_cert_file), Path(self.tls_private_key_file)
        else:
            cert_file = Path(self.cert_dir) / f"{self.pair_name}.crt"
            key_file = Path(self.cert_dir) / f"{self.pair_name}.key"
            ensure_self_signed(cert_file, key_file, self._self_signed_hosts())
        client_ca_pem = b"".join(_read_ca(Path(f)) for f in self.client_ca_files)
        tls = DynamicServingTLS(
            cert_file,
            key_file,
            client_ca_pem=client_ca_pem,
            min_version=TLS_VERSIONS[self.tls_min_version],
        )
        return SecureServingInfo(
            bind_address=self.bind_address,
            secure_port=self.secure_port,
            tls=tls,
            reload_interval=self.cert_reload_interval,
        )

    def _self_signed_hosts(self) -> list[str]:
        hosts = ["localhost", "127.0.0.1"]
        if is_ip(self.bind_address) and not ipaddress.ip_address(self.bind_address).is_unspecified:
            hosts.append(self.bind_address)
        return hosts + [h for h in self.tls_sans if h not in hosts]


@dataclass(frozen=True)
class SecureServingInfo:
    """Completed serving options: where to listen and the live TLS configuration."""

    bind_address: str
    secure_port: int
    tls: DynamicServingTLS
    reload_interval: float = 2.0


def ensure_self_signed(cert_file: Path, key_file: Path, hosts: list[str]) -> bool:
    """Write a CA-signed serving pair for `hosts` unless both files exist; True if written.

    Like upstream's `MaybeDefaultWithSelfSignedCerts`: the certificate file holds the serving
    certificate followed by its throwaway CA.
    """
    if cert_file.exists() and key_file.exists():
        return False
    stamp = int(datetime.datetime.now(datetime.UTC).timestamp())
    ca = new_ca(f"{hosts[0]}-ca@{stamp}")
    pair = new_cert(
        ca,
        f"{hosts[0]}@{stamp}",
        dns_names=[h for h in hosts if not is_ip(h)],
        ip_addresses=[h for h in hosts if is_ip(h)],
        server=True,
    )
    pair.write(cert_file, key_file, chain=[ca])
    return True


def _read_ca(path: Path) -> bytes:
    pem = path.read_bytes()
    if not load_bundle(pem):
        raise ValueError(f"{path}: no certificates found")
    return pem if pem.endswith(b"\n") else pem + b"\n"
