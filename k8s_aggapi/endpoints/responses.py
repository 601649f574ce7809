"""Reading request bodies (size and nesting bounded, 400 on malformed JSON), the bounds coming
from `ServerLimits`; JSON responses are written by `k8s_aggapi.request.wire`."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson

from k8s_aggapi.endpoints.depth import UNDECODABLE, check_body, too_deep
from k8s_aggapi.errors import BadRequest, RequestEntityTooLarge
from k8s_aggapi.limits import DEFAULT_LIMITS
from k8s_aggapi.request.gojson import syntax_error
from k8s_aggapi.request.wire import JSON_HEADERS, Receive, Send, send_json

__all__ = ["JSON_HEADERS", "Receive", "Send", "parse_json", "parse_object", "read_body",
           "send_json", "send_parts"]

MAX_BODY_BYTES = DEFAULT_LIMITS.max_body_bytes
MAX_DEPTH = DEFAULT_LIMITS.max_nesting_depth


async def read_body(receive: Receive, limit: int = MAX_BODY_BYTES) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise RequestEntityTooLarge(limit)
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


def parse_json(raw: bytes, max_depth: int = MAX_DEPTH, context: str = UNDECODABLE,
               kind: str = "") -> Any:
    """The decoded body; 400 when it is empty, malformed or nests deeper than `max_depth`,
    checked before anything walks it. `context` begins the message; with `kind` (an object
    body), malformed JSON is refused in the words of upstream's transformDecodeError."""
    if not raw.strip():
        raise BadRequest("the body of the request was empty")
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        if str(exc).startswith("depth limit exceeded"):  # orjson's own bound, far above ours
            raise too_deep(max_depth, context) from None
        problem = syntax_error(raw) or str(exc)  # Go's words when the syntax is what fails
        if kind:
            raise BadRequest(
                f"the object provided is unrecognized (must be of type {kind}): couldn't get "
                f"version/kind; json parse error: {problem} ({_summary(raw)})") from None
        raise BadRequest(f"{context}: {problem}") from None
    check_body(raw, value, max_depth, context)
    return value


def _summary(data: bytes, max_length: int = 30) -> str:
    """Upstream's summarizeData: an object's first bytes as text, anything else in hex."""
    cut, more = data[:max_length], " ..." if len(data) > max_length else ""
    if data.startswith(b"{"):
        return cut.decode(errors="replace") + more
    return cut.hex() + more


def parse_object(raw: bytes, max_depth: int = MAX_DEPTH, kind: str = "") -> dict[str, Any]:
    obj = parse_json(raw, max_depth, kind=kind)
    if not isinstance(obj, dict):
        raise BadRequest("the body of the request must be a JSON object")
    return obj


async def send_parts(send: Send, status: int, parts: Sequence[bytes]) -> None:
    """A JSON response whose body is `parts` in order, each sent as it is: a list's kept
    join (`registry.encoded`) goes to the transport without being copied into one body."""
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [*JSON_HEADERS, (b"content-length", str(sum(map(len, parts))).encode())],
    })
    last = len(parts) - 1
    for i, part in enumerate(parts):
        await send({"type": "http.response.body", "body": part, "more_body": i < last})
