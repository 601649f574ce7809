from __future__ import annotations

from typing import Any

import pytest

from k8s_aggapi.authentication.interface import Credentials, CredentialsRejected
from k8s_aggapi.errors import Unauthorized
from k8s_aggapi.middleware.authentication import AuthenticationMiddleware
from k8s_aggapi.request import context
from k8s_aggapi.request.user import User


class Recording:
    def __init__(self, result: User | Exception | None) -> None:
        self.result = result
        self.seen: list[Credentials] = []

    async def authenticate(self, credentials: Credentials) -> User | None:
        self.seen.append(credentials)
        if isinstance(self.result, Exception):
            raise self.result
        return self.result


class App:
    def __init__(self) -> None:
        self.scope: dict[str, Any] | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.scope = scope


async def call(middleware: AuthenticationMiddleware, scope: dict[str, Any]) -> None:
    async def receive() -> dict[str, Any]:
        return {"type": "http.request"}

    async def send(message: Any) -> None:
        pass

    await middleware(scope, receive, send)


def http_scope(headers: list[tuple[bytes, bytes]], cert: bytes | None = None) -> dict[str, Any]:
    scope: dict[str, Any] = {"type": "http", "method": "GET", "path": "/", "headers": headers}
    if cert is not None:
        scope["extensions"] = {"tls": {"client_cert_der": cert}}
    return scope


HEADERS = [
    (b"authorization", b"Bearer abc"),
    (b"x-remote-user", b"bob"),
    (b"X-Remote-Group", b"g1"),
    (b"x-remote-group", b"g2"),
    (b"x-remote-uid", b"7"),
    (b"x-remote-extra-scopes", b"s"),
    (b"x-proxy-user", b"eve"),
    (b"x-proxy-extra-a", b"1"),
    (b"accept", b"application/json"),
    (b"user-agent", b"kubectl/\xc3\xa9"),
]


async def test_credentials_carry_all_values_and_the_peer_certificate() -> None:
    authn, app = Recording(User("bob")), App()
    await call(AuthenticationMiddleware(app, authn), http_scope(HEADERS, b"DER"))
    creds = authn.seen[0]
    assert creds.headers["x-remote-group"] == ("g1", "g2")
    assert creds.headers["user-agent"] == ("kubectl/\u00e9",)
    assert creds.client_cert_der == b"DER"


async def test_user_in_scope_and_credential_headers_stripped() -> None:
    app = App()
    middleware = AuthenticationMiddleware(app, Recording(User("bob")),
                                          strip_headers=("X-Proxy-User", "x-proxy-extra-*"))
    await call(middleware, http_scope(list(HEADERS)))
    assert app.scope is not None
    assert app.scope[context.USER] == User("bob")
    assert app.scope["headers"] == [(b"accept", b"application/json"),
                                    (b"user-agent", b"kubectl/\xc3\xa9")]


async def test_strip_headers_may_be_a_callable_that_changes() -> None:
    names = ["x-first"]
    app = App()
    middleware = AuthenticationMiddleware(app, Recording(User("bob")), strip_headers=lambda: names)
    headers = [(b"x-first", b"1"), (b"x-second", b"2")]
    await call(middleware, http_scope(list(headers)))
    assert app.scope["headers"] == [(b"x-second", b"2")]  # type: ignore[index]
    names[:] = ["x-second"]
    await call(middleware, http_scope(list(headers)))
    assert app.scope["headers"] == [(b"x-first", b"1")]  # type: ignore[index]


async def test_rejected_credentials_raise_unauthorized_and_stop_the_request() -> None:
    app = App()
    middleware = AuthenticationMiddleware(app, Recording(CredentialsRejected("bad")))
    with pytest.raises(Unauthorized) as info:
        await call(middleware, http_scope(HEADERS))
    assert info.value.to_status()["message"] == "Unauthorized"
    assert app.scope is None


async def test_nobody_recognised_without_anonymous_is_unauthorized() -> None:
    with pytest.raises(Unauthorized):
        await call(AuthenticationMiddleware(App(), Recording(None)), http_scope([]))


async def test_non_http_scopes_pass_through() -> None:
    app, authn = App(), Recording(User("bob"))
    await call(AuthenticationMiddleware(app, authn), {"type": "lifespan"})
    assert app.scope == {"type": "lifespan"}
    assert authn.seen == []


async def test_every_header_an_authenticator_reads_is_stripped_whatever_its_case() -> None:
    """Names are matched as `Headers` decodes them (latin-1, lower case), also past ASCII,
    and learned per raw name: the second request with the same names is stripped alike."""
    authn, app = Recording(User("bob")), App()
    middleware = AuthenticationMiddleware(app, authn, strip_headers=("X-Üser", "X-Ëxtra-*"))
    headers = [(b"X-\xdcSER", b"eve"), (b"x-\xebXTRA-a", b"1"), (b"X-REMOTE-USER", b"x"),
               (b"accept", b"*/*")]
    for _ in range(2):
        await call(middleware, http_scope(list(headers)))
        assert {"x-üser", "x-ëxtra-a", "x-remote-user"} <= set(authn.seen[-1].headers)
        assert app.scope is not None
        assert app.scope["headers"] == [(b"accept", b"*/*")]
