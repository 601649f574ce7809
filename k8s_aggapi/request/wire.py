"""Writing a JSON response on ASGI: the one way every layer answers (handlers, the errors
path of the middleware, discovery)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import orjson

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
