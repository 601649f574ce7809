"""The event loop a server runs on: uvloop where it is installed (uvicorn's `loop="auto"`),
asyncio's own loop otherwise or when asked for, and the cyclic garbage collector's pace while
it runs. `run()` is what `server.main` calls.

The interpreter's default pace (a young collection every 700 net allocations of containers, a
full one after every 10 middle ones once the oldest generation grew by a quarter) suits a
short script, not a server that keeps hundreds of thousands of objects (every stored object,
in the watch cache and the memory storage, is a few dicts and lists): a request's objects
still alive at each young collection are promoted, the oldest generation fills with them, and
full collections, each walking everything the server keeps, come every few thousand writes
and take longer the more it stores (in-process, 44 to 430 ms each between 5,000 and 40,000
flunders; a fifth of a create's CPU; docs/benchmarks.md). A young generation of 2,000
promotes fewer of them, and a full collection waits for 100 middle ones: none in 40,000
creates. Nothing in the request path makes reference cycles on purpose, so what waits longer
for collection is little.
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
GC_THRESHOLDS: GCThresholds = (2_000, 10, 100)  # `gc.set_threshold` while a server runs


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
