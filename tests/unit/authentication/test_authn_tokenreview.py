from __future__ import annotations

import asyncio
from typing import Any

import pytest

from k8s_aggapi.authentication.interface import CredentialsRejected
from k8s_aggapi.authentication.tokenreview import TokenReviewAuthenticator, bearer_token
from k8s_aggapi.kube import Backoff, KubeError
from k8s_aggapi.request.user import User
from tests.unit.authentication.conftest import credentials

NO_WAIT = Backoff(duration=0.0, steps=3)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeKube:
    """Answers TokenReviews from a table; counts the calls."""

    def __init__(self, answers: dict[str, Any]) -> None:
        self.answers = answers
        self.reviews: list[dict[str, Any]] = []
        self.gate: asyncio.Event | None = None

    async def create_token_review(self, review: dict[str, Any], *,
                                  request_timeout: float = 10.0) -> dict[str, Any]:
        self.reviews.append(review)
        if self.gate is not None:
            await self.gate.wait()
        answer = self.answers[review["spec"]["token"]]
        if isinstance(answer, list):
            answer = answer.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return {**review, "status": answer}


GOOD = {"authenticated": True, "user": {
    "username": "system:serviceaccount:ns:sa", "uid": "u-1", "groups": ["system:serviceaccounts"],
    "extra": {"authentication.kubernetes.io/pod-name": ["p"]},
}}
SA_USER = User("system:serviceaccount:ns:sa", ("system:serviceaccounts",), "u-1",
               {"authentication.kubernetes.io/pod-name": ("p",)})


def bearer(token: str):
    return credentials({"Authorization": f"Bearer {token}"})


@pytest.mark.parametrize(
    ("header", "token"),
    [(None, None), ("", None), ("Basic abc", None), ("Bearer", None), ("Bearer  abc", None),
     ("bearer abc", "abc"), ("  Bearer abc  ", "abc"), ("Bearer abc def", "abc")],
)
def test_bearer_token_parsing(header: str | None, token: str | None) -> None:
    headers = {"authorization": (header,)} if header is not None else {}
    assert bearer_token(headers) == token


async def test_valid_token_is_reviewed_once_then_cached_for_the_ttl() -> None:
    kube, clock = FakeKube({"good": GOOD}), Clock()
    authn = TokenReviewAuthenticator(kube, cache_ttl=10.0, clock=clock)
    assert await authn.authenticate(bearer("good")) == SA_USER
    clock.now += 9.9
    assert await authn.authenticate(bearer("good")) == SA_USER
    assert len(kube.reviews) == 1
    assert kube.reviews[0] == {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
                               "spec": {"token": "good"}}
    clock.now += 0.2
    await authn.authenticate(bearer("good"))
    assert len(kube.reviews) == 2


async def test_rejected_token_is_a_401_and_cached_too() -> None:
    kube, clock = FakeKube({"bad": {"authenticated": False}}), Clock()
    authn = TokenReviewAuthenticator(kube, clock=clock)
    for _ in range(2):
        with pytest.raises(CredentialsRejected) as info:
            await authn.authenticate(bearer("bad"))
        assert info.value.cause == "invalid bearer token"
    assert len(kube.reviews) == 1
    clock.now += 10.0
    with pytest.raises(CredentialsRejected):
        await authn.authenticate(bearer("bad"))
    assert len(kube.reviews) == 2


async def test_review_errors_are_not_cached() -> None:
    kube = FakeKube({
        "t": [{"authenticated": False, "error": "webhook down"}, GOOD],
        "u": [KubeError(403, "forbidden", "Forbidden"), GOOD],
    })
    authn = TokenReviewAuthenticator(kube, backoff=NO_WAIT)
    with pytest.raises(CredentialsRejected) as info:
        await authn.authenticate(bearer("t"))
    assert info.value.cause == "webhook down"
    assert await authn.authenticate(bearer("t")) == SA_USER
    with pytest.raises(CredentialsRejected):
        await authn.authenticate(bearer("u"))
    assert await authn.authenticate(bearer("u")) == SA_USER


async def test_transient_errors_are_retried() -> None:
    kube = FakeKube({"t": [KubeError(0, "connection reset"), KubeError(429, "slow down"), GOOD]})
    authn = TokenReviewAuthenticator(kube, backoff=NO_WAIT)
    assert await authn.authenticate(bearer("t")) == SA_USER
    assert len(kube.reviews) == 3


async def test_no_bearer_token_means_no_opinion() -> None:
    kube = FakeKube({})
    assert await TokenReviewAuthenticator(kube).authenticate(credentials()) is None
    assert kube.reviews == []


async def test_concurrent_requests_share_one_review() -> None:
    kube = FakeKube({"good": GOOD})
    kube.gate = asyncio.Event()
    authn = TokenReviewAuthenticator(kube)
    tasks = [asyncio.create_task(authn.authenticate(bearer("good"))) for _ in range(5)]
    await asyncio.sleep(0)
    kube.gate.set()
    assert await asyncio.gather(*tasks) == [SA_USER] * 5
    assert len(kube.reviews) == 1
