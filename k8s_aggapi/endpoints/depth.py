"""One nesting limit for every JSON body and every patched object, so that all we store can be
written back: orjson refuses more than a fixed number of levels, and the deepest shape we serve
(a watch event of a Table row holding the object) adds `SERVED_WRAPPERS` levels around it.
"""

from __future__ import annotations

from typing import Any

import orjson

from k8s_aggapi.errors import BadRequest

SERVED_WRAPPERS = 4  # {"object": {Table "rows": [{"object": <the object>}]}}


def _writer_limit() -> tuple[int, str]:
    """The deepest nesting orjson writes, and the message it refuses deeper ones with."""
    value: Any = 0
    for depth in range(1, 4096):
        value = [value]
        try:
            orjson.dumps(value)
        except orjson.JSONEncodeError as exc:
            return depth - 1, str(exc)
    return 4095, ""


WRITER_MAX_DEPTH, _TOO_DEEP = _writer_limit()


def effective_limit(limit: int) -> int:
    """`limit`, lowered where needed so that an object at it can still be served."""
    return max(1, min(limit, WRITER_MAX_DEPTH - SERVED_WRAPPERS))


UNDECODABLE = "the body of the request could not be decoded as JSON"


def too_deep(limit: int, context: str = UNDECODABLE) -> BadRequest:
    """Go's decoders refuse past their depth with 400; apimachinery's util/json says it so."""
    return BadRequest(f"{context}: exceeded max depth of {effective_limit(limit)}")


def dump_within(value: Any, limit: int) -> bytes | None:
    """`value` as compact JSON, or None when it nests deeper than `limit` (a scalar is 0 deep).

    orjson checks the depth while it writes, in C: wrapped in enough lists that only a value
    within `limit` fits under orjson's own bound, one `dumps` measures depth and size at once.
    """
    pad = WRITER_MAX_DEPTH - effective_limit(limit)
    wrapped = value
    for _ in range(pad):
        wrapped = [wrapped]
    try:
        blob = orjson.dumps(wrapped)
    except orjson.JSONEncodeError as exc:
        if str(exc) == _TOO_DEEP:
            return None
        raise
    return blob[pad:len(blob) - pad]


def check_body(raw: bytes, value: Any, limit: int, context: str = UNDECODABLE) -> None:
    """Raise 400 when a parsed body nests deeper than `limit`; most bodies skip the walk."""
    if raw.count(b"{") + raw.count(b"[") <= effective_limit(limit):
        return  # fewer brackets than the limit, even counting those inside strings
    if dump_within(value, limit) is None:
        raise too_deep(limit, context)
