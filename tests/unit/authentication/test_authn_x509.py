from __future__ import annotations

import datetime
import hashlib

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from k8s_aggapi.authentication.cabundle import DynamicCABundle
from k8s_aggapi.authentication.interface import Credentials, CredentialsRejected
from k8s_aggapi.authentication.x509 import CREDENTIAL_ID_KEY, X509Authenticator
from k8s_aggapi.serving.certs import KeyPair
from tests.unit.authentication.conftest import Pki, credentials, der


async def test_client_certificate_names_user_and_groups(pki: Pki) -> None:
    user = await X509Authenticator(pki.client_bundle()).authenticate(credentials({}, pki.user))
    assert user is not None
    assert (user.name, user.groups) == ("alice", ("dev", "ops"))
    fingerprint = hashlib.sha256(der(pki.user)).hexdigest()
    assert user.extra == {CREDENTIAL_ID_KEY: (f"X509SHA256={fingerprint}",)}


async def test_no_certificate_or_no_ca_means_no_opinion(pki: Pki) -> None:
    assert await X509Authenticator(pki.client_bundle()).authenticate(credentials()) is None
    empty = X509Authenticator(DynamicCABundle("client-ca"))
    assert await empty.authenticate(credentials({}, pki.user)) is None


async def test_certificate_from_another_ca_is_an_error(pki: Pki) -> None:
    authn = X509Authenticator(pki.client_bundle())
    for other in (pki.proxy, pki.expired_proxy):
        with pytest.raises(CredentialsRejected) as info:
            await authn.authenticate(credentials({}, other))
        assert info.value.cause.startswith("verifying certificate failed")
        assert info.value.message == "Unauthorized"


async def test_certificate_without_common_name_means_no_opinion(pki: Pki) -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "dev")]))
        .issuer_name(pki.client_ca.cert.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .sign(pki.client_ca.key, hashes.SHA256())
    )
    authn = X509Authenticator(pki.client_bundle())
    assert await authn.authenticate(credentials({}, KeyPair(cert, key))) is None


async def test_garbage_der_is_an_error(pki: Pki) -> None:
    with pytest.raises(CredentialsRejected) as info:
        await X509Authenticator(pki.client_bundle()).authenticate(Credentials({}, b"\x30\x03"))
    assert "unparseable" in info.value.cause
