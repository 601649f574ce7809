"""Combining authorizers: ask each in order; the first Allow or Deny decides.

Like upstream's union authorizer: when all have no opinion, their reasons are joined by
newlines, and the request is then denied by the middleware.
"""

from __future__ import annotations

from k8s_aggapi.authorization.interface import Attributes, Authorizer, Decision


class UnionAuthorizer:
    def __init__(self, *authorizers: Authorizer) -> None:
        self.authorizers = authorizers

    async def authorize(self, attributes: Attributes) -> tuple[Decision, str]:
        reasons: list[str] = []
        for authorizer in self.authorizers:
            decision, reason = await authorizer.authorize(attributes)
            if decision is not Decision.NO_OPINION:
                return decision, reason
            if reason:
                reasons.append(reason)
        return Decision.NO_OPINION, "\n".join(reasons)
