"""The envtest PKI: the shapes Go and kube-apiserver insist on, and the kubeconfigs."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from k8s_aggapi.envtest.pki import PKI


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> PKI:
    return PKI.create(tmp_path_factory.mktemp("pki"))


def cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def subject(c: x509.Certificate, oid: x509.ObjectIdentifier) -> list[str]:
    return [str(a.value) for a in c.subject.get_attributes_for_oid(oid)]


def sans(c: x509.Certificate) -> tuple[list[str], list[str]]:
    ext = c.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return ext.get_values_for_type(x509.DNSName), [
        str(ip) for ip in ext.get_values_for_type(x509.IPAddress)]


def eku(c: x509.Certificate) -> set[x509.ObjectIdentifier]:
    return set(c.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)


def test_the_files_the_flags_refer_to_exist(pki: PKI) -> None:
    names = ["ca", "apiserver", "admin", "kube-controller-manager", "front-proxy-ca",
             "front-proxy-client"]
    for name in names:
        assert pki.crt(name).is_file()
        assert pki.key(name).is_file()
    assert pki.sa_key.is_file()
    assert pki.sa_pub.is_file()
    assert pki.key("ca").stat().st_mode & 0o077 == 0


def test_kubelet_serving_cert_is_like_a_kubelets_and_verifies_against_the_cluster_ca(
        pki: PKI) -> None:
    c = cert(pki.crt("kubelet"))
    assert subject(c, NameOID.COMMON_NAME) == ["system:node:kwok"]
    assert subject(c, NameOID.ORGANIZATION_NAME) == ["system:nodes"]
    assert sans(c) == (["localhost"], ["127.0.0.1"])  # no "x509: ... doesn't contain any IP SANs"
    assert eku(c) == {ExtendedKeyUsageOID.SERVER_AUTH}
    assert pki.kubelet_ca == pki.crt("ca")
    c.verify_directly_issued_by(cert(pki.kubelet_ca))


def test_cas_are_separate_and_can_sign(pki: PKI) -> None:
    ca, fp = cert(pki.crt("ca")), cert(pki.crt("front-proxy-ca"))
    assert ca.subject != fp.subject
    for c in (ca, fp):
        assert c.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        assert c.extensions.get_extension_for_class(x509.KeyUsage).value.key_cert_sign


def test_apiserver_serving_cert(pki: PKI) -> None:
    c = cert(pki.crt("apiserver"))
    dns, ips = sans(c)
    assert {"localhost", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"} <= set(
        dns)
    assert set(ips) == {"127.0.0.1", "10.96.0.1"}
    assert eku(c) == {ExtendedKeyUsageOID.SERVER_AUTH}
    c.verify_directly_issued_by(cert(pki.crt("ca")))


def test_admin_is_in_system_masters(pki: PKI) -> None:
    c = cert(pki.crt("admin"))
    assert subject(c, NameOID.COMMON_NAME) == ["kubernetes-admin"]
    assert subject(c, NameOID.ORGANIZATION_NAME) == ["system:masters"]
    assert eku(c) == {ExtendedKeyUsageOID.CLIENT_AUTH}


def test_front_proxy_client_is_signed_by_the_front_proxy_ca_only(pki: PKI) -> None:
    c = cert(pki.crt("front-proxy-client"))
    assert subject(c, NameOID.COMMON_NAME) == ["front-proxy-client"]
    c.verify_directly_issued_by(cert(pki.crt("front-proxy-ca")))
    with pytest.raises(ValueError, match="does not match certificate issuer"):
        c.verify_directly_issued_by(cert(pki.crt("ca")))


def test_service_account_keys_match(pki: PKI) -> None:
    key = serialization.load_pem_private_key(pki.sa_key.read_bytes(), password=None)
    pub = serialization.load_pem_public_key(pki.sa_pub.read_bytes())
    assert isinstance(key, ec.EllipticCurvePrivateKey)
    assert isinstance(pub, ec.EllipticCurvePublicKey)
    assert key.public_key().public_numbers() == pub.public_numbers()


def test_serving_cert_for_a_service(pki: PKI) -> None:
    crt, key = pki.serving_cert_for("api", "wardle")
    c = cert(crt)
    assert sans(c) == (["api.wardle.svc", "api.wardle.svc.cluster.local", "localhost"],
                       ["127.0.0.1"])
    assert eku(c) == {ExtendedKeyUsageOID.SERVER_AUTH}
    assert key.is_file()
    c.verify_directly_issued_by(cert(pki.crt("ca")))


def test_user_kubeconfig(pki: PKI) -> None:
    path = pki.user_kubeconfig("alice", ["devs", "ops"], server="https://127.0.0.1:6443")
    config = yaml.safe_load(path.read_text())  # JSON is YAML
    assert config == json.loads(path.read_text())
    assert config["current-context"] == "envtest"
    cluster = config["clusters"][0]["cluster"]
    assert cluster["server"] == "https://127.0.0.1:6443"
    assert base64.b64decode(cluster["certificate-authority-data"]) == pki.crt("ca").read_bytes()
    user = config["users"][0]
    assert user["name"] == "alice"
    client = x509.load_pem_x509_certificate(
        base64.b64decode(user["user"]["client-certificate-data"]))
    assert subject(client, NameOID.COMMON_NAME) == ["alice"]
    assert subject(client, NameOID.ORGANIZATION_NAME) == ["devs", "ops"]
    assert path.stat().st_mode & 0o077 == 0


def test_admin_kubeconfig_embeds_the_admin_cert(pki: PKI, tmp_path: Path) -> None:
    path = pki.kubeconfig_for("admin", tmp_path / "admin.kubeconfig", server="https://x:1")
    user = json.loads(path.read_text())["users"][0]["user"]
    assert base64.b64decode(user["client-certificate-data"]) == pki.crt("admin").read_bytes()
