"""Serving a watch: newline-delimited JSON events over one long response.

Ends on `timeoutSeconds` (default: a random time in [30, 60) minutes, as upstream), on client
disconnect, or when the event source ends (the storage ends a watcher whose client stopped
taking events, as upstream's cacher does); sends BOOKMARK events when asked.

Fan-out cost: one event reaches every watcher of a resource as the same object, so its frame
(`{"type":..,"object":..}\\n`) is encoded once and shared (`FRAMES`, keyed by the object's
identity), as upstream's cacher serializes a `cachingObject` once per encoding. The request's
task iterates the events itself (one wake-up per batch, no task or future per event) and
writes the events queued behind one another in one body message (the storage's hint,
`more_queued`). A slow client is the storage's to bound: its watch queue holds at most
`--watch-queue-length` events, then the watcher is ended, as upstream's cacher ends it.

Push: a watch whose events go out as they come (JSON objects, no Table, no
PartialObjectMetadata, nothing filtered or converted per watcher on the way) offers its writer
to the storage as a sink (`storage.subscriber.offer_push`). While its task waits on an empty
queue, the storage's fan-out writes each event through it, driving the server's `send`
coroutine by hand: no queue put, no task wake-up, no generator frames per watcher and event.
A `send` that has to wait (flow control) goes on in a task of its own; the events behind it
take the queued way, and every later write waits for it, so the order holds.

Chunks past `send`: when the server's own `send` is uvicorn's httptools `send` itself
(`serving.chunks.chunk_writer`), a body message it would write at once is written to the
connection directly, framed as `send` frames it (once per event for all its watchers): no
message dict, no coroutine, none of `send`'s checks per watcher and event. Anything else
(flow control, a client gone, another protocol or server) goes through `send` as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import random
import types
from collections.abc import AsyncIterator, Callable, Coroutine, Generator
from typing import Any

import orjson

from k8s_aggapi.registry.rest import Object, WatchEvent
from k8s_aggapi.serving.chunks import ChunkWriter, chunk_writer, frame
from k8s_aggapi.storage.interface import Event
from k8s_aggapi.storage.subscriber import more_queued

Send = Callable[[dict[str, Any]], Any]
Receive = Callable[[], Any]
MIN_REQUEST_TIMEOUT = 1800.0
BOOKMARK_INTERVAL = 60.0
FRAMES_KEPT = 512


class Frames:
    """Encoded event lines by (event type, object identity), the last `size` of them. An entry
    holds its object, so the identity cannot be reused while the entry lives; objects from
    storage are never mutated (the storage contract), so the bytes stay right."""

    def __init__(self, size: int = FRAMES_KEPT) -> None:
        self.size = size
        self._lines: dict[tuple[str, int], tuple[Object, bytes]] = {}
        self._last: tuple[str, Object, bytes, str | None, bytes] | None = None
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

    def pushed(self, type_: str, obj: Object) -> tuple[bytes, str | None, bytes]:
        """`line`, the object's resourceVersion and the line framed as a chunk, for the push
        path: the fan-out asks for one event once per watcher in a row, so the last answer
        is kept at hand."""
        last = self._last
        if last is not None and last[1] is obj and last[0] == type_:
            return last[2], last[3], last[4]
        meta = obj.get("metadata")
        rv = meta.get("resourceVersion") if isinstance(meta, dict) else None
        line = self.line(type_, obj)
        answer = (type_, obj, line, None if rv is None else str(rv), frame(line))
        self._last = answer
        return answer[2], answer[3], answer[4]


async def _unbound(message: dict[str, Any]) -> None:
    raise RuntimeError("a watch writer used before its stream began")


FRAMES = Frames()
_DONE = object()


class _Out:
    """The lines not yet written, and the resourceVersion of the last one that was; a write
    the push path began that had to wait (`pending`), and whether writes are under way."""

    __slots__ = ("_flushes", "_scheduled", "chunks", "direct", "pending", "pushing", "rv",
                 "send", "sending", "sent_rv")

    def __init__(self, send: Send | None) -> None:
        self.send: Send = send or _unbound
        self.direct: ChunkWriter | None = None  # body chunks past `send`: serving/chunks.py
        self.chunks: list[bytes] = []
        self.rv = self.sent_rv = ""
        self._scheduled = False
        self._flushes: set[asyncio.Future[None]] = set()
        self.pending: asyncio.Future[None] | None = None
        self.sending = 0
        self.pushing = False  # the push sink writes (while the stream runs, on a coroutine send)

    async def write(self, body: bytes) -> None:
        """One body message, after any pushed write still under way (the order it came in)."""
        self.sending += 1
        try:
            await self.settle()
            direct = self.direct
            if direct is None or not body or not direct(frame(body)):
                await self.send({"type": "http.response.body", "body": body, "more_body": True})
        finally:
            self.sending -= 1

    async def settle(self) -> None:
        """Wait for a pushed write that had to wait; raise what it raised."""
        pending = self.pending
        if pending is not None:
            try:
                await pending
            finally:
                if self.pending is pending:
                    self.pending = None

    async def flush(self) -> None:
        chunks = self.chunks
        if not chunks:
            if self.pending is not None:
                await self.settle()
            return
        self.chunks = []
        self.sent_rv = self.rv
        await self.write(chunks[0] if len(chunks) == 1 else b"".join(chunks))

    def flush_when_idle(self) -> None:
        """More events were said to be queued, but the filters above the storage may drop
        them all: once this task waits, whatever is left unwritten is written."""
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._idle)

    def _idle(self) -> None:
        self._scheduled = False
        if self.chunks:
            flush = asyncio.ensure_future(self.flush())
            self._flushes.add(flush)
            flush.add_done_callback(self._flushed)

    def _flushed(self, flush: asyncio.Future[None]) -> None:
        self._flushes.discard(flush)
        if not flush.cancelled():
            flush.exception()  # a client gone: the request's own send says so next

    def __call__(self, event: Event) -> bool:
        """The push sink (`storage.subscriber.Sink`): write one event now, from outside this
        watch's task (the storage's fan-out, while the task waits on its empty queue): the
        frame as the task would have written it, its body message sent by driving `send` by
        hand. A `send` that has to wait (the client is not reading: flow control) goes on in
        a task of its own, which every later write waits for. False when pushing is off or a
        write of this watch is under way: the event goes the queued way, behind it."""
        if not self.pushing or self.chunks or self.sending or self._flushes:
            return False
        pending = self.pending
        if pending is not None:
            if not pending.done() or pending.cancelled() or pending.exception() is not None:
                return False  # the task raises it when it next writes
            self.pending = None
        type_, obj, last = event.type, event.object, FRAMES._last  # `Frames.pushed`, inline
        if last is not None and last[1] is obj and last[0] == type_:
            line, rv, framed = last[2], last[3], last[4]
        else:
            line, rv, framed = FRAMES.pushed(type_, obj)
        if rv is not None:
            self.rv = rv
        self.sent_rv = self.rv
        direct = self.direct
        if direct is not None and direct(framed):
            return True
        coro = self.send({"type": "http.response.body", "body": line, "more_body": True})
        try:  # one step: a coroutine that returns gives `_DONE`, with no StopIteration raised
            waiting = next(coro.__await__(), _DONE)
        except Exception as exc:  # as the task's own write would have raised it
            failed: asyncio.Future[None] = asyncio.get_running_loop().create_future()
            failed.set_exception(exc)
            self.pending = failed
            return False  # queued: the task wakes, and its next write raises `exc`
        if waiting is _DONE:
            return True
        self.pending = asyncio.ensure_future(_resumed(coro, waiting))
        return True


class WatchPush(_Out):
    """A watch's writer made before its stream (`stream_watch(push=...)`), so that it can be
    offered to the storage as the sink of a watch whose events are written as they come (JSON
    objects, no shape per watcher): `storage.subscriber.offer_push(watcher, push)`."""

    def __init__(self) -> None:
        super().__init__(None)


@types.coroutine
def _suspended(coro: Coroutine[Any, Any, None], waiting: Any) -> Generator[Any, None, None]:
    """Go on with `coro`, driven by hand until it yielded `waiting` (the future it waits for,
    or None for a bare yield): this generator yields it to its task, which resumes it when
    `waiting` is done, then hands over to `coro` itself."""
    try:
        yield waiting
    except BaseException:
        coro.close()
        raise
    yield from coro


async def _resumed(coro: Coroutine[Any, Any, None], waiting: Any) -> None:
    await _suspended(coro, waiting)


async def _wait_disconnect(receive: Receive) -> None:
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return


async def _bookmarks(out: _Out, bookmark: Callable[[str], Object], interval: float) -> None:
    while True:
        await asyncio.sleep(interval)
        if out.sent_rv or out.rv:
            await out.flush()
            line = orjson.dumps({"type": "BOOKMARK", "object": bookmark(out.sent_rv)})
            await out.write(line + b"\n")


async def stream_watch(
    events: AsyncIterator[WatchEvent],
    send: Send,
    receive: Receive,
    *,
    transform: Callable[[Object], Object],
    bookmark: Callable[[str], Object] | None,
    duration: float | None,
    bookmark_interval: float = BOOKMARK_INTERVAL,
    body_send: Send | None = None,
    push: WatchPush | None = None,
) -> None:
    """Write `events` to the client until timeout or disconnect; `transform` shapes objects
    (Table, PartialObjectMetadata or identity); `bookmark(rv)` makes a bookmark object.

    The response start goes through `send` (the middleware's wrappers see the status and
    add headers); the body messages, when `body_send` is given (the server's own send, from
    outside those wrappers: `request.context.RAW_SEND`), go straight to it: per watcher and
    event one coroutine frame less, and nothing a wrapper does per body message is lost (the
    response middleware records status and duration from the start and the end, not per
    chunk, as upstream's WATCH metrics are taken when the request ends).

    `push`, when given, was offered to the storage for these events
    (`storage.subscriber.offer_push`), and `transform` is the identity: while this task waits
    for events, the storage's fan-out may write them through it instead (`_Out.__call__`)."""
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
    task = asyncio.current_task()
    assert task is not None
    stopped = False

    def stop(_: object = None) -> None:  # the timeout, or the client went away
        nonlocal stopped
        if not stopped:
            stopped, out.pushing = True, False
            task.cancel()

    if body_send is not None:
        send = body_send
    out = _Out(send) if push is None else push
    out.send = send
    out.direct = None if body_send is None else chunk_writer(body_send)
    out.pushing = push is not None and inspect.iscoroutinefunction(send)  # driven by hand
    helpers = [asyncio.ensure_future(_wait_disconnect(receive))]
    helpers[0].add_done_callback(stop)
    if bookmark is not None:
        helpers.append(asyncio.ensure_future(_bookmarks(out, bookmark, bookmark_interval)))
    timer = loop.call_later(duration, stop)
    frames = FRAMES
    try:
        async for event in events:
            obj = event.object
            if event.type in ("ERROR", "BOOKMARK"):
                out.chunks.append(orjson.dumps({"type": event.type, "object": obj}) + b"\n")
                if event.type == "ERROR":
                    break
            else:
                out.rv = str(obj.get("metadata", {}).get("resourceVersion", out.rv))
                shaped = transform(obj)
                out.chunks.append(frames.line(event.type, obj) if shaped is obj else
                                  orjson.dumps({"type": event.type, "object": shaped}) + b"\n")
            if more_queued():
                out.flush_when_idle()
            else:
                await out.flush()
        await out.flush()
    except asyncio.CancelledError:
        if not stopped:
            raise
        task.uncancel()  # our own stop: the stream ends normally
    except Exception:
        with contextlib.suppress(Exception):
            await out.flush()  # what came before the error, then the error itself
        raise
    finally:
        stopped, out.pushing = True, False  # from here on, a late disconnect or timeout
        # cancels nothing, and nothing is pushed
        timer.cancel()
        for helper in (*helpers, *out._flushes, *([out.pending] if out.pending else [])):
            helper.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await helper
        closer = getattr(events, "aclose", None)
        if closer is not None:
            with contextlib.suppress(Exception):
                await closer()
        with contextlib.suppress(Exception):
            await send({"type": "http.response.body", "body": b"", "more_body": False})
