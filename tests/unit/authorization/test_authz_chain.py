from __future__ import annotations

import pytest

from k8s_aggapi.authorization.always_allow import AlwaysAllowGroups, AlwaysAllowPaths
from k8s_aggapi.authorization.delegating import (
    NO_DELEGATION_REASON,
    AuthorizationOptions,
    DelegatingAuthorization,
    build_authorizer,
)
from k8s_aggapi.authorization.interface import Attributes, Authorizer, Decision
from k8s_aggapi.authorization.union import UnionAuthorizer
from k8s_aggapi.request.user import ANONYMOUS_USER, MASTERS, User

ALICE = User("alice", ("dev",))


def non_resource(path: str, user: User = ALICE) -> Attributes:
    return Attributes(user=user, verb="get", resource_request=False, path=path)


def resource(user: User = ALICE, **fields: str) -> Attributes:
    return Attributes(user=user, verb=fields.pop("verb", "list"), resource_request=True, **fields)


class Fixed:
    def __init__(self, decision: Decision, reason: str = "") -> None:
        self.answer = (decision, reason)
        self.calls = 0

    async def authorize(self, attributes: Attributes) -> tuple[Decision, str]:
        self.calls += 1
        return self.answer


async def test_groups() -> None:
    groups = AlwaysAllowGroups([MASTERS])
    admin = User("kube-aggregator", (MASTERS, "system:authenticated"))
    assert await groups.authorize(resource(admin)) == (Decision.ALLOW, "")
    assert await groups.authorize(non_resource("/x", admin)) == (Decision.ALLOW, "")
    assert await groups.authorize(resource(ALICE)) == (Decision.NO_OPINION, "")


@pytest.mark.parametrize(
    ("path", "decision"),
    [("/healthz", Decision.ALLOW), ("healthz", Decision.ALLOW), ("/healthz/ping", None),
     ("/readyz/etcd", None), ("/debug/pprof/heap", Decision.ALLOW), ("/debug", None),
     ("/", Decision.ALLOW), ("/metrics", None)],
)
async def test_paths_match_exactly_unless_they_end_in_a_star(path: str, decision: object) -> None:
    paths = AlwaysAllowPaths(["/healthz", "/debug/*", "/"])
    expected = decision or Decision.NO_OPINION
    assert await paths.authorize(non_resource(path)) == (expected, "")


async def test_paths_never_allow_resource_requests() -> None:
    paths = AlwaysAllowPaths(["*"])
    assert await paths.authorize(resource(path="/apis/g/v/things")) == (Decision.NO_OPINION, "")
    assert await paths.authorize(non_resource("/anything")) == (Decision.ALLOW, "")


def test_star_only_at_the_end() -> None:
    with pytest.raises(ValueError, match="only trailing"):
        AlwaysAllowPaths(["/a/*/b"])


async def test_union_stops_at_the_first_decision_and_joins_no_opinion_reasons() -> None:
    later = Fixed(Decision.ALLOW)
    union = UnionAuthorizer(Fixed(Decision.NO_OPINION, "a"), Fixed(Decision.DENY, "no"), later)
    assert await union.authorize(resource()) == (Decision.DENY, "no")
    assert later.calls == 0
    undecided = UnionAuthorizer(Fixed(Decision.NO_OPINION, "a"), Fixed(Decision.NO_OPINION),
                                Fixed(Decision.NO_OPINION, "b"))
    assert await undecided.authorize(resource()) == (Decision.NO_OPINION, "a\nb")


async def test_without_a_kube_client_only_always_allowed_requests_pass() -> None:
    authorizer = build_authorizer(AuthorizationOptions(), None)
    assert isinstance(authorizer, Authorizer)
    assert (await authorizer.authorize(non_resource("/livez", ANONYMOUS_USER)))[0] is Decision.ALLOW
    admin = User("admin", (MASTERS,))
    assert (await authorizer.authorize(resource(admin)))[0] is Decision.ALLOW
    assert await authorizer.authorize(resource()) == (Decision.DENY, NO_DELEGATION_REASON)
    assert await authorizer.authorize(non_resource("/metrics")) == (
        Decision.DENY, NO_DELEGATION_REASON)


async def test_sar_is_asked_last() -> None:
    class Kube:
        reviews = 0

        async def create_subject_access_review(self, review, *, request_timeout=10.0):  # type: ignore[no-untyped-def]
            Kube.reviews += 1
            return {"status": {"allowed": True}}

        async def close(self) -> None:
            pass

    auth = DelegatingAuthorization(AuthorizationOptions(), Kube())  # type: ignore[arg-type]
    await auth.start()
    assert (await auth.authorizer.authorize(non_resource("/healthz")))[0] is Decision.ALLOW
    assert Kube.reviews == 0
    assert (await auth.authorizer.authorize(resource()))[0] is Decision.ALLOW
    assert Kube.reviews == 1
    await auth.stop()
