from __future__ import annotations

import asyncio
import ssl
import warnings

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from k8s_aggapi.serving.certs import write_atomic
from k8s_aggapi.serving.tls import DynamicServingTLS
from tests.unit.serving.pki import PKI, handshake, tls11_client


def _served(tls: DynamicServingTLS, pki: PKI) -> x509.Certificate:
    conn, _ = handshake(tls.context, pki.client_context())
    der = conn.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def test_new_handshakes_get_the_rotated_pair(pki: PKI) -> None:
    tls = DynamicServingTLS(pki.cert_file, pki.key_file)
    first = _served(tls, pki)
    assert first == tls.certificate

    new = pki.serving_pair()
    new.write(pki.cert_file, pki.key_file)

    assert _served(tls, pki) == first  # nothing changes before a reload
    assert asyncio.run(tls.reload_if_changed())
    assert _served(tls, pki).serial_number == new.cert.serial_number
    assert tls.certificate == new.cert


async def test_half_written_pair_is_ignored_until_both_files_agree(pki: PKI) -> None:
    tls = DynamicServingTLS(pki.cert_file, pki.key_file)
    old = tls.certificate
    new = pki.serving_pair()
    write_atomic(pki.cert_file, new.cert_pem())  # key still the old one

    assert not await tls.reload_if_changed()
    assert tls.certificate == old
    assert _served(tls, pki) == old

    write_atomic(pki.key_file, new.key_pem(), mode=0o600)
    assert await tls.reload_if_changed()
    assert _served(tls, pki) == new.cert
    assert not await tls.reload_if_changed()  # unchanged files: nothing to do


async def test_missing_files_during_a_rename_keep_the_old_pair(pki: PKI) -> None:
    tls = DynamicServingTLS(pki.cert_file, pki.key_file)
    pki.key_file.unlink()
    assert not await tls.reload_if_changed()
    assert _served(tls, pki) == tls.certificate


def test_client_certificates_are_requested_not_required(pki: PKI) -> None:
    tls = DynamicServingTLS(pki.cert_file, pki.key_file, client_ca_pem=pki.client_ca.cert_pem())
    assert tls.context.verify_mode == ssl.CERT_OPTIONAL
    _, server = handshake(tls.context, pki.client_context())
    assert server.getpeercert(binary_form=True) is None
    _, server = handshake(tls.context, pki.client_context(pki.client))
    assert server.getpeercert(binary_form=True) == pki.client.cert.public_bytes(Encoding.DER)
    with pytest.raises(ssl.SSLError, match="certificate"):
        handshake(tls.context, pki.client_context(pki.other))


async def test_client_cas_can_be_replaced_at_runtime(pki: PKI) -> None:
    tls = DynamicServingTLS(pki.cert_file, pki.key_file)
    assert tls.context.verify_mode == ssl.CERT_NONE
    _, server = handshake(tls.context, pki.client_context(pki.client))
    assert server.getpeercert(binary_form=True) is None  # not asked for one

    assert await tls.set_client_cas(pki.client_ca.cert_pem())
    _, server = handshake(tls.context, pki.client_context(pki.client))
    assert server.getpeercert(binary_form=True) is not None
    with pytest.raises(ssl.SSLError):
        handshake(tls.context, pki.client_context(pki.other))

    await tls.set_client_cas(pki.other_ca.cert_pem())
    with pytest.raises(ssl.SSLError):
        handshake(tls.context, pki.client_context(pki.client))
    _, server = handshake(tls.context, pki.client_context(pki.other))
    assert server.getpeercert(binary_form=True) is not None

    await tls.set_client_cas(b"")
    assert tls.context.verify_mode == ssl.CERT_NONE
    with pytest.raises(ValueError, match="client CA bundle"):
        await tls.set_client_cas(b"not a pem")


def test_tls_1_2_is_the_minimum(pki: PKI) -> None:
    tls = DynamicServingTLS(pki.cert_file, pki.key_file)
    old = tls11_client(pki.client_context())
    with pytest.raises(ssl.SSLError, match="UNSUPPORTED_PROTOCOL"):
        handshake(tls.context, old)
    lax = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    lax.set_ciphers("DEFAULT:@SECLEVEL=0")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        lax.minimum_version = ssl.TLSVersion.TLSv1
    lax.load_cert_chain(pki.cert_file, pki.key_file)
    client, _ = handshake(lax, tls11_client(pki.client_context()))
    assert client.version() == "TLSv1.1"  # the refusal above is the server's doing

    ok = pki.client_context()
    ok.maximum_version = ssl.TLSVersion.TLSv1_2
    client, _ = handshake(tls.context, ok)
    assert client.version() == "TLSv1.2"


async def test_client_cas_set_mid_rotation_apply_with_the_next_reload(pki: PKI) -> None:
    tls = DynamicServingTLS(pki.cert_file, pki.key_file)
    new = pki.serving_pair()
    write_atomic(pki.cert_file, new.cert_pem())  # half-written rotation
    assert not await tls.set_client_cas(pki.client_ca.cert_pem())
    assert _requests_client_certs(tls) is False
    write_atomic(pki.key_file, new.key_pem(), mode=0o600)
    assert await tls.reload_if_changed()
    assert _requests_client_certs(tls) is True
    _, server = handshake(tls.context, pki.client_context(pki.client))
    assert server.getpeercert(binary_form=True) is not None


def _requests_client_certs(tls: DynamicServingTLS) -> bool:
    return tls.context.verify_mode == ssl.CERT_OPTIONAL
