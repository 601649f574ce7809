"""Public test kit: the whole server in-process, with a chosen user and fake seams.

    app = build_test_app([my_group()], user=User("alice", ("dev",)))
    with TestClient(app) as client:
        client.get("/apis/my.group/v1/namespaces/default/things")

No TLS and no cluster: every request is made by `user` (or anonymous when None), and the
authorizer decides as told. The handler chain, routes and storage are the real ones.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from k8s_aggapi.admission import Chain, Plugin
from k8s_aggapi.api import APIGroup
from k8s_aggapi.authentication.interface import Credentials
from k8s_aggapi.authorization.interface import Attributes, Decision
from k8s_aggapi.config import CompletedConfig
from k8s_aggapi.health import HealthChecks
from k8s_aggapi.metrics import ServerMetrics
from k8s_aggapi.request.user import ANONYMOUS_USER, AUTHENTICATED, MASTERS, User
from k8s_aggapi.server import ServerApp, build_app

ADMIN = User("admin", (MASTERS, AUTHENTICATED))


class StaticAuthenticator:
    """Every request is `user`; None makes every request anonymous."""

    def __init__(self, user: User | None) -> None:
        self.user = user

    async def authenticate(self, credentials: Credentials) -> User | None:
        return self.user or ANONYMOUS_USER


@dataclass
class FakeAuthorizer:
    """Allows when `allow(attributes)` is true; records every question in `seen`."""

    allow: Callable[[Attributes], bool] = lambda attributes: True
    reason: str = ""
    seen: list[Attributes] = field(default_factory=list)

    async def authorize(self, attributes: Attributes) -> tuple[Decision, str]:
        self.seen.append(attributes)
        if self.allow(attributes):
            return Decision.ALLOW, ""
        return Decision.DENY, self.reason


def build_test_app(
    groups: Sequence[APIGroup],
    *,
    user: User | None = ADMIN,
    authorizer: FakeAuthorizer | None = None,
    health: HealthChecks | None = None,
    title: str = "test",
    admission: Sequence[Plugin] = (),
) -> ServerApp:
    """The full app (routes, handler chain, lifespan) without TLS or a cluster; `admission`
    is the chain of admission plugins, in order."""
    config = CompletedConfig(
        groups=tuple(groups),
        serving=None,
        authenticator=StaticAuthenticator(user),
        authorizer=authorizer or FakeAuthorizer(),
        health=health or HealthChecks(),
        metrics=ServerMetrics(),
        title=title,
        admission=Chain(admission),
    )
    return build_app(config)
