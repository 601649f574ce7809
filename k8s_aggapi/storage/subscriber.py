"""One watch subscriber of a storage fan-out (the memory backend's and the watch cache's)."""

from __future__ import annotations

import asyncio
import contextvars
import logging

from k8s_aggapi.storage.interface import Event

log = logging.getLogger("k8s_aggapi.storage")

MORE: contextvars.ContextVar[bool] = contextvars.ContextVar("k8s_aggapi_watch_more",
                                                            default=False)
"""Set by a watch as it yields an event: whether more are queued behind it, so the watch
endpoint (iterating in the same task) writes them together; a hint, never needed for
correctness (without it each event is written as it comes)."""


def more_queued() -> bool:
    return MORE.get()


class Subscriber:
    """One subscriber: its key prefix, its bounded queue, and whether it was ended."""

    __slots__ = ("ended", "prefix", "queue")

    def __init__(self, prefix: str, size: int) -> None:
        self.prefix = prefix
        self.queue: asyncio.Queue[Event] = asyncio.Queue(size)
        self.ended = False


def deliver(subscribers: set[Subscriber], event: Event) -> None:
    """Queue `event` for each subscriber whose prefix holds its key (a BOOKMARK for all). One
    whose queue is full is ended and removed: what is queued is still delivered, then its
    stream ends, and the client resumes from the last resourceVersion it saw (nothing lost)."""
    unresponsive = []
    for subscriber in subscribers:
        if event.type == "BOOKMARK" or event.key.startswith(subscriber.prefix):
            try:
                subscriber.queue.put_nowait(event)
            except asyncio.QueueFull:
                unresponsive.append(subscriber)
    for subscriber in unresponsive:
        log.info("Forcing watcher close due to unresponsiveness: key: %r. "
                 "len(queue) = %d, cap(queue) = %d", subscriber.prefix,
                 subscriber.queue.qsize(), subscriber.queue.maxsize)
        subscriber.ended = True
        subscribers.discard(subscriber)
