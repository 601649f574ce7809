"""Client-certificate authentication, second in the chain: a certificate issued by a client CA
names the user (CN) and the groups (O), like upstream's x509.CommonNameUserConversion.
"""

from __future__ import annotations

import functools
import hashlib

from k8s_aggapi.authentication.cabundle import DynamicCABundle, peer_subject
from k8s_aggapi.authentication.interface import (
    CheckingAuthenticator,
    Credentials,
    Outcome,
    Rejected,
)
from k8s_aggapi.request.user import User

CREDENTIAL_ID_KEY = "authentication.kubernetes.io/credential-id"


class X509Authenticator(CheckingAuthenticator):
    """No certificate or no CA: no opinion. A certificate the CAs did not issue: an error (401
    unless an earlier authenticator, such as the front proxy, already succeeded)."""

    def __init__(self, ca: DynamicCABundle) -> None:
        self.ca = ca

    async def check(self, credentials: Credentials) -> Outcome:
        der = credentials.client_cert_der
        checked = self.ca.check_peer(der)
        if isinstance(checked, str):
            return Rejected("verifying certificate failed: " + checked)
        if checked is None or der is None:
            return None
        return _user(der)


@functools.lru_cache(maxsize=256)
def _user(der: bytes) -> User | None:
    """The user a (verified) certificate names: one object per certificate, so the layers
    after authentication can remember what they derived from it."""
    name, organizations = peer_subject(der)
    if not name:
        return None
    credential_id = f"X509SHA256={hashlib.sha256(der).hexdigest()}"
    return User(name, organizations, extra={CREDENTIAL_ID_KEY: (credential_id,)})
