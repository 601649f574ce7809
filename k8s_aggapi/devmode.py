"""Dev mode: run with no cluster. A small PKI and a kubeconfig are made once in the cert dir.

Files: serving-ca.crt, apiserver.crt/.key (serving), client-ca.crt, admin.crt/.key
(CN admin, O system:masters), front-proxy-ca.crt, front-proxy-client.crt/.key and kubeconfig.
Existing files are reused, so kubectl keeps working across restarts.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from k8s_aggapi.kubeconfig import kubeconfig, write_kubeconfig
from k8s_aggapi.serving.certs import KeyPair, is_ip, new_ca, new_cert

DEFAULT_DIR = ".aggapi"


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


def ensure_dev_pki(
    directory: Path, *, server: str, sans: tuple[str, ...] = ()
) -> DevPKI:
    """Create whatever is missing; always rewrite the kubeconfig for `server` (https URL)."""
    pki = DevPKI(directory)
    directory.mkdir(parents=True, exist_ok=True)
    serving_ca = _ca(pki, "serving-ca", "k8s-aggapi-dev-serving-ca")
    client_ca = _ca(pki, "client-ca", "k8s-aggapi-dev-client-ca")
    proxy_ca = _ca(pki, "front-proxy-ca", "k8s-aggapi-dev-front-proxy-ca")
    dns = ["localhost", *(s for s in sans if not is_ip(s))]
    ips = ["127.0.0.1", *(s for s in sans if is_ip(s))]
    if not pki.serving_cert.exists() or not pki.serving_key.exists():
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
