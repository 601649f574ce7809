"""The event loop a server runs on: uvloop where it is installed (uvicorn's `loop="auto"`),
asyncio's own loop otherwise or when asked for. `run()` is what `server.main` calls.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
LOOPS = ("auto", "asyncio", "uvloop")
LoopFactory = Callable[[], asyncio.AbstractEventLoop]


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


def run(main: Coroutine[Any, Any, T], *, loop: str = "auto") -> T:
    """Run `main` to completion on a fresh loop of kind `loop`, then close the loop."""
    with asyncio.Runner(loop_factory=loop_factory(loop)) as runner:
        return runner.run(main)
