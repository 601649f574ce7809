from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path

import pytest
from cryptography import x509

from k8s_aggapi.serving import SecureServingOptions, ensure_self_signed
from k8s_aggapi.serving.certs import load_bundle
from tests.unit.serving.pki import PKI


def _sans(cert: x509.Certificate) -> tuple[list[str], list[str]]:
    ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    ips = [str(ip) for ip in ext.get_values_for_type(x509.IPAddress)]
    return ext.get_values_for_type(x509.DNSName), ips


def test_defaults_follow_upstream() -> None:
    opts = SecureServingOptions()
    assert (opts.bind_address, opts.secure_port) == ("0.0.0.0", 443)
    assert (opts.cert_dir, opts.pair_name) == ("apiserver.local.config/certificates", "apiserver")
    assert opts.tls_min_version == "VersionTLS12"


def test_self_signed_pair_is_written_once_and_reused(tmp_path: Path) -> None:
    opts = SecureServingOptions(
        bind_address="10.1.2.3", cert_dir=str(tmp_path / "certs"), tls_sans=("api.example", "::1")
    )
    info = opts.complete()
    crt, key = tmp_path / "certs/apiserver.crt", tmp_path / "certs/apiserver.key"
    leaf, ca = load_bundle(crt.read_bytes())
    leaf.verify_directly_issued_by(ca)
    assert _sans(leaf) == (["localhost", "api.example"], ["127.0.0.1", "10.1.2.3", "::1"])
    assert key.stat().st_mode & 0o777 == 0o600
    assert info.tls.certificate == leaf

    before = crt.read_bytes()
    again = SecureServingOptions(cert_dir=str(tmp_path / "certs")).complete()
    assert crt.read_bytes() == before
    assert again.tls.certificate == leaf


def test_unspecified_bind_address_is_not_a_san(tmp_path: Path) -> None:
    assert ensure_self_signed(tmp_path / "a.crt", tmp_path / "a.key", ["localhost", "127.0.0.1"])
    assert not ensure_self_signed(tmp_path / "a.crt", tmp_path / "a.key", ["other"])
    opts = SecureServingOptions(bind_address="::", cert_dir=str(tmp_path / "d"))
    leaf = opts.complete().tls.certificate
    assert ipaddress.ip_address("::") not in _sans(leaf)[1]


def test_given_files_and_client_cas_are_used(pki: PKI) -> None:
    (pki.dir / "client-ca.crt").write_bytes(pki.client_ca.cert_pem())
    (pki.dir / "front-proxy-ca.crt").write_bytes(pki.other_ca.cert_pem().rstrip(b"\n"))
    info = SecureServingOptions(
        bind_address="127.0.0.1",
        secure_port=8443,
        tls_cert_file=str(pki.cert_file),
        tls_private_key_file=str(pki.key_file),
        client_ca_files=(str(pki.dir / "client-ca.crt"), str(pki.dir / "front-proxy-ca.crt")),
        tls_min_version="VersionTLS13",
    ).complete()
    assert (info.bind_address, info.secure_port) == ("127.0.0.1", 8443)
    assert len(load_bundle(info.tls.client_ca_pem)) == 2
    assert info.tls.context.verify_mode == ssl.CERT_OPTIONAL
    assert info.tls.context.minimum_version == ssl.TLSVersion.TLSv1_3
    assert not (pki.dir / "apiserver.local.config").exists()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"tls_min_version": "VersionTLS11"}, "tls-min-version"),
        ({"tls_cert_file": "x.crt"}, "together"),
    ],
)
def test_invalid_options(kwargs: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        SecureServingOptions(**kwargs).complete()  # type: ignore[arg-type]


def test_a_client_ca_file_without_certificates_is_an_error(pki: PKI) -> None:
    (pki.dir / "empty.crt").write_text("\n")
    empty = str(pki.dir / "empty.crt")
    opts = SecureServingOptions(cert_dir=str(pki.dir), client_ca_files=(empty,))
    with pytest.raises(ValueError, match="no certificates"):
        opts.complete()


def test_public_names_resolve() -> None:
    import k8s_aggapi.serving as serving

    assert all(getattr(serving, name) for name in serving.__all__)
    with pytest.raises(AttributeError):
        serving.nothing_here  # noqa: B018
