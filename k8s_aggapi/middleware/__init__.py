"""The handler chain, outermost first: the Python form of Go's `DefaultBuildHandlerChain`.

Request info is resolved first, once, so every later filter reads the same parse; the
response middleware is the one wrapper around each response (errors as Status, metrics, the
HTTP log). The server runs this list around its router with no Starlette application object
in between (server.py), so nothing else wraps a request.
"""

from __future__ import annotations

from starlette.middleware import Middleware

from k8s_aggapi.authentication.interface import Authenticator
from k8s_aggapi.authorization.interface import Authorizer
from k8s_aggapi.metrics import ServerMetrics
from k8s_aggapi.middleware.authentication import AuthenticationMiddleware, StripHeaders
from k8s_aggapi.middleware.authorization import AuthorizationMiddleware
from k8s_aggapi.middleware.requestinfo import RequestInfoMiddleware
from k8s_aggapi.middleware.response import ResponseMiddleware


def handler_chain(
    *,
    authenticator: Authenticator,
    authorizer: Authorizer,
    metrics: ServerMetrics,
    strip_headers: StripHeaders = (),
) -> list[Middleware]:
    return [
        Middleware(RequestInfoMiddleware),
        Middleware(ResponseMiddleware, metrics=metrics),
        Middleware(AuthenticationMiddleware, authenticator=authenticator,
                   strip_headers=strip_headers),
        Middleware(AuthorizationMiddleware, authorizer=authorizer),
    ]
