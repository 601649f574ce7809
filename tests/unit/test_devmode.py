"""Dev-mode PKI: made once and reused, but a serving certificate whose SANs changed is renewed."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from cryptography import x509

from k8s_aggapi.devmode import ensure_dev_pki, serving_hosts
from k8s_aggapi.serving.certs import sans_of

SERVER = "https://127.0.0.1:8443"


def serving_sans(directory: Path) -> set[str]:
    cert = x509.load_pem_x509_certificate((directory / "apiserver.crt").read_bytes())
    dns, ips = sans_of(cert)
    return set(dns | ips)


def test_unchanged_sans_reuse_every_file(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ensure_dev_pki(tmp_path, server=SERVER, sans=("api.example.test",))
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.suffix in (".crt", ".key")}
    with caplog.at_level(logging.INFO, logger="k8s_aggapi.devmode"):
        ensure_dev_pki(tmp_path, server=SERVER, sans=("api.example.test",))
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.suffix in (".crt", ".key")}
    assert after == before
    assert caplog.records == []


def test_a_changed_tls_san_regenerates_the_serving_cert_and_says_so(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    ensure_dev_pki(tmp_path, server=SERVER)
    admin, ca = (tmp_path / "admin.crt").read_bytes(), (tmp_path / "serving-ca.crt").read_bytes()
    assert serving_sans(tmp_path) == {"localhost", "127.0.0.1"}
    with caplog.at_level(logging.INFO, logger="k8s_aggapi.devmode"):
        ensure_dev_pki(tmp_path, server=SERVER, sans=("api.example.test", "10.1.2.3"))
    assert serving_sans(tmp_path) == {"localhost", "127.0.0.1", "api.example.test", "10.1.2.3"}
    [record] = caplog.records
    assert record.levelno == logging.WARNING
    assert "regenerating the dev serving certificate" in record.getMessage()
    assert "'10.1.2.3', '127.0.0.1', 'api.example.test', 'localhost'" in record.getMessage()
    # the CAs and client certificates stay: kubeconfigs made before keep working
    assert (tmp_path / "admin.crt").read_bytes() == admin
    assert (tmp_path / "serving-ca.crt").read_bytes() == ca


def test_a_specific_bind_address_is_a_san_and_changing_it_renews(tmp_path: Path) -> None:
    ensure_dev_pki(tmp_path, server=SERVER, bind_address="0.0.0.0")
    assert serving_sans(tmp_path) == {"localhost", "127.0.0.1"}
    ensure_dev_pki(tmp_path, server=SERVER, bind_address="127.0.0.2")
    assert serving_sans(tmp_path) == {"localhost", "127.0.0.1", "127.0.0.2"}


def test_a_new_serving_ca_renews_the_serving_cert(tmp_path: Path,
                                                  caplog: pytest.LogCaptureFixture) -> None:
    ensure_dev_pki(tmp_path, server=SERVER)
    (tmp_path / "serving-ca.crt").unlink()
    with caplog.at_level(logging.INFO, logger="k8s_aggapi.devmode"):
        ensure_dev_pki(tmp_path, server=SERVER)
    assert "not issued by the current serving CA" in caplog.text
    ca = x509.load_pem_x509_certificate((tmp_path / "serving-ca.crt").read_bytes())
    cert = x509.load_pem_x509_certificate((tmp_path / "apiserver.crt").read_bytes())
    cert.verify_directly_issued_by(ca)


def test_serving_hosts_dedupe_and_normalise() -> None:
    assert serving_hosts("::", ("localhost", "0:0::1", "a.test")) == (
        ["localhost", "a.test"], ["127.0.0.1", "::1"])
