"""Dev mode: run with no cluster. A small PKI and a kubeconfig are made once in the cert dir.

Files: serving-ca.crt, apiserver.crt/.key (serving), client-ca.crt, admin.crt/.key
(CN admin, O system:masters), front-proxy-ca.crt, front-proxy-client.crt/.key and kubeconfig.
Existing files are reused, so kubectl keeps working across restarts; the serving certificate
is made anew (and a log line says why) when its SANs or its CA no longer fit.
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature

from k8s_aggapi.kubeconfig import kubeconfig, write_kubeconfig
from k8s_aggapi.serving.certs import KeyPair, is_ip, new_ca, new_cert, sans_of

DEFAULT_DIR = ".aggapi"
log = logging.getLogger("k8s_aggapi.devmode")


@dataclass(frozen=True)
class DevPKI:
    directory: Path

    @property
    def serving_ca(self) -> Path:
        return self.directory / "serving-ca.crt"

    @property
    def serving_cert(self) -> Path:
        return self.directory / "apiserver.crt"

    @property
    def serving_key(self) -> Path:
        return self.directory / "apiserver.key"

    @property
    def client_ca(self) -> Path:
        return self.directory / "client-ca.crt"

    @property
    def front_proxy_ca(self) -> Path:
        return self.directory / "front-proxy-ca.crt"

    @property
    def kubeconfig(self) -> Path:
        return self.directory / "kubeconfig"

    def pair(self, name: str) -> tuple[Path, Path]:
        return self.directory / f"{name}.crt", self.directory / f"{name}.key"


def _ca(pki: DevPKI, name: str, common_name: str) -> KeyPair:
    cert, key = pki.pair(name)
    if cert.exists() and key.exists():
        return KeyPair.load(cert, key)
    ca = new_ca(common_name)
    ca.write(cert, key)
    return ca


def _leaf(pki: DevPKI, name: str, make: KeyPair) -> None:
    cert, key = pki.pair(name)
    if not (cert.exists() and key.exists()):
        make.write(cert, key)


def serving_hosts(bind_address: str, sans: tuple[str, ...] = ()) -> tuple[list[str], list[str]]:
    """(DNS names, IPs) of the dev serving certificate: localhost, 127.0.0.1, a specific bind
    address and every `--tls-san`."""
    hosts = ["localhost", "127.0.0.1"]
    if is_ip(bind_address) and not ipaddress.ip_address(bind_address).is_unspecified:
        hosts.append(str(ipaddress.ip_address(bind_address)))
    hosts += [str(ipaddress.ip_address(h)) if is_ip(h) else h for h in sans]
    unique = list(dict.fromkeys(hosts))
    return [h for h in unique if not is_ip(h)], [h for h in unique if is_ip(h)]


def _serving_cert_stale(pki: DevPKI, ca: KeyPair, dns: list[str], ips: list[str]) -> str:
    """Why the serving pair on disk must be made anew ("" when it fits)."""
    if not (pki.serving_cert.exists() and pki.serving_key.exists()):
        return ""  # nothing to replace: made silently on first use
    try:
        current = KeyPair.load(pki.serving_cert, pki.serving_key)
    except (OSError, ValueError, TypeError) as e:
        return f"it could not be read ({e})"
    try:
        current.cert.verify_directly_issued_by(ca.cert)
    except (ValueError, TypeError, InvalidSignature):
        return "it was not issued by the current serving CA"
    have_dns, have_ips = sans_of(current.cert)
    if have_dns != set(dns) or have_ips != set(ips):
        return (f"its SANs {sorted(have_dns | have_ips)} differ from the wanted "
                f"{sorted({*dns, *ips})} (--tls-san or --bind-address changed)")
    return ""


def ensure_dev_pki(
    directory: Path, *, server: str, sans: tuple[str, ...] = (), bind_address: str = "127.0.0.1",
) -> DevPKI:
    """Create whatever is missing, renew a serving certificate whose SANs changed, and
    always rewrite the kubeconfig for `server` (https URL)."""
    pki = DevPKI(directory)
    directory.mkdir(parents=True, exist_ok=True)
    serving_ca = _ca(pki, "serving-ca", "k8s-aggapi-dev-serving-ca")
    client_ca = _ca(pki, "client-ca", "k8s-aggapi-dev-client-ca")
    proxy_ca = _ca(pki, "front-proxy-ca", "k8s-aggapi-dev-front-proxy-ca")
    dns, ips = serving_hosts(bind_address, sans)
    stale = _serving_cert_stale(pki, serving_ca, dns, ips)
    if stale:
        log.warning("regenerating the dev serving certificate %s: %s", pki.serving_cert, stale)
    if stale or not pki.serving_cert.exists() or not pki.serving_key.exists():
        new_cert(serving_ca, "k8s-aggapi-dev", dns_names=dns, ip_addresses=ips, server=True).write(
            pki.serving_cert, pki.serving_key
        )
    _leaf(pki, "admin", new_cert(client_ca, "admin", organizations=["system:masters"], client=True))
    _leaf(pki, "front-proxy-client", new_cert(proxy_ca, "front-proxy-client", client=True))
    admin_cert, admin_key = pki.pair("admin")
    write_kubeconfig(pki.kubeconfig, kubeconfig(
        server, serving_ca.cert_pem(), "admin", admin_cert.read_bytes(), admin_key.read_bytes(),
        cluster="aggapi-dev",
    ))
    return pki
