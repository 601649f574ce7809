"""Client-certificate authentication, second in the chain: a certificate issued by a client CA
names the user (CN) and the groups (O), like upstream's x509.CommonNameUserConversion.
"""

from __future__ import annotations

import hashlib

from cryptography.x509.oid import NameOID

from k8s_aggapi.authentication.cabundle import (
    DynamicCABundle,
    common_name,
    load_peer_certificate,
    subject_values,
)
from k8s_aggapi.authentication.interface import Credentials, CredentialsRejected
from k8s_aggapi.authentication.user import User

CREDENTIAL_ID_KEY = "authentication.kubernetes.io/credential-id"


class X509Authenticator:
    """No certificate or no CA: no opinion. A certificate the CAs did not issue: an error (401
    unless an earlier authenticator, such as the front proxy, already succeeded)."""

    def __init__(self, ca: DynamicCABundle) -> None:
        self.ca = ca

    async def authenticate(self, credentials: Credentials) -> User | None:
        der = credentials.client_cert_der
        if der is None or not self.ca:
            return None
        try:
            cert = load_peer_certificate(der)
        except ValueError as exc:
            raise CredentialsRejected(f"unparseable client certificate: {exc}") from None
        problem = self.ca.verify_client(cert)
        if problem is not None:
            raise CredentialsRejected(f"verifying certificate failed: {problem}")
        name = common_name(cert)
        if not name:
            return None
        fingerprint = hashlib.sha256(der).hexdigest()
        return User(
            name,
            tuple(subject_values(cert, NameOID.ORGANIZATION_NAME)),
            extra={CREDENTIAL_ID_KEY: (f"X509SHA256={fingerprint}",)},
        )
