"""Request logging (upstream's httplog): verb, path, user, status, latency of each request.

Logged at DEBUG on `k8s_aggapi.httplog` by `ResponseMiddleware` once a request is answered
(after authentication left the user in the scope, when there is one); `--v=3` or higher
turns it on.
"""

from __future__ import annotations

import logging

from starlette.types import Scope

from k8s_aggapi.request.context import USER

log = logging.getLogger("k8s_aggapi.httplog")


def enabled() -> bool:
    return log.isEnabledFor(logging.DEBUG)


def log_request(scope: Scope, status: int, seconds: float) -> None:
    user = scope.get(USER)
    query = scope.get("query_string", b"").decode("latin-1")
    log.debug(
        'verb="%s" URI="%s%s" user="%s" groups=%s status=%s latency=%.1fms',
        scope["method"], scope["path"], f"?{query}" if query else "",
        getattr(user, "name", ""), list(getattr(user, "groups", ())), status or 500,
        seconds * 1000,
    )
