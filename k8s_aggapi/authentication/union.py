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
    outcome_of,
)
from k8s_aggapi.request.user import ANONYMOUS, AUTHENTICATED, UNAUTHENTICATED


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

    async def check(self, credentials: Credentials) -> Outcome:
        rejected: list[Rejected] = []
        for authenticator in self.authenticators:
            outcome = await outcome_of(authenticator, credentials)
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

    async def check(self, credentials: Credentials) -> Outcome:
        user = await outcome_of(self.inner, credentials)
        if user is None or isinstance(user, Rejected) or user.name == ANONYMOUS:
            return user
        if AUTHENTICATED in user.groups or UNAUTHENTICATED in user.groups:
            return user
        return user.with_group(AUTHENTICATED)
