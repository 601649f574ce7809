"""Authorization middleware, after authentication: may this user do what the request info
says? Anything but Allow raises `Forbidden` with upstream's exact message
(k8s.io/apiserver responsewriters.ForbiddenStatusError).
"""

from __future__ import annotations

import json
import logging

from starlette.types import ASGIApp, Receive, Scope, Send

from k8s_aggapi.authorization.interface import Attributes, Authorizer, Decision
from k8s_aggapi.errors import Forbidden, GroupResource, InternalError
from k8s_aggapi.request import context
from k8s_aggapi.request.info import RequestInfo
from k8s_aggapi.request.user import User

logger = logging.getLogger(__name__)
_HTML = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})


def attributes_from(info: RequestInfo, user: User) -> Attributes:
    """The attributes authorization is asked about: the request info and the user, wrapped."""
    return Attributes.of(info, user)


def _q(text: str) -> str:
    """A quoted string, close to Go's %q (escapes quotes, backslashes, control characters)."""
    return json.dumps(text, ensure_ascii=False)


def forbidden_message(attributes: Attributes) -> str:
    who, verb = _q(attributes.user.name), attributes.verb
    if not attributes.resource_request:
        return f"User {who} cannot {verb} path {_q(attributes.path)}"
    resource = attributes.resource
    if attributes.subresource:
        resource = f"{resource}/{attributes.subresource}"
    group = _q(attributes.api_group)
    what = f"User {who} cannot {verb} resource {_q(resource)} in API group {group}"
    if attributes.namespace:
        return f"{what} in the namespace {_q(attributes.namespace)}"
    return f"{what} at the cluster scope"


def forbidden(attributes: Attributes, reason: str = "") -> Forbidden:
    """The 403 upstream answers: HTML-escaped message, `: <reason>` when there is one."""
    message = forbidden_message(attributes).translate(_HTML)
    if reason:
        message = f"{message}: {reason}"
    gr = GroupResource(attributes.api_group, attributes.resource)
    return Forbidden(gr if gr.group or gr.resource else None, attributes.name, message)


class AuthorizationMiddleware:
    def __init__(self, app: ASGIApp, authorizer: Authorizer) -> None:
        self.app = app
        self.authorizer = authorizer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            # nothing upstream of us parses or authenticates websockets: refuse them
            await send({"type": "websocket.close", "code": 1008})
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        info, user = scope.get(context.REQUEST_INFO), scope.get(context.USER)
        if info is None or user is None:
            raise InternalError("no RequestInfo or User found in the request scope")
        attributes = Attributes.of(info, user)
        decision, reason = await self.authorizer.authorize(attributes)
        if decision is not Decision.ALLOW:
            logger.debug("Forbidden %s: %s", attributes.path, reason)
            raise forbidden(attributes, reason)
        await self.app(scope, receive, send)
