"""The throwaway PKI of an envtest control plane: CAs, serving and client certs, kubeconfigs.

Cluster CA for the apiserver, the kubelets (kwok) and every client; a separate front-proxy CA
for the aggregator's client cert; an EC service-account key. Files are PEM in one folder
(control-plane.md §2).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from k8s_aggapi.kubeconfig import kubeconfig, write_kubeconfig
from k8s_aggapi.serving.certs import KeyPair, new_ca, new_cert, write_atomic

SERVICE_CLUSTER_IP_RANGE = "10.96.0.0/12"
APISERVER_SANS = (
    "localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
)
FRONT_PROXY_CLIENT = "front-proxy-client"
ADMIN_USER = "kubernetes-admin"
KUBELET_SERVING = "kubelet"  # kwok's serving cert: it answers for every fake node's kubelet
KUBELET_SANS = ("localhost",)
KUBELET_IPS = ("127.0.0.1",)


@dataclass(frozen=True)
class PKI:
    """The certificate files of one control plane, all under `directory`."""

    directory: Path
    ca: KeyPair

    def crt(self, name: str) -> Path:
        return self.directory / f"{name}.crt"

    def key(self, name: str) -> Path:
        return self.directory / f"{name}.key"

    @property
    def kubelet_ca(self) -> Path:
        """The CA that signed the kubelets' (kwok's) serving cert, for a metrics server's
        `--kubelet-certificate-authority`: the cluster CA, as with kubelet serving-cert
        bootstrap (kubelet-serving CSRs signed by the cluster signer)."""
        return self.crt("ca")

    @property
    def sa_key(self) -> Path:
        return self.directory / "sa.key"

    @property
    def sa_pub(self) -> Path:
        return self.directory / "sa.pub"

    @classmethod
    def create(cls, directory: Path) -> PKI:
        """Generate every file the control plane's flags refer to."""
        directory.mkdir(parents=True, exist_ok=True)
        pki = cls(directory, new_ca("kubernetes-ca"))
        pki._write("ca", pki.ca)
        pki._write("apiserver", new_cert(
            pki.ca, "kube-apiserver", dns_names=APISERVER_SANS,
            ip_addresses=("127.0.0.1", "10.96.0.1"), server=True))
        pki._write("admin", pki.client_cert(ADMIN_USER, ["system:masters"]))
        pki._write("kube-controller-manager", pki.client_cert(
            "system:kube-controller-manager", ["system:masters"]))
        # what a kubelet serves with (CN system:node:<name>, O system:nodes, SANs its
        # addresses); one cert for kwok, which serves every fake node on 127.0.0.1
        pki._write(KUBELET_SERVING, new_cert(
            pki.ca, "system:node:kwok", organizations=["system:nodes"],
            dns_names=KUBELET_SANS, ip_addresses=KUBELET_IPS, server=True))
        front_proxy_ca = new_ca("front-proxy-ca")
        pki._write("front-proxy-ca", front_proxy_ca)
        pki._write(FRONT_PROXY_CLIENT, new_cert(front_proxy_ca, FRONT_PROXY_CLIENT, client=True))
        sa = ec.generate_private_key(ec.SECP256R1())
        write_atomic(pki.sa_key, sa.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()), mode=0o600)
        write_atomic(pki.sa_pub, sa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))
        return pki

    def _write(self, name: str, pair: KeyPair) -> None:
        pair.write(self.crt(name), self.key(name))

    def client_cert(self, user: str, groups: Iterable[str] = ()) -> KeyPair:
        """A client certificate for `user` (CN) in `groups` (O), signed by the cluster CA."""
        return new_cert(self.ca, user, organizations=groups, client=True)

    def serving_cert_for(self, service: str, namespace: str) -> tuple[Path, Path]:
        """Cert and key paths for an aggregated server behind Service `service.namespace`.

        The aggregator checks the ServerName `<svc>.<ns>.svc` whatever address it dials.
        """
        svc = f"{service}.{namespace}.svc"
        dns = (svc, f"{svc}.cluster.local", "localhost")
        name = f"serving-{service}.{namespace}"
        self._write(name, new_cert(
            self.ca, dns[0], dns_names=dns, ip_addresses=("127.0.0.1",), server=True))
        return self.crt(name), self.key(name)

    def user_kubeconfig(self, name: str, groups: Iterable[str] = (), *, server: str) -> Path:
        """Write `<directory>/users/<name>.kubeconfig` for `name` in `groups`; JSON is YAML."""
        path = self.directory / "users" / f"{name}.kubeconfig"
        return _write_kubeconfig(path, server, self.ca, name, self.client_cert(name, groups))

    def kubeconfig_for(self, cert_name: str, path: Path, *, server: str) -> Path:
        """Write a kubeconfig at `path` using the client cert `<cert_name>.crt` (e.g. admin)."""
        pair = KeyPair.load(self.crt(cert_name), self.key(cert_name))
        return _write_kubeconfig(path, server, self.ca, cert_name, pair)


def _write_kubeconfig(path: Path, server: str, ca: KeyPair, user: str, pair: KeyPair) -> Path:
    config = kubeconfig(server, ca.cert_pem(), user, pair.cert_pem(), pair.key_pem(),
                        cluster="envtest")
    return write_kubeconfig(path, config)
