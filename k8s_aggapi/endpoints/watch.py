"""Serving a watch: newline-delimited JSON events over one long response.

Ends on `timeoutSeconds` (default: a random time in [30, 60) minutes, as upstream), on client
disconnect, when the event source ends, or when the client stops taking events with
`queue_length` waiting (upstream's cacher ends such a watcher); sends BOOKMARK events when asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import AsyncIterator, Callable
from typing import Any

import orjson

from k8s_aggapi.limits import DEFAULT_LIMITS
from k8s_aggapi.registry.rest import Object, WatchEvent

log = logging.getLogger("k8s_aggapi.endpoints")

Send = Callable[[dict[str, Any]], Any]
Receive = Callable[[], Any]
MIN_REQUEST_TIMEOUT = 1800.0
BOOKMARK_INTERVAL = 60.0


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


_END = object()
FULL_QUEUE_GRACE = 1.0
"""How long a full queue may wait for the client before the watch ends; upstream's cacher
waits a shared budget of about 100 ms (`pkg/storage/cacher/time_budget.go`)."""


async def bounded(
    events: AsyncIterator[WatchEvent], length: int, grace: float = FULL_QUEUE_GRACE
) -> AsyncIterator[WatchEvent]:
    """`events`, read as they come while the client is slow to take them. When `length` wait
    unsent and none is taken for `grace` seconds, the source is dropped, what is queued is
    still sent, and the stream ends: the client resumes from its last resourceVersion."""
    queue: asyncio.Queue[object] = asyncio.Queue()
    room = asyncio.Event()

    async def pump() -> None:
        try:
            async for event in events:
                if queue.qsize() >= length:
                    room.clear()
                    try:
                        await asyncio.wait_for(room.wait(), grace)
                    except TimeoutError:
                        log.info("Forcing watcher close due to unresponsiveness: "
                                 "len(queue) = %d, cap(queue) = %d", queue.qsize(), length)
                        return
                queue.put_nowait(event)
        except Exception as exc:  # the handler raises it, in its place in the stream
            queue.put_nowait(exc)
        finally:
            queue.put_nowait(_END)
            closer = getattr(events, "aclose", None)
            if closer is not None:
                with contextlib.suppress(Exception):
                    await closer()

    task = asyncio.ensure_future(pump())
    try:
        while (item := await queue.get()) is not _END:
            room.set()
            if isinstance(item, Exception):
                raise item
            yield item  # type: ignore[misc]
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def stream_watch(
    events: AsyncIterator[WatchEvent],
    send: Send,
    receive: Receive,
    *,
    transform: Callable[[Object], Object],
    bookmark: Callable[[str], Object] | None,
    duration: float | None,
    bookmark_interval: float = BOOKMARK_INTERVAL,
    queue_length: int = DEFAULT_LIMITS.watch_queue_length,
) -> None:
    """Write `events` to the client until timeout or disconnect; `transform` shapes objects
    (Table, PartialObjectMetadata or identity); `bookmark(rv)` makes a bookmark object; at
    most `queue_length` events wait for a slow client (see `bounded`)."""
    await send({
        "type": "http.response.start",
        "status": 200,
        "headers": [
            (b"content-type", b"application/json"),
            (b"cache-control", b"no-cache, private"),
        ],
    })
    loop = asyncio.get_running_loop()
    if duration is None:
        duration = MIN_REQUEST_TIMEOUT * (1 + random.random())
    deadline = loop.time() + duration
    next_bookmark = loop.time() + bookmark_interval
    last_rv = ""
    iterator = aiter(bounded(events, queue_length))
    disconnect: asyncio.Future[Any] = asyncio.ensure_future(_wait_disconnect(receive))
    pending: asyncio.Future[Any] | None = None
    try:
        while True:
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            now = loop.time()
            wake = min(deadline, next_bookmark) if bookmark else deadline
            done, _ = await asyncio.wait(
                {pending, disconnect}, timeout=max(0.0, wake - now),
                return_when=asyncio.FIRST_COMPLETED,
            )
            if disconnect in done:
                return
            if pending in done:
                try:
                    event = pending.result()
                except StopAsyncIteration:
                    return
                pending = None
                obj = event.object
                if event.type not in ("ERROR", "BOOKMARK"):
                    last_rv = str(obj.get("metadata", {}).get("resourceVersion", last_rv))
                    obj = transform(obj)
                line = orjson.dumps({"type": event.type, "object": obj}) + b"\n"
                await send({"type": "http.response.body", "body": line, "more_body": True})
                if event.type == "ERROR":
                    return
                continue
            if loop.time() >= deadline:
                return
            if bookmark is not None and last_rv:
                line = orjson.dumps({"type": "BOOKMARK", "object": bookmark(last_rv)}) + b"\n"
                await send({"type": "http.response.body", "body": line, "more_body": True})
            next_bookmark = loop.time() + bookmark_interval
    finally:
        disconnect.cancel()
        if pending is not None:
            pending.cancel()
        for task in (disconnect, pending):
            if task is not None:
                with contextlib.suppress(asyncio.CancelledError, StopAsyncIteration, Exception):
                    await task
        closer = getattr(iterator, "aclose", None)
        if closer is not None:
            with contextlib.suppress(Exception):
                await closer()
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": b"", "more_body": False})
