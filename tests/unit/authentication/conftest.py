"""Throwaway CAs and certificates for the authentication tests."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from k8s_aggapi.authentication.cabundle import DynamicCABundle
from k8s_aggapi.authentication.interface import Credentials
from k8s_aggapi.serving.certs import KeyPair, new_ca, new_cert


def der(pair: KeyPair) -> bytes:
    return pair.cert.public_bytes(serialization.Encoding.DER)


def credentials(
    headers: dict[str, str | list[str]] | None = None, cert: KeyPair | None = None
) -> Credentials:
    """Credentials as the middleware builds them: lower-case names, all values."""
    built = {
        k.lower(): tuple(v) if isinstance(v, list) else (v,) for k, v in (headers or {}).items()
    }
    return Credentials(built, der(cert) if cert else None)


def expired_cert(ca: KeyPair, common_name: str) -> KeyPair:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
        .issuer_name(ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=10))
        .not_valid_after(now - datetime.timedelta(days=1))
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
        .sign(ca.key, hashes.SHA256())
    )
    return KeyPair(cert, key)


@dataclass(frozen=True)
class Pki:
    client_ca: KeyPair
    proxy_ca: KeyPair
    user: KeyPair  # CN=alice O=dev,ops from the client CA
    proxy: KeyPair  # CN=front-proxy-client from the proxy CA
    stranger_proxy: KeyPair  # CN=someone-else from the proxy CA
    expired_proxy: KeyPair  # CN=front-proxy-client, expired
    server_only_proxy: KeyPair  # CN=front-proxy-client, serverAuth EKU only

    def client_bundle(self) -> DynamicCABundle:
        return DynamicCABundle("client-ca", self.client_ca.cert_pem())

    def proxy_bundle(self) -> DynamicCABundle:
        return DynamicCABundle("request-header", self.proxy_ca.cert_pem())


@pytest.fixture(scope="session")
def pki() -> Pki:
    client_ca, proxy_ca = new_ca("client-ca"), new_ca("front-proxy-ca")
    return Pki(
        client_ca=client_ca,
        proxy_ca=proxy_ca,
        user=new_cert(client_ca, "alice", organizations=["dev", "ops"], client=True),
        proxy=new_cert(proxy_ca, "front-proxy-client", client=True),
        stranger_proxy=new_cert(proxy_ca, "someone-else", client=True),
        expired_proxy=expired_cert(proxy_ca, "front-proxy-client"),
        server_only_proxy=new_cert(proxy_ca, "front-proxy-client", server=True),
    )
