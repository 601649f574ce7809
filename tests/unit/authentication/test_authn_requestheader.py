from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from k8s_aggapi.authentication.cabundle import DynamicCABundle
from k8s_aggapi.authentication.delegating import build_authenticator
from k8s_aggapi.authentication.interface import Credentials, CredentialsRejected, Headers
from k8s_aggapi.authentication.requestheader import (
    RequestHeaderAuthenticator,
    RequestHeaderConfig,
    unescape_extra_key,
    user_from_headers,
)
from k8s_aggapi.authentication.x509 import X509Authenticator
from k8s_aggapi.errors import Unauthorized
from k8s_aggapi.request.user import ANONYMOUS_USER, AUTHENTICATED, User
from k8s_aggapi.serving.certs import new_ca, new_cert
from tests.unit.authentication.conftest import Pki, credentials, der

PROXY_HEADERS = {"X-Remote-User": "mallory", "X-Remote-Group": "system:masters"}
ALLOWED = RequestHeaderConfig(allowed_names=("front-proxy-client",))


def chain(pki: Pki):
    """requestheader, x509 and anonymous, as a server with both CAs runs them."""
    return build_authenticator(
        requestheader=RequestHeaderAuthenticator(pki.proxy_bundle(), ALLOWED),
        x509=X509Authenticator(pki.client_bundle()),
    )


async def outcome(authenticator, creds) -> User | str:
    try:
        user = await authenticator.authenticate(creds)
    except Unauthorized:
        return "401"
    assert user is not None
    return user


def test_username_is_first_non_empty_header_and_groups_are_all_values() -> None:
    config = RequestHeaderConfig(username_headers=("X-A", "X-B"), group_headers=("X-G", "X-H"))
    headers = {"x-a": ("",), "x-b": ("bob", "ignored"), "x-g": ("g1", "", "g2"), "x-h": ("g3",)}
    user = user_from_headers(headers, config)
    assert user == User("bob", ("g1", "g2", "g3"))


def test_every_value_is_trimmed_of_spaces_and_tabs_as_go_does() -> None:
    config = RequestHeaderConfig(username_headers=("X-A", "X-B"), uid_headers=("X-Remote-Uid",))
    headers = {
        "x-a": (" \t",),  # empty once trimmed: the next header names the user
        "x-b": ("admin\t",),
        "x-remote-group": ("\tg1 ", " \t", "g 2"),
        "x-remote-extra-scope": (" a\t", "\tb"),
        "x-remote-uid": (" 42\t",),
    }
    user = user_from_headers(headers, config)
    assert user == User("admin", ("g1", "g 2"), "42", {"scope": ("a", "b")})


def test_no_username_header_means_no_user() -> None:
    assert user_from_headers({"x-remote-group": ("g",)}, RequestHeaderConfig()) is None


def test_extra_keys_are_lower_cased_and_percent_decoded() -> None:
    headers = {
        "x-remote-user": ("bob",),
        "x-remote-extra-scopes": ("a", "b"),
        "x-remote-extra-acme.com%2fproject": ("p1",),
        "x-remote-extra-bad%zzkey": ("v",),
    }
    user = user_from_headers(headers, RequestHeaderConfig())
    assert user is not None
    assert user.extra == {"scopes": ("a", "b"), "acme.com/project": ("p1",), "bad%zzkey": ("v",)}


@pytest.mark.parametrize(
    ("encoded", "decoded"),
    [
        ("plain", "plain"),
        ("a%2Fb", "a/b"),
        ("%E2%9C%93", "\u2713"),
        ("50%", "50%"),
        ("%zz", "%zz"),
        ("a+b", "a+b"),
        ("%ff", "%ff"),
    ],
)
def test_unescape_extra_key(encoded: str, decoded: str) -> None:
    assert unescape_extra_key(encoded) == decoded


def test_uid_header_read_only_when_configured() -> None:
    headers = {"x-remote-user": ("bob",), "x-remote-uid": ("42",)}
    assert user_from_headers(headers, RequestHeaderConfig()).uid == ""  # type: ignore[union-attr]
    config = RequestHeaderConfig(uid_headers=("X-Remote-Uid",))
    assert user_from_headers(headers, config).uid == "42"  # type: ignore[union-attr]


async def test_trusted_proxy_headers_name_the_user(pki: Pki) -> None:
    user = await outcome(chain(pki), credentials(PROXY_HEADERS, pki.proxy))
    assert user == User("mallory", ("system:masters", AUTHENTICATED))


# Spoofing: in each case the identity headers must count for nothing; the result is the one
# the same request gets without them (upstream's union of requestheader and x509).
@pytest.mark.parametrize(
    ("cert", "expected"),
    [
        (None, ANONYMOUS_USER),
        ("user", "alice"),
        ("stranger_proxy", "401"),
        ("expired_proxy", "401"),
        ("server_only_proxy", "401"),
    ],
)
async def test_spoofed_headers_are_ignored(pki: Pki, cert: str | None, expected: object) -> None:
    pair = getattr(pki, cert) if cert else None
    with_headers = await outcome(chain(pki), credentials(PROXY_HEADERS, pair))
    without = await outcome(chain(pki), credentials({}, pair))
    assert with_headers == without
    if isinstance(with_headers, User):
        assert with_headers.name != "mallory"
        assert "system:masters" not in with_headers.groups
        assert with_headers.name == getattr(expected, "name", expected)
    else:
        assert with_headers == expected


async def test_requestheader_alone_treats_bad_certificates_as_errors(pki: Pki) -> None:
    authn = RequestHeaderAuthenticator(pki.proxy_bundle(), ALLOWED)
    assert await authn.authenticate(credentials(PROXY_HEADERS)) is None
    for bad in (pki.user, pki.stranger_proxy, pki.expired_proxy):
        with pytest.raises(CredentialsRejected):
            await authn.authenticate(credentials(PROXY_HEADERS, bad))


async def test_any_cn_is_allowed_when_allowed_names_is_empty(pki: Pki) -> None:
    authn = RequestHeaderAuthenticator(pki.proxy_bundle(), RequestHeaderConfig())
    user = await authn.authenticate(credentials(PROXY_HEADERS, pki.stranger_proxy))
    assert user is not None
    assert user.name == "mallory"


async def test_no_ca_yet_means_no_opinion(pki: Pki) -> None:
    authn = RequestHeaderAuthenticator(DynamicCABundle("request-header"), ALLOWED)
    assert await authn.authenticate(credentials(PROXY_HEADERS, pki.proxy)) is None


async def test_ca_and_header_names_can_be_swapped_at_runtime(pki: Pki) -> None:
    bundle = pki.proxy_bundle()
    authn = RequestHeaderAuthenticator(bundle, ALLOWED)
    new_proxy_ca = new_ca("rotated-proxy-ca")
    rotated = new_cert(new_proxy_ca, "front-proxy-client", client=True)
    seen: list[bytes] = []
    bundle.subscribe(lambda b: seen.append(b.pem))

    assert bundle.update(new_proxy_ca.cert_pem()) is True
    assert bundle.update(new_proxy_ca.cert_pem()) is False
    assert seen == [new_proxy_ca.cert_pem()]
    with pytest.raises(CredentialsRejected):
        await authn.authenticate(credentials(PROXY_HEADERS, pki.proxy))
    authn.update_config(RequestHeaderConfig(username_headers=("X-Who",), allowed_names=()))
    user = await authn.authenticate(credentials({"X-Who": "carol"}, rotated))
    assert user == User("carol")


def test_bad_pem_keeps_the_old_bundle(pki: Pki) -> None:
    bundle = pki.proxy_bundle()
    for bad in (b"", b"-----BEGIN CERTIFICATE-----\nnope\n-----END CERTIFICATE-----\n"):
        with pytest.raises(ValueError):  # noqa: PT011
            bundle.update(bad)
    assert bundle.pem == pki.proxy_ca.cert_pem()
    assert bundle.certificates[0] == pki.proxy_ca.cert


def test_strip_headers_lists_names_and_prefixes() -> None:
    config = RequestHeaderConfig(("X-U",), ("X-G",), ("X-E-",), ("X-Id",))
    assert config.strip_headers() == ("x-u", "x-id", "x-g", "x-e-*")


async def test_a_plain_client_certificate_is_refused_as_a_value_not_an_exception(
    pki: Pki, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The hot path of every x509 request: the front-proxy authenticator refuses the client
    certificate, x509 accepts it, and nothing raises on the way (the union's fallback for
    authenticators that only raise is not taken)."""
    from k8s_aggapi.authentication import interface
    from k8s_aggapi.authentication.interface import Rejected

    authn = RequestHeaderAuthenticator(pki.proxy_bundle(), ALLOWED)
    refused = await authn.check(credentials(PROXY_HEADERS, pki.user))
    assert isinstance(refused, Rejected)
    assert "not signed by a CA of bundle 'request-header'" in refused.cause

    def raising(*_: object) -> None:
        raise AssertionError("an exception was made on the hot path")

    monkeypatch.setattr(interface, "CredentialsRejected", raising)
    user = await chain(pki).authenticate(credentials({}, pki.user))
    assert user is not None
    assert user.name == "alice"


async def test_a_proxied_identity_is_one_user_object_and_only_the_same_headers_share_it(
    pki: Pki,
) -> None:
    authn = RequestHeaderAuthenticator(pki.proxy_bundle(), ALLOWED)
    first = await authn.authenticate(credentials(PROXY_HEADERS, pki.proxy))
    again = await authn.authenticate(credentials(PROXY_HEADERS, pki.proxy))
    other = await authn.authenticate(
        credentials({**PROXY_HEADERS, "X-Remote-Group": "viewers"}, pki.proxy))
    assert first is again
    assert other is not None
    assert other.groups == ("viewers",)
    renamed = RequestHeaderConfig(username_headers=("X-Other-User",),
                                  allowed_names=("front-proxy-client",))
    authn.update_config(renamed)  # the remembered users were made with the old names
    assert await authn.authenticate(credentials(PROXY_HEADERS, pki.proxy)) is None


_NAMES = st.sampled_from([
    b"x-remote-user", b"X-Remote-User", b"x-remote-group", b"X-REMOTE-GROUP",
    b"x-remote-extra-scopes", b"X-Remote-Extra-Scopes", b"x-remote-extra-a%2Fb",
    b"x-remote-uid", b"x-remote-userx", b"accept", b"x-remote-us\xc9r", b"x-remote-extra-\xe9",
])
_VALUES = st.sampled_from([b"alice", b"bob", b" alice\t", b"", b"system:masters",
                           b"caf\xc3\xa9", b"caf\xe9", b"a,b"])


@settings(max_examples=300, deadline=None)
@given(requests=st.lists(st.lists(st.tuples(_NAMES, _VALUES), max_size=6), min_size=1,
                         max_size=6))
async def test_users_found_from_raw_headers_are_the_users_the_decoded_headers_name(
    pki: Pki, requests: list[list[tuple[bytes, bytes]]],
) -> None:
    """The remembered identity is taken from the undecoded headers: whatever the names'
    case, the values' encoding, or a name that is not ASCII, each request gets the user its
    decoded headers name, never one remembered for other headers."""
    config = RequestHeaderConfig(uid_headers=("X-Remote-Uid",),
                                 allowed_names=("front-proxy-client",))
    authn = RequestHeaderAuthenticator(pki.proxy_bundle(), config)
    for raw in [*requests, *requests]:
        headers = Headers(raw)
        expected = user_from_headers(dict(headers.items()), config)
        assert await authn.authenticate(Credentials(headers, der(pki.proxy))) == expected
