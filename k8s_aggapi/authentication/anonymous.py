"""Anonymous authentication, last in the chain: whoever no other authenticator recognised is
`system:anonymous` in group `system:unauthenticated` (authorization then decides).
"""

from __future__ import annotations

from k8s_aggapi.authentication.interface import Credentials
from k8s_aggapi.request.user import ANONYMOUS_USER, User


class AnonymousAuthenticator:
    async def authenticate(self, credentials: Credentials) -> User | None:
        return ANONYMOUS_USER
