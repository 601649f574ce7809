"""One watch subscriber of a storage fan-out (the memory backend's and the watch cache's),
and the push path: a sink an idle subscriber's events are written through, with no queue put
and no task wake-up per subscriber and event."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Callable
from typing import NamedTuple

from k8s_aggapi.storage.interface import Event

log = logging.getLogger("k8s_aggapi.storage")

MORE: contextvars.ContextVar[bool] = contextvars.ContextVar("k8s_aggapi_watch_more",
                                                            default=False)
"""Set by a watch as it yields an event: whether more are queued behind it, so the watch
endpoint (iterating in the same task) writes them together; a hint, never needed for
correctness (without it each event is written as it comes)."""


def more_queued() -> bool:
    return MORE.get()


Sink = Callable[[Event], bool]
"""Writes one event to a watcher's client at once, as the watcher's own task would have
written it had it taken the event from its queue; False when it cannot now (the event then
goes to the queue). Called only while the watcher's task waits on an empty queue; never
raises."""


class _Offer(NamedTuple):
    source: object
    sink: Sink


_PUSH: contextvars.ContextVar[_Offer | None] = contextvars.ContextVar("k8s_aggapi_watch_push",
                                                                     default=None)


def offer_push(source: object, sink: Sink) -> None:
    """Offer `sink` to the watch that `source.watch(...)`, called next in this task, makes.
    Each layer between the endpoint and the storage's queue passes the offer on to the one it
    watches (`forward_push`) only when it yields what it is given, unchanged, so a layer that
    filters or converts, or that does not know of the offer, ends the push path there."""
    _PUSH.set(_Offer(source, sink))


def take_push(source: object) -> Sink | None:
    """The sink offered to `source`'s watch (once), or None."""
    offer = _PUSH.get()
    if offer is None or offer.source is not source:
        return None
    _PUSH.set(None)
    return offer.sink


class Guard:
    """A layer's test of the events it would yield unchanged (`keep`), asked once per event
    for all the watchers it passed an offer on for (the fan-out asks for each in a row)."""

    __slots__ = ("event", "keep", "ok")

    def __init__(self, keep: Callable[[Event], bool]) -> None:
        self.keep = keep
        self.event: Event | None = None
        self.ok = False


def forward_push(source: object, inner: object, guard: Guard | None = None) -> None:
    """Pass an offer made to `source` on to `inner`, whose events `source` yields as they
    are; an event `guard` does not keep goes the queued way (the layer would change it)."""
    sink = take_push(source)
    if sink is None:
        return
    if guard is not None:
        plain, keep = sink, guard.keep

        def sink(event: Event) -> bool:
            if event is not guard.event:
                guard.ok, guard.event = keep(event), event
            return guard.ok and plain(event)
    offer_push(inner, sink)


class Subscriber:
    """One subscriber: its key prefix, its bounded queue, whether it was ended, and for the
    push path its sink, whether its task waits on the empty queue (`idle`), and the revision
    of the last event it was given (`last`)."""

    __slots__ = ("ended", "idle", "last", "prefix", "queue", "sink")

    def __init__(self, prefix: str, size: int, sink: Sink | None = None) -> None:
        self.prefix = prefix
        self.queue: asyncio.Queue[Event] = asyncio.Queue(size)
        self.ended = False
        self.sink = sink
        self.idle = False
        self.last = 0

    async def get(self) -> Event:
        """The next queued event; with a sink, `idle` while the queue is empty (`deliver`
        then writes through the sink until it queues)."""
        queue = self.queue
        if self.sink is None or not queue.empty():
            return await queue.get()
        self.idle = True
        try:
            return await queue.get()
        finally:
            self.idle = False

    def put(self, event: Event) -> None:
        """Queue `event` (QueueFull when full); the task will wake: no push overtakes it."""
        self.queue.put_nowait(event)
        self.idle = False


def deliver(subscribers: set[Subscriber], event: Event) -> None:
    """Give `event` to each subscriber whose prefix holds its key (a BOOKMARK to all): through
    its sink when its task is idle (push), else into its queue. One whose queue is full is
    ended and removed: what is queued is still delivered, then its stream ends, and the
    client resumes from the last resourceVersion it saw (nothing lost)."""
    unresponsive = []
    bookmark = event.type == "BOOKMARK"
    for subscriber in subscribers:
        if bookmark or event.key.startswith(subscriber.prefix):
            if subscriber.idle and not bookmark and event.revision > subscriber.last:
                try:
                    pushed = subscriber.sink(event)  # type: ignore[misc]  # idle: has a sink
                except Exception:  # a sink's bug: this event goes the queued way
                    log.exception("watch push to %r failed", subscriber.prefix)
                    pushed = False
                if pushed:
                    subscriber.last = event.revision
                    continue
            try:
                subscriber.put(event)
            except asyncio.QueueFull:
                unresponsive.append(subscriber)
    for subscriber in unresponsive:
        log.info("Forcing watcher close due to unresponsiveness: key: %r. "
                 "len(queue) = %d, cap(queue) = %d", subscriber.prefix,
                 subscriber.queue.qsize(), subscriber.queue.maxsize)
        subscriber.ended = True
        subscribers.discard(subscriber)
