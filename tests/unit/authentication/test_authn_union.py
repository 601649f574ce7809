from __future__ import annotations

import pytest

from k8s_aggapi.authentication.anonymous import AnonymousAuthenticator
from k8s_aggapi.authentication.delegating import build_authenticator
from k8s_aggapi.authentication.interface import Authenticator, Credentials, CredentialsRejected
from k8s_aggapi.authentication.union import AuthenticatedGroupAdder, UnionAuthenticator
from k8s_aggapi.errors import Unauthorized
from k8s_aggapi.request.user import (
    ANONYMOUS_USER,
    AUTHENTICATED,
    UNAUTHENTICATED,
    User,
)

CREDS = Credentials({})


class Fixed:
    def __init__(self, result: User | Exception | None) -> None:
        self.result = result
        self.calls = 0

    async def authenticate(self, credentials: Credentials) -> User | None:
        self.calls += 1
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


def test_fakes_and_real_ones_satisfy_the_protocol() -> None:
    for authn in (Fixed(None), AnonymousAuthenticator(), UnionAuthenticator()):
        assert isinstance(authn, Authenticator)


async def test_first_user_wins_and_later_ones_are_not_asked() -> None:
    first, second = Fixed(User("a")), Fixed(User("b"))
    assert await UnionAuthenticator(Fixed(None), first, second).authenticate(CREDS) == User("a")
    assert second.calls == 0


async def test_an_error_does_not_stop_a_later_success() -> None:
    union = UnionAuthenticator(Fixed(CredentialsRejected("bad cert")), Fixed(User("a")))
    assert await union.authenticate(CREDS) == User("a")


async def test_errors_without_success_become_one_unauthorized() -> None:
    union = UnionAuthenticator(
        Fixed(CredentialsRejected("bad cert")), Fixed(None), Fixed(CredentialsRejected("x"))
    )
    with pytest.raises(CredentialsRejected) as info:
        await union.authenticate(CREDS)
    assert info.value.cause == "[bad cert, x]"
    assert info.value.to_status()["message"] == "Unauthorized"
    assert info.value.code == 401


async def test_nothing_recognised_is_none() -> None:
    assert await UnionAuthenticator(Fixed(None), Fixed(None)).authenticate(CREDS) is None


async def test_fail_on_error_stops_at_the_first_error() -> None:
    anonymous = Fixed(ANONYMOUS_USER)
    union = UnionAuthenticator(Fixed(Unauthorized()), anonymous, fail_on_error=True)
    with pytest.raises(Unauthorized):
        await union.authenticate(CREDS)
    assert anonymous.calls == 0


@pytest.mark.parametrize(
    ("user", "groups"),
    [
        (User("bob", ("dev",)), ("dev", AUTHENTICATED)),
        (User("bob", ("dev", AUTHENTICATED)), ("dev", AUTHENTICATED)),
        (User("bob", (UNAUTHENTICATED,)), (UNAUTHENTICATED,)),
        (ANONYMOUS_USER, (UNAUTHENTICATED,)),
    ],
)
async def test_group_adder(user: User, groups: tuple[str, ...]) -> None:
    result = await AuthenticatedGroupAdder(Fixed(user)).authenticate(CREDS)
    assert result is not None
    assert result.groups == groups


async def test_chain_uses_anonymous_only_when_nothing_recognised_the_request() -> None:
    chain = build_authenticator(x509=Fixed(None), token=Fixed(None))
    assert await chain.authenticate(CREDS) == ANONYMOUS_USER
    failing = build_authenticator(x509=Fixed(None), token=Fixed(CredentialsRejected("no")))
    with pytest.raises(Unauthorized):
        await failing.authenticate(CREDS)


async def test_chain_order_is_requestheader_x509_token() -> None:
    chain = build_authenticator(
        requestheader=Fixed(User("proxy-user")), x509=Fixed(User("cert-user")),
        token=Fixed(User("token-user")),
    )
    assert await chain.authenticate(CREDS) == User("proxy-user", (AUTHENTICATED,))


async def test_chain_without_methods() -> None:
    assert isinstance(build_authenticator(), AnonymousAuthenticator)
    with pytest.raises(ValueError, match="no authentication method configured"):
        build_authenticator(anonymous=False)
    only = build_authenticator(token=Fixed(None), anonymous=False)
    assert await only.authenticate(CREDS) is None


class Rejecting:
    async def authenticate(self, credentials: Credentials) -> User | None:
        raise CredentialsRejected("not a front-proxy certificate")


async def test_an_error_passed_over_leaves_no_garbage_cycle() -> None:
    import gc
    import warnings

    union = UnionAuthenticator(Rejecting(), Fixed(User("a")))
    with warnings.catch_warnings():  # what earlier tests left (an unclosed socket) is not ours
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    gc.disable()
    try:
        for _ in range(20):
            assert await union.authenticate(CREDS) == User("a")
        assert gc.collect() == 0  # nothing was left for the collector: no cycles
    finally:
        gc.enable()
