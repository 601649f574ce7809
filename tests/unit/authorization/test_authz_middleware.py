from __future__ import annotations

from typing import Any

import pytest

from k8s_aggapi.authorization.interface import Attributes, Decision
from k8s_aggapi.errors import Forbidden, InternalError
from k8s_aggapi.middleware.authorization import (
    AuthorizationMiddleware,
    attributes_from,
    forbidden,
)
from k8s_aggapi.request import context
from k8s_aggapi.request.info import parse_request_info
from k8s_aggapi.request.user import ANONYMOUS_USER, User

ALICE = User("alice", ("dev",))
W = "/apis/wardle.example.com/v1alpha1"


def attrs(method: str, path: str, query: str = "", user: User = ALICE) -> Attributes:
    return attributes_from(parse_request_info(method, path, query), user)


@pytest.mark.parametrize(
    ("method", "path", "user", "message"),
    [
        ("GET", f"{W}/namespaces/default/flunders", ALICE,
         'flunders.wardle.example.com is forbidden: User "alice" cannot list resource '
         '"flunders" in API group "wardle.example.com" in the namespace "default"'),
        ("GET", f"{W}/fischers/f1", ALICE,
         'fischers.wardle.example.com "f1" is forbidden: User "alice" cannot get resource '
         '"fischers" in API group "wardle.example.com" at the cluster scope'),
        ("PUT", f"{W}/namespaces/default/flunders/x/status", ALICE,
         'flunders.wardle.example.com "x" is forbidden: User "alice" cannot update resource '
         '"flunders/status" in API group "wardle.example.com" in the namespace "default"'),
        ("GET", "/api/v1/namespaces/kube-system/pods", ALICE,
         'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the '
         'namespace "kube-system"'),
        ("GET", "/apis/acme.xxx.com/v1alpha1", ANONYMOUS_USER,
         'forbidden: User "system:anonymous" cannot get path "/apis/acme.xxx.com/v1alpha1"'),
        ("POST", "/metrics", ALICE, 'forbidden: User "alice" cannot post path "/metrics"'),
    ],
)
def test_forbidden_messages(method: str, path: str, user: User, message: str) -> None:
    assert forbidden(attrs(method, path, user=user)).message == message


def test_reason_is_appended_and_html_is_escaped_in_the_message_only() -> None:
    error = forbidden(attrs("GET", "/<b>&", user=User("a<b>")), "rule <x>")
    assert error.message == (
        'forbidden: User "a&lt;b&gt;" cannot get path "/&lt;b&gt;&amp;": rule <x>'
    )


def test_names_are_quoted_like_go() -> None:
    message = forbidden(attrs("GET", "/x", user=User('a"b\\c'))).message
    assert message == 'forbidden: User "a\\"b\\\\c" cannot get path "/x"'


def test_status_details() -> None:
    status = forbidden(attrs("DELETE", f"{W}/namespaces/ns/flunders/x")).to_status()
    assert status["code"] == 403
    assert status["reason"] == "Forbidden"
    assert status["details"] == {"name": "x", "group": "wardle.example.com", "kind": "flunders"}
    core = forbidden(attrs("GET", "/api/v1/pods")).to_status()
    assert core["details"] == {"kind": "pods"}


def test_attributes_from_request_info() -> None:
    a = attrs("GET", f"{W}/namespaces/default/flunders", "watch=1&labelSelector=a%3Db")
    assert (a.verb, a.resource_request, a.namespace, a.api_group, a.api_version, a.resource,
            a.label_selector) == ("watch", True, "default", "wardle.example.com", "v1alpha1",
                                  "flunders", "a=b")
    n = attrs("GET", "/healthz")
    assert (n.verb, n.resource_request, n.path) == ("get", False, "/healthz")


class Fixed:
    def __init__(self, decision: Decision, reason: str = "") -> None:
        self.answer = (decision, reason)
        self.seen: list[Attributes] = []

    async def authorize(self, attributes: Attributes) -> tuple[Decision, str]:
        self.seen.append(attributes)
        return self.answer


class App:
    called = False

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.called = True


async def run(middleware: AuthorizationMiddleware, scope: dict[str, Any]) -> list[Any]:
    sent: list[Any] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request"}

    async def send(message: Any) -> None:
        sent.append(message)

    await middleware(scope, receive, send)
    return sent


def scope(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "headers": [],
            context.REQUEST_INFO: parse_request_info(method, path), context.USER: ALICE}


async def test_allowed_requests_reach_the_app() -> None:
    app, authorizer = App(), Fixed(Decision.ALLOW)
    await run(AuthorizationMiddleware(app, authorizer), scope("GET", f"{W}/fischers"))
    assert app.called
    assert authorizer.seen[0].resource == "fischers"


@pytest.mark.parametrize("decision", [Decision.DENY, Decision.NO_OPINION])
async def test_anything_but_allow_is_forbidden(decision: Decision) -> None:
    app = App()
    middleware = AuthorizationMiddleware(app, Fixed(decision, "because"))
    with pytest.raises(Forbidden) as info:
        await run(middleware, scope("GET", f"{W}/fischers"))
    assert info.value.message.endswith(" at the cluster scope: because")
    assert not app.called


async def test_missing_request_info_is_an_internal_error() -> None:
    with pytest.raises(InternalError):
        await run(AuthorizationMiddleware(App(), Fixed(Decision.ALLOW)),
                  {"type": "http", "method": "GET", "path": "/", "headers": []})


async def test_websockets_are_refused_and_lifespan_passes() -> None:
    app = App()
    middleware = AuthorizationMiddleware(app, Fixed(Decision.ALLOW))
    assert await run(middleware, {"type": "websocket", "path": "/"}) == [
        {"type": "websocket.close", "code": 1008}]
    assert not app.called
    await run(middleware, {"type": "lifespan"})
    assert app.called
