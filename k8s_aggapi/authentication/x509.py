"""Client-certificate authentication, second in the chain: a certificate issued by a client CA
names the user (CN) and the groups (O), like upstream's x509.CommonNameUserConversion.
"""

from __future__ import annotations

import hashlib

from cryptography.x509.oid import NameOID

from k8s_aggapi.authentication.cabundle import (
    DynamicCABundle,
    common_name,
    subject_values,
)
from k8s_aggapi.authentication.interface import Credentials
from k8s_aggapi.authentication.user import User

CREDENTIAL_ID_KEY = "authentication.kubernetes.io/credential-id"


class X509Authenticator:
    """No certificate or no CA: no opinion. A certificate the CAs did not issue: an error (401
    unless an earlier authenticator, such as the front proxy, already succeeded)."""

    def __init__(self, ca: DynamicCABundle) -> None:
        self.ca = ca

    async def authenticate(self, credentials: Credentials) -> User | None:
        der = credentials.client_cert_der
        cert = self.ca.verified_peer(der, reason_prefix="verifying certificate failed: ")
        if cert is None or der is None:
            return None
        name = common_name(cert)
        if not name:
            return None
        fingerprint = hashlib.sha256(der).hexdigest()
        return User(
            name,
            tuple(subject_values(cert, NameOID.ORGANIZATION_NAME)),
            extra={CREDENTIAL_ID_KEY: (f"X509SHA256={fingerprint}",)},
        )
