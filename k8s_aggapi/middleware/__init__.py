"""The handler chain, outermost first: the Python form of Go's `DefaultBuildHandlerChain`.

Starlette wraps this list in its own ServerErrorMiddleware (outside) and ExceptionMiddleware
(inside, where routing 404/405s become Status responses).
"""

from __future__ import annotations

from starlette.middleware import Middleware

from k8s_aggapi.authentication.interface import Authenticator
from k8s_aggapi.authorization.interface import Authorizer
from k8s_aggapi.metrics import ServerMetrics
from k8s_aggapi.middleware.authentication import AuthenticationMiddleware, StripHeaders
from k8s_aggapi.middleware.authorization import AuthorizationMiddleware
from k8s_aggapi.middleware.errors import ErrorsMiddleware
from k8s_aggapi.middleware.httplog import HTTPLogMiddleware
from k8s_aggapi.middleware.metrics import MetricsMiddleware
from k8s_aggapi.middleware.requestinfo import RequestInfoMiddleware


def handler_chain(
    *,
    authenticator: Authenticator,
    authorizer: Authorizer,
    metrics: ServerMetrics,
    strip_headers: StripHeaders = (),
) -> list[Middleware]:
    return [
        Middleware(ErrorsMiddleware),
        Middleware(MetricsMiddleware, metrics=metrics),
        Middleware(RequestInfoMiddleware),
        Middleware(AuthenticationMiddleware, authenticator=authenticator,
                   strip_headers=strip_headers),
        Middleware(HTTPLogMiddleware),
        Middleware(AuthorizationMiddleware, authorizer=authorizer),
    ]
