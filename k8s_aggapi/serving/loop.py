"""The event loop a server runs on: uvloop where it is installed (uvicorn's `loop="auto"`),
asyncio's own loop otherwise or when asked for, and the cyclic garbage collector's pace while
it runs. `run()` is what `server.main` calls.

The interpreter's default pace (a young collection every 700 net allocations of containers)
suits a short script, not a server that keeps hundreds of thousands of objects (every stored
object, in the watch cache and the memory storage, is a few dicts and lists): the requests'
short-lived objects still alive at each young collection are promoted, the oldest generation
fills with them, and full collections, each walking every object the server keeps, come every
few thousand writes and take longer the more it stores (measured in docs/benchmarks.md: 44 to
430 ms each between 5,000 and 40,000 flunders, a third of a create's CPU). With a young
generation of 10,000 a request's objects are mostly gone before a collection sees them, and a
full collection is rare. Nothing in the request path makes reference cycles on purpose, so
what waits longer for collection is little.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
LOOPS = ("auto", "asyncio", "uvloop")
LoopFactory = Callable[[], asyncio.AbstractEventLoop]
GCThresholds = tuple[int, int, int]
GC_THRESHOLDS: GCThresholds = (10_000, 10, 10)  # `gc.set_threshold` while a server runs


def loop_factory(name: str = "auto") -> LoopFactory:
    """uvloop's loop for "uvloop" (ImportError without it) and for "auto" when importable;
    asyncio's for "asyncio" and as the fallback of "auto"."""
    if name not in LOOPS:
        raise ValueError(f"event loop {name!r} is not one of {', '.join(LOOPS)}")
    if name == "asyncio":
        return asyncio.new_event_loop
    try:
        import uvloop
    except ImportError:
        if name == "uvloop":
            raise
        return asyncio.new_event_loop
    factory: LoopFactory = uvloop.new_event_loop
    return factory


def loop_name(loop: asyncio.AbstractEventLoop) -> str:
    return "uvloop" if type(loop).__module__.startswith("uvloop") else "asyncio"


def run(main: Coroutine[Any, Any, T], *, loop: str = "auto",
        gc_thresholds: GCThresholds | None = GC_THRESHOLDS) -> T:
    """Run `main` to completion on a fresh loop of kind `loop`, then close the loop; the
    garbage collector's thresholds are `gc_thresholds` meanwhile (None: as they are), then
    put back."""
    factory = loop_factory(loop)
    before = gc.get_threshold()
    if gc_thresholds is not None:
        gc.set_threshold(*gc_thresholds)
    try:
        with asyncio.Runner(loop_factory=factory) as runner:
            return runner.run(main)
    finally:
        gc.set_threshold(*before)
