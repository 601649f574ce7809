"""Writing JSON responses and reading request bodies (3 MiB limit, 400 on malformed JSON)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson

from k8s_aggapi.errors import BadRequest, RequestEntityTooLarge

MAX_BODY_BYTES = 3 * 1024 * 1024
Send = Callable[[dict[str, Any]], Awaitable[None]]
Receive = Callable[[], Awaitable[dict[str, Any]]]

JSON_HEADERS = [
    (b"content-type", b"application/json"),
    (b"cache-control", b"no-cache, private"),
]


async def send_json(
    send: Send, status: int, body: Any, headers: list[tuple[bytes, bytes]] | None = None
) -> None:
    payload = body if isinstance(body, bytes) else orjson.dumps(body)
    await send({
        "type": "http.response.start",
        "status": status,
        "headers": [*JSON_HEADERS, (b"content-length", str(len(payload)).encode()),
                    *(headers or [])],
    })
    await send({"type": "http.response.body", "body": payload})


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


def parse_json(raw: bytes) -> Any:
    if not raw.strip():
        raise BadRequest("the body of the request was empty")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise BadRequest(f"the body of the request could not be decoded as JSON: {exc}") from None


def parse_object(raw: bytes) -> dict[str, Any]:
    obj = parse_json(raw)
    if not isinstance(obj, dict):
        raise BadRequest("the body of the request must be a JSON object")
    return obj
