"""What a failed request is answered with: any `StatusError` as its `metav1.Status`, routing's
own HTTPException (404, 405) as upstream's, an unavailable storage (etcd down) as a 500 with
the storage's words, anything else logged and answered 500.

`ResponseMiddleware` (response.py) writes the answer, unless the response had already started
(a watch stream), in which case the stream is ended.
"""

from __future__ import annotations

import http
import logging

from starlette.exceptions import HTTPException
from starlette.types import Scope

from k8s_aggapi.errors import InternalError, MethodNotAllowed, PathNotFound, StatusError
from k8s_aggapi.storage.interface import Unavailable

log = logging.getLogger("k8s_aggapi.errors")


def status_error(exc: Exception, scope: Scope) -> StatusError:
    """The `StatusError` to answer `exc` with; unexpected ones are logged with the traceback."""
    if isinstance(exc, StatusError):
        return exc
    if isinstance(exc, HTTPException):
        if exc.status_code == 405:
            return MethodNotAllowed()
        if exc.status_code == 404:
            return PathNotFound()
        reason = http.HTTPStatus(exc.status_code).phrase.replace(" ", "")
        return StatusError(str(exc.detail), exc.status_code, reason)
    if isinstance(exc, Unavailable):  # the storage is down: its words, as upstream's 500
        log.warning("storage unavailable serving %s %s: %s", scope.get("method"),
                    scope.get("path"), exc)
        return InternalError(str(exc))
    log.error("unhandled error serving %s %s", scope.get("method"), scope.get("path"),
              exc_info=exc)
    return InternalError(type(exc).__name__)
