from __future__ import annotations

from typing import Any

import pytest

from k8s_aggapi.authorization.interface import Attributes, Decision
from k8s_aggapi.authorization.selectors import field_requirements, label_requirements
from k8s_aggapi.authorization.subjectaccessreview import (
    SubjectAccessReviewAuthorizer,
    cache_key,
    review_spec,
)
from k8s_aggapi.kube import Backoff, KubeError
from k8s_aggapi.request.user import User

ALICE = User("alice", ("dev", "system:authenticated"), "u-1", {"scopes": ("a", "b")})
LIST_FLUNDERS = Attributes(
    user=ALICE, verb="list", resource_request=True,
    path="/apis/wardle.example.com/v1alpha1/namespaces/default/flunders",
    namespace="default", api_group="wardle.example.com", api_version="v1alpha1",
    resource="flunders", label_selector="a=b,!c", field_selector="metadata.name=x",
)
GET_PATH = Attributes(user=User("system:anonymous", ("system:unauthenticated",)), verb="get",
                      resource_request=False, path="/apis/wardle.example.com/v1alpha1")


def test_resource_spec() -> None:
    assert review_spec(LIST_FLUNDERS) == {
        "user": "alice", "uid": "u-1", "groups": ["dev", "system:authenticated"],
        "extra": {"scopes": ["a", "b"]},
        "resourceAttributes": {
            "namespace": "default", "verb": "list", "group": "wardle.example.com",
            "version": "v1alpha1", "resource": "flunders",
            "fieldSelector": {"requirements": [
                {"key": "metadata.name", "operator": "In", "values": ["x"]}]},
            "labelSelector": {"requirements": [
                {"key": "a", "operator": "In", "values": ["b"]},
                {"key": "c", "operator": "DoesNotExist"}]},
        },
    }


def test_subresource_and_name_and_core_group() -> None:
    attributes = Attributes(user=User("bob"), verb="update", resource_request=True,
                            api_version="v1", resource="pods", subresource="status", name="p")
    assert review_spec(attributes) == {"user": "bob", "resourceAttributes": {
        "verb": "update", "version": "v1", "resource": "pods", "subresource": "status",
        "name": "p"}}


def test_non_resource_spec() -> None:
    assert review_spec(GET_PATH) == {
        "user": "system:anonymous", "groups": ["system:unauthenticated"],
        "nonResourceAttributes": {"path": "/apis/wardle.example.com/v1alpha1", "verb": "get"},
    }


@pytest.mark.parametrize(
    ("selector", "expected"),
    [("", []), ("a==b", [("a", "In", ["b"])]), ("x in (2,1)", [("x", "In", ["1", "2"])]),
     ("x notin (1), a!=b", [("a", "NotIn", ["b"]), ("x", "NotIn", ["1"])]),
     ("a", [("a", "Exists", None)]), ("a=(", [])],
)
def test_label_requirements(selector: str, expected: list[Any]) -> None:
    got = [(r["key"], r["operator"], r.get("values")) for r in label_requirements(selector)]
    assert got == expected


@pytest.mark.parametrize(
    ("selector", "expected"),
    [("", []), ("spec.x!=1,metadata.name==n", [("metadata.name", "In", ["n"]),
                                                ("spec.x", "NotIn", ["1"])]),
     (r"spec.x=a\,b", [("spec.x", "In", ["a,b"])]), ("novalue", []), ("a=b=c", [])],
)
def test_field_requirements(selector: str, expected: list[Any]) -> None:
    got = [(r["key"], r["operator"], r["values"]) for r in field_requirements(selector)]
    assert got == expected


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class FakeKube:
    def __init__(self, *statuses: dict[str, Any] | KubeError) -> None:
        self.statuses = list(statuses)
        self.reviews: list[dict[str, Any]] = []

    async def create_subject_access_review(self, review: dict[str, Any], *,
                                           request_timeout: float = 10.0) -> dict[str, Any]:
        self.reviews.append(review)
        status = self.statuses.pop(0) if len(self.statuses) > 1 else self.statuses[0]
        if isinstance(status, KubeError):
            raise status
        return {**review, "status": status}


def authorizer(kube: FakeKube, clock: Clock) -> SubjectAccessReviewAuthorizer:
    return SubjectAccessReviewAuthorizer(kube, authorized_ttl=30.0, unauthorized_ttl=5.0,
                                         clock=clock, backoff=Backoff(duration=0.0, steps=2))


async def test_review_shape() -> None:
    kube = FakeKube({"allowed": True})
    assert await authorizer(kube, Clock()).authorize(LIST_FLUNDERS) == (Decision.ALLOW, "")
    assert kube.reviews[0]["apiVersion"] == "authorization.k8s.io/v1"
    assert kube.reviews[0]["kind"] == "SubjectAccessReview"
    assert kube.reviews[0]["spec"] == review_spec(LIST_FLUNDERS)


async def test_allowed_and_denied_answers_are_cached_for_their_own_ttl() -> None:
    clock = Clock()
    kube = FakeKube({"allowed": True})
    sar = authorizer(kube, clock)
    await sar.authorize(LIST_FLUNDERS)
    clock.now = 29.0
    await sar.authorize(LIST_FLUNDERS)
    assert len(kube.reviews) == 1
    clock.now = 30.0
    await sar.authorize(LIST_FLUNDERS)
    assert len(kube.reviews) == 2

    clock.now = 100.0
    kube = FakeKube({"allowed": False, "reason": "no RBAC rule"})
    sar = authorizer(kube, clock)
    assert await sar.authorize(GET_PATH) == (Decision.NO_OPINION, "no RBAC rule")
    clock.now = 104.0
    assert await sar.authorize(GET_PATH) == (Decision.NO_OPINION, "no RBAC rule")
    assert len(kube.reviews) == 1
    clock.now = 105.0
    await sar.authorize(GET_PATH)
    assert len(kube.reviews) == 2


async def test_different_users_are_different_cache_entries() -> None:
    kube = FakeKube({"allowed": True})
    sar = authorizer(kube, Clock())
    await sar.authorize(GET_PATH)
    await sar.authorize(Attributes(user=ALICE, verb="get", resource_request=False,
                                   path=GET_PATH.path))
    assert len(kube.reviews) == 2


async def test_denied_wins_over_allowed() -> None:
    kube = FakeKube({"allowed": True, "denied": True, "reason": "both"})
    assert await authorizer(kube, Clock()).authorize(GET_PATH) == (Decision.DENY, "both")
    kube = FakeKube({"denied": True, "reason": "explicit deny"})
    assert await authorizer(kube, Clock()).authorize(GET_PATH) == (Decision.DENY, "explicit deny")


async def test_errors_are_no_opinion_and_not_cached() -> None:
    kube = FakeKube(KubeError(500, "boom"), KubeError(500, "boom"), {"allowed": True})
    sar = authorizer(kube, Clock())
    assert await sar.authorize(GET_PATH) == (Decision.NO_OPINION, "")
    assert len(kube.reviews) == 2  # retried once: the backoff has two steps
    assert await sar.authorize(GET_PATH) == (Decision.ALLOW, "")


async def test_huge_attributes_are_not_cached() -> None:
    kube = FakeKube({"allowed": True})
    sar = authorizer(kube, Clock())
    huge = Attributes(user=ALICE, verb="get", resource_request=False, path="/" + "x" * 10000)
    await sar.authorize(huge)
    await sar.authorize(huge)
    assert len(kube.reviews) == 2


@pytest.mark.parametrize("change", [
    {"user": User("bob", ALICE.groups, ALICE.uid, ALICE.extra)},
    {"user": User("alice", ("dev",), ALICE.uid, ALICE.extra)},
    {"user": User("alice", ALICE.groups, "u-2", ALICE.extra)},
    {"user": User("alice", ALICE.groups, ALICE.uid, {"scopes": ("a",)})},
    {"user": User("alice", ALICE.groups, ALICE.uid, {})},
    {"verb": "watch"}, {"resource_request": False}, {"namespace": "other"},
    {"api_group": "g"}, {"api_version": "v1"}, {"resource": "fischers"},
    {"subresource": "status"}, {"name": "x"}, {"label_selector": "a=c"},
    {"field_selector": "metadata.name=y"},
])
def test_the_cache_key_differs_whenever_the_spec_does(change: dict[str, Any]) -> None:
    other = LIST_FLUNDERS.replace(**change)
    assert review_spec(other) != review_spec(LIST_FLUNDERS)
    assert cache_key(other) != cache_key(LIST_FLUNDERS)


def test_the_cache_key_ignores_what_the_spec_ignores() -> None:
    moved = LIST_FLUNDERS.replace(path="/apis/elsewhere")
    assert cache_key(moved) == cache_key(LIST_FLUNDERS)  # resource requests send no path
    assert cache_key(GET_PATH.replace(path="/b")) != cache_key(GET_PATH)
