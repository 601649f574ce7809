"""Combining authenticators: try each in order, and add `system:authenticated` to the winner.

Mirrors upstream's unionauth.New / NewFailOnError and group.AuthenticatedGroupAdder.
"""

from __future__ import annotations

from k8s_aggapi.authentication.interface import Authenticator, Credentials, CredentialsRejected
from k8s_aggapi.errors import Unauthorized
from k8s_aggapi.request.user import ANONYMOUS, AUTHENTICATED, UNAUTHENTICATED, User


def _cause(error: Unauthorized) -> str:
    return error.cause if isinstance(error, CredentialsRejected) else error.message


class UnionAuthenticator:
    """The first user found wins.

    By default an error does not stop the chain (a certificate that is no front-proxy
    certificate may still be a good client certificate); when nothing succeeds, the errors
    become one `CredentialsRejected`. With `fail_on_error`, the first error ends the chain:
    that is how anonymous is put behind the others, so a bad credential is a 401, never
    anonymous.
    """

    def __init__(self, *authenticators: Authenticator, fail_on_error: bool = False) -> None:
        self.authenticators = authenticators
        self.fail_on_error = fail_on_error

    async def authenticate(self, credentials: Credentials) -> User | None:
        errors: list[Unauthorized] = []
        for authenticator in self.authenticators:
            try:
                user = await authenticator.authenticate(credentials)
            except Unauthorized as exc:
                if self.fail_on_error:
                    raise
                # without its traceback: kept, the error would hold this frame (and so the
                # list holding it), a cycle per request that only the garbage collector ends
                errors.append(exc.with_traceback(None))
                continue
            if user is not None:
                return user
        if len(errors) == 1:
            raise errors[0]
        if errors:
            raise CredentialsRejected("[" + ", ".join(_cause(e) for e in errors) + "]")
        return None


class AuthenticatedGroupAdder:
    """Adds `system:authenticated` to a user found by `inner`, unless the user is anonymous or
    already carries `system:authenticated` or `system:unauthenticated`."""

    def __init__(self, inner: Authenticator) -> None:
        self.inner = inner

    async def authenticate(self, credentials: Credentials) -> User | None:
        user = await self.inner.authenticate(credentials)
        if user is None or user.name == ANONYMOUS:
            return user
        if AUTHENTICATED in user.groups or UNAUTHENTICATED in user.groups:
            return user
        return user.with_group(AUTHENTICATED)
