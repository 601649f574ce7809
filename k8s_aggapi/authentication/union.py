"""Combining authenticators: try each in order, and add `system:authenticated` to the winner.

Mirrors upstream's unionauth.New / NewFailOnError and group.AuthenticatedGroupAdder.
"""

from __future__ import annotations

from k8s_aggapi.authentication.interface import (
    Authenticator,
    CheckingAuthenticator,
    Credentials,
    Outcome,
    Rejected,
    checker,
)
from k8s_aggapi.request.user import ANONYMOUS, AUTHENTICATED, UNAUTHENTICATED, User

ADDED_REMEMBERED_MAX = 1024


class UnionAuthenticator(CheckingAuthenticator):
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
        self._checks = tuple(checker(a) for a in authenticators)

    async def check(self, credentials: Credentials) -> Outcome:
        rejected: list[Rejected] = []
        for check in self._checks:
            outcome = await check(credentials)
            if isinstance(outcome, Rejected):
                if self.fail_on_error:
                    return outcome
                rejected.append(outcome)
            elif outcome is not None:
                return outcome
        if len(rejected) == 1:
            return rejected[0]
        if rejected:
            return Rejected("[" + ", ".join(r.cause for r in rejected) + "]")
        return None


class AuthenticatedGroupAdder(CheckingAuthenticator):
    """Adds `system:authenticated` to a user found by `inner`, unless the user is anonymous or
    already carries `system:authenticated` or `system:unauthenticated`."""

    def __init__(self, inner: Authenticator) -> None:
        self.inner = inner
        self._check = checker(inner)
        # the result for a user object `inner` returned before (x509 returns the same object
        # for the same certificate); the user is kept in the value, so its id stays unique
        self._added: dict[int, tuple[User, User]] = {}

    async def check(self, credentials: Credentials) -> Outcome:
        user = await self._check(credentials)
        if user is None or isinstance(user, Rejected) or user.name == ANONYMOUS:
            return user
        if AUTHENTICATED in user.groups or UNAUTHENTICATED in user.groups:
            return user
        found = self._added.get(id(user))
        if found is not None and found[0] is user:
            return found[1]
        if len(self._added) >= ADDED_REMEMBERED_MAX:
            self._added = {}
        added = user.with_group(AUTHENTICATED)
        self._added[id(user)] = (user, added)
        return added
