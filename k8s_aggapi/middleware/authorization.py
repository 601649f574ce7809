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
    return Attributes(
        user=user,
        verb=info.verb,
        resource_request=info.is_resource_request,
        path=info.path,
        namespace=info.namespace,
        api_group=info.api_group,
        api_version=info.api_version,
        resource=info.resource,
        subresource=info.subresource,
        name=info.name,
        label_selector=info.label_selector,
        field_selector=info.field_selector,
    )


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


ATTRIBUTES_REMEMBERED_MAX = 4096


class AuthorizationMiddleware:
    def __init__(self, app: ASGIApp, authorizer: Authorizer) -> None:
        self.app = app
        self.authorizer = authorizer
        # the attributes of a (request info, user) pair seen before: both are frozen, and
        # remembered objects upstream (request info by request, users by certificate) come
        # back identical; kept in the value, so their ids stay unique
        self._attributes: dict[tuple[int, int], tuple[RequestInfo, User, Attributes]] = {}

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
        attributes = self._attributes_of(info, user)
        decision, reason = await self.authorizer.authorize(attributes)
        if decision is not Decision.ALLOW:
            logger.debug("Forbidden %s: %s", attributes.path, reason)
            raise forbidden(attributes, reason)
        await self.app(scope, receive, send)

    def _attributes_of(self, info: RequestInfo, user: User) -> Attributes:
        key = (id(info), id(user))
        found = self._attributes.get(key)
        if found is not None and found[0] is info and found[1] is user:
            return found[2]
        if len(self._attributes) >= ATTRIBUTES_REMEMBERED_MAX:
            self._attributes = {}
        attributes = attributes_from(info, user)
        self._attributes[key] = (info, user, attributes)
        return attributes
