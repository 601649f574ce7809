"""One watch subscriber of a storage fan-out (the memory backend's and the watch cache's)."""

from __future__ import annotations

import asyncio

from k8s_aggapi.storage.interface import Event


class Subscriber:
    """One subscriber: its key prefix, its bounded queue, and whether it was ended."""

    __slots__ = ("ended", "prefix", "queue")

    def __init__(self, prefix: str, size: int) -> None:
        self.prefix = prefix
        self.queue: asyncio.Queue[Event] = asyncio.Queue(size)
        self.ended = False
