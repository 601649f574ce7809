"""Serving a watch: newline-delimited JSON events over one long response.

Ends on `timeoutSeconds` (default: a random time in [30, 60) minutes, as upstream), on client
disconnect, when the event source ends, or when the client stops taking events with
`queue_length` waiting (upstream's cacher ends such a watcher); sends BOOKMARK events when asked.

Fan-out cost: one event reaches every watcher of a resource as the same object, so its frame
(`{"type":..,"object":..}\\n`) is encoded once and shared (`FRAMES`, keyed by the object's
identity), as upstream's cacher serializes a `cachingObject` once per encoding. Each watcher
has one reader task feeding a `Mailbox` and one writer (the request's task) that takes
everything queued at once and writes it in one body message: no task or future per event.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
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
FULL_QUEUE_GRACE = 1.0
"""How long a full queue may wait for the client before the watch ends; upstream's cacher
waits a shared budget of about 100 ms (`pkg/storage/cacher/time_budget.go`)."""
FRAMES_KEPT = 512
_END = object()


class Frames:
    """Encoded event lines by (event type, object identity), the last `size` of them. An entry
    holds its object, so the identity cannot be reused while the entry lives; objects from
    storage are never mutated (the storage contract), so the bytes stay right."""

    def __init__(self, size: int = FRAMES_KEPT) -> None:
        self.size = size
        self._lines: dict[tuple[str, int], tuple[Object, bytes]] = {}
        self.hits = self.misses = 0

    def line(self, type_: str, obj: Object) -> bytes:
        key = (type_, id(obj))
        hit = self._lines.get(key)
        if hit is not None and hit[0] is obj:
            self.hits += 1
            return hit[1]
        self.misses += 1
        line = orjson.dumps({"type": type_, "object": obj}) + b"\n"
        lines = self._lines
        if len(lines) >= self.size:
            del lines[next(iter(lines))]  # the oldest: dicts keep insertion order
        lines[key] = (obj, line)
        return line


FRAMES = Frames()


class Mailbox:
    """What waits for one watcher's writer: items in order, and at most one waiting future,
    woken by a new item, by the timer, or by the client going away."""

    __slots__ = ("_waiter", "gone", "items")

    def __init__(self) -> None:
        self.items: deque[object] = deque()
        self._waiter: asyncio.Future[None] | None = None
        self.gone = False

    def put(self, item: object) -> None:
        self.items.append(item)
        self.wake()

    def wake(self) -> None:
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    async def wait(self) -> None:
        """Until something is queued or `wake()` is called."""
        if self.items or self.gone:
            return
        self._waiter = asyncio.get_running_loop().create_future()
        try:
            await self._waiter
        finally:
            self._waiter = None


async def _read(events: AsyncIterator[WatchEvent], box: Mailbox, room: Mailbox, length: int,
                grace: float) -> None:
    """Move `events` into `box` as they come. When `length` wait unsent and none is taken for
    `grace` seconds, the source is dropped; what is queued is still sent, then the stream
    ends and the client resumes from its last resourceVersion."""
    loop = asyncio.get_running_loop()
    try:
        async for event in events:
            if len(box.items) >= length:
                handle = loop.call_later(grace, room.wake)
                try:
                    await room.wait()  # the writer took a batch, or the grace is over
                finally:
                    handle.cancel()
                if len(box.items) >= length:
                    log.info("Forcing watcher close due to unresponsiveness: "
                             "len(queue) = %d, cap(queue) = %d", len(box.items), length)
                    return
            box.put(event)
    except Exception as exc:  # the writer raises it, in its place in the stream
        box.put(exc)
    finally:
        box.put(_END)
        closer = getattr(events, "aclose", None)
        if closer is not None:
            with contextlib.suppress(Exception):
                await closer()


async def _wait_disconnect(receive: Receive, box: Mailbox) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            box.gone = True
            box.wake()
            return


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
    grace: float = FULL_QUEUE_GRACE,
) -> None:
    """Write `events` to the client until timeout or disconnect; `transform` shapes objects
    (Table, PartialObjectMetadata or identity); `bookmark(rv)` makes a bookmark object; at
    most `queue_length` events wait for a slow client (see `_read`)."""
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
    box, room = Mailbox(), Mailbox()
    reader = asyncio.ensure_future(_read(events, box, room, queue_length, grace))
    disconnect = asyncio.ensure_future(_wait_disconnect(receive, box))
    timer = loop.call_at(min(deadline, next_bookmark) if bookmark else deadline, box.wake)
    frames = FRAMES
    try:
        while True:
            await box.wait()
            if box.gone:
                return
            items = box.items
            if items:
                chunks = []
                end: object = None
                while items:
                    item = items.popleft()
                    if item is _END or isinstance(item, Exception):
                        end = item
                        break
                    event: WatchEvent = item  # type: ignore[assignment]
                    obj = event.object
                    if event.type in ("ERROR", "BOOKMARK"):
                        chunks.append(orjson.dumps({"type": event.type, "object": obj}) + b"\n")
                        if event.type == "ERROR":
                            end = _END
                            break
                        continue
                    last_rv = str(obj.get("metadata", {}).get("resourceVersion", last_rv))
                    shaped = transform(obj)
                    chunks.append(frames.line(event.type, obj) if shaped is obj else
                                  orjson.dumps({"type": event.type, "object": shaped}) + b"\n")
                room.wake()  # the reader may queue again
                if chunks:
                    body = chunks[0] if len(chunks) == 1 else b"".join(chunks)
                    await send({"type": "http.response.body", "body": body, "more_body": True})
                if isinstance(end, Exception):
                    raise end
                if end is _END:
                    return
                continue
            now = loop.time()
            if now >= deadline:
                return
            if bookmark is not None and now >= next_bookmark:
                if last_rv:
                    line = orjson.dumps({"type": "BOOKMARK", "object": bookmark(last_rv)})
                    await send({"type": "http.response.body", "body": line + b"\n",
                                "more_body": True})
                next_bookmark = loop.time() + bookmark_interval
                timer.cancel()
                timer = loop.call_at(min(deadline, next_bookmark), box.wake)
    finally:
        timer.cancel()
        for task in (disconnect, reader):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": b"", "more_body": False})
