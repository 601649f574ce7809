"""The peer-certificate verdict cache of DynamicCABundle: signatures checked once per bundle
generation, validity times on every request, a removed CA refused at once."""

from __future__ import annotations

import datetime
import re

import pytest
from cryptography import x509

from k8s_aggapi.authentication.cabundle import DynamicCABundle
from k8s_aggapi.authentication.interface import CredentialsRejected
from k8s_aggapi.serving.certs import new_ca, new_cert
from tests.unit.authentication.conftest import Pki, der


def rejected(bundle: DynamicCABundle, cert: bytes) -> str:
    """Why `bundle` refuses `cert` (the cause logged; the wire says only Unauthorized)."""
    with pytest.raises(CredentialsRejected) as info:
        bundle.verified_peer(cert)
    return info.value.cause


class Clock:
    def __init__(self) -> None:
        self.now = datetime.datetime.now(datetime.UTC)

    def __call__(self) -> datetime.datetime:
        return self.now


class CountingBundle(DynamicCABundle):
    """Counts the signature checks (the expensive part the cache saves)."""

    checks = 0

    def _verdict(self, cert: x509.Certificate) -> object:  # type: ignore[override]
        self.checks += 1
        return super()._verdict(cert)


def test_signature_is_checked_once_per_certificate_and_bundle_generation(pki: Pki) -> None:
    bundle = CountingBundle("client-ca", pki.client_ca.cert_pem())
    alice, proxy = der(pki.user), der(pki.proxy)
    for _ in range(3):
        assert bundle.verified_peer(alice) == pki.user.cert
    assert bundle.checks == 1
    for _ in range(2):
        assert re.search("not signed by a CA", rejected(bundle, proxy))
    assert bundle.checks == 2  # a refusal is remembered as well
    bundle.update(pki.client_ca.cert_pem() + pki.proxy_ca.cert_pem())
    assert bundle.verified_peer(proxy) == pki.proxy.cert
    assert bundle.verified_peer(alice) == pki.user.cert
    assert bundle.checks == 4  # a new generation verifies again


def test_a_removed_ca_stops_a_remembered_certificate_at_once(pki: Pki) -> None:
    bundle = DynamicCABundle("client-ca", pki.client_ca.cert_pem())
    alice = der(pki.user)
    assert bundle.verified_peer(alice) is not None
    bundle.update(new_ca("replacement-ca").cert_pem())
    assert re.search("not signed by a CA of bundle 'client-ca'", rejected(bundle, alice))
    bundle.update(pki.client_ca.cert_pem())
    assert bundle.verified_peer(alice) is not None


def test_validity_is_checked_on_every_request_of_a_remembered_certificate() -> None:
    clock = Clock()
    ca = new_ca("short-lived-ca", days=2)
    leaf = new_cert(ca, "alice", client=True, days=30)
    bundle = DynamicCABundle("client-ca", ca.cert_pem(), now=clock)
    leaf_der = der(leaf)
    assert bundle.verified_peer(leaf_der) is not None
    clock.now += datetime.timedelta(days=3)  # the CA has expired, the leaf not yet
    assert re.search("CA .* has expired or is not yet valid", rejected(bundle, leaf_der))
    clock.now += datetime.timedelta(days=30)
    assert re.search("^certificate .* has expired", rejected(bundle, leaf_der))


def test_usage_checks_are_remembered_with_the_verdict(pki: Pki) -> None:
    bundle = DynamicCABundle("request-header", pki.proxy_ca.cert_pem())
    for _ in range(2):
        assert re.search("not valid for client authentication", rejected(bundle, der(pki.server_only_proxy)))


def test_the_memory_is_bounded(pki: Pki, monkeypatch: pytest.MonkeyPatch) -> None:
    from k8s_aggapi.authentication import cabundle

    monkeypatch.setattr(cabundle, "VERDICTS_MAX", 2)
    bundle = CountingBundle("client-ca", pki.client_ca.cert_pem())
    certs = [der(new_cert(pki.client_ca, f"u{i}", client=True)) for i in range(3)]
    for cert in certs:
        bundle.verified_peer(cert)
    assert len(bundle._verdicts) == 1  # the third started a new memory
    assert bundle.verified_peer(certs[2]) is not None
    assert bundle.checks == 3
