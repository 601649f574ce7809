"""`aggapi certs`: the files a kubernetes.io/tls Secret uses, SANs the aggregator checks,
the CA kept across renewals."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509
from cryptography.x509.oid import ExtendedKeyUsageOID

from tests.unit.cli.conftest import Run


def _cert(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_writes_a_ca_and_a_serving_cert_for_the_service(aggapi: Run, tmp_path: Path) -> None:
    r = aggapi("certs", "--service", "wardle-server", "--namespace", "wardle",
               "--out", str(tmp_path))
    assert r.code == 0, r.err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ca.crt", "ca.key", "tls.crt", "tls.key"]
    ca, leaf = _cert(tmp_path / "ca.crt"), _cert(tmp_path / "tls.crt")
    leaf.verify_directly_issued_by(ca)
    sans = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert sans.get_values_for_type(x509.DNSName) == [
        "wardle-server.wardle.svc", "wardle-server.wardle.svc.cluster.local"]
    eku = leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value
    assert list(eku) == [ExtendedKeyUsageOID.SERVER_AUTH]
    usage = leaf.extensions.get_extension_for_class(x509.KeyUsage).value
    assert usage.digital_signature and usage.key_encipherment and not usage.key_cert_sign
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    assert (tmp_path / "tls.key").stat().st_mode & 0o777 == 0o600
    assert (tmp_path / "ca.key").stat().st_mode & 0o777 == 0o600


def test_rerun_renews_the_serving_cert_and_keeps_the_ca(aggapi: Run, tmp_path: Path) -> None:
    args = ("certs", "--service", "s", "--namespace", "n", "--out", str(tmp_path))
    aggapi(*args)
    ca, leaf = (tmp_path / "ca.crt").read_bytes(), _cert(tmp_path / "tls.crt")
    r = aggapi(*args)
    assert "kept CA" in r.out
    assert (tmp_path / "ca.crt").read_bytes() == ca
    renewed = _cert(tmp_path / "tls.crt")
    assert renewed.serial_number != leaf.serial_number
    renewed.verify_directly_issued_by(_cert(tmp_path / "ca.crt"))
    r = aggapi(*args, "--new-ca")
    assert "new CA" in r.out
    assert (tmp_path / "ca.crt").read_bytes() != ca
    _cert(tmp_path / "tls.crt").verify_directly_issued_by(_cert(tmp_path / "ca.crt"))


def test_a_broken_ca_is_one_line_and_exit_1(aggapi: Run, tmp_path: Path) -> None:
    (tmp_path / "ca.crt").write_text("garbage")
    (tmp_path / "ca.key").write_text("garbage")
    r = aggapi("certs", "--service", "s", "--namespace", "n", "--out", str(tmp_path))
    assert r.code == 1
    assert r.err.count("\n") == 1
    assert r.err.startswith("aggapi certs: error: cannot reuse the CA in")
    assert "--new-ca" in r.err
