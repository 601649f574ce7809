"""Delegated authorization, as upstream's DelegatingAuthorizationOptions: the flags and the
chain (always-allow groups → always-allow paths → SubjectAccessReview).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from k8s_aggapi.authorization.always_allow import AlwaysAllowGroups, AlwaysAllowPaths
from k8s_aggapi.authorization.interface import Attributes, Authorizer, Decision
from k8s_aggapi.authorization.subjectaccessreview import SubjectAccessReviewAuthorizer
from k8s_aggapi.authorization.union import UnionAuthorizer
from k8s_aggapi.kube import KubeAPI, connect
from k8s_aggapi.request.user import MASTERS

logger = logging.getLogger(__name__)

NO_DELEGATION_REASON = (
    "no authorization-kubeconfig provided and not running in a cluster, so requests other "
    "than the always-allowed ones cannot be authorized"
)


@dataclass(frozen=True)
class AuthorizationOptions:
    """The `--authorization-*` flags (and upstream's fixed AlwaysAllowGroups)."""

    authorization_kubeconfig: str = ""
    always_allow_paths: tuple[str, ...] = ("/healthz", "/readyz", "/livez")
    always_allow_groups: tuple[str, ...] = (MASTERS,)
    cache_authorized_ttl: float = 10.0
    cache_unauthorized_ttl: float = 10.0


class DenyAll:
    """The last word when there is nobody to ask: deny, saying why."""

    def __init__(self, reason: str) -> None:
        self.reason = reason

    async def authorize(self, attributes: Attributes) -> tuple[Decision, str]:
        return Decision.DENY, self.reason


def build_authorizer(options: AuthorizationOptions, kube: KubeAPI | None) -> Authorizer:
    """Upstream's order; SubjectAccessReview only with a kube client. ValueError for an
    always-allow path with a `*` not at its end."""
    chain: list[Authorizer] = []
    if options.always_allow_groups:
        chain.append(AlwaysAllowGroups(options.always_allow_groups))
    if options.always_allow_paths:
        chain.append(AlwaysAllowPaths(options.always_allow_paths))
    if kube is None:
        logger.warning("No authorization-kubeconfig provided, so SubjectAccessReview of "
                       "authorization tokens won't work.")
        chain.append(DenyAll(NO_DELEGATION_REASON))
    else:
        chain.append(SubjectAccessReviewAuthorizer(
            kube,
            authorized_ttl=options.cache_authorized_ttl,
            unauthorized_ttl=options.cache_unauthorized_ttl,
        ))
    return UnionAuthorizer(*chain)


class DelegatingAuthorization:
    """The authorization a server runs with: `authorizer` for the middleware; `stop()` at
    shutdown closes the kube client when this object opened it."""

    def __init__(
        self, options: AuthorizationOptions, kube: KubeAPI | None = None,
        *, close_kube: bool = False,
    ) -> None:
        self.options, self.kube, self._close_kube = options, kube, close_kube
        self.authorizer = build_authorizer(options, kube)

    @classmethod
    async def connect(
        cls, options: AuthorizationOptions, *, optional: bool = True
    ) -> DelegatingAuthorization:
        """Build with a client from `--authorization-kubeconfig` (or in-cluster)."""
        kube = await connect(options.authorization_kubeconfig, optional=optional)
        return cls(options, kube, close_kube=True)

    async def start(self) -> None:
        """Nothing to read ahead; here so both halves share one lifecycle."""

    async def stop(self) -> None:
        if self._close_kube and self.kube is not None:
            await self.kube.close()
