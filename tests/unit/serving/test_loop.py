"""The event-loop choice: uvloop when installed, asyncio's loop as the fallback or on request."""

from __future__ import annotations

import asyncio
import sys

import pytest
import uvloop

from k8s_aggapi.serving.loop import loop_factory, loop_name, run


async def running_loop() -> str:
    await asyncio.sleep(0)
    return loop_name(asyncio.get_running_loop())


@pytest.mark.parametrize(("name", "expected"),
                         [("auto", "uvloop"), ("uvloop", "uvloop"), ("asyncio", "asyncio")])
def test_run_uses_the_chosen_loop(name: str, expected: str) -> None:
    assert run(running_loop(), loop=name) == expected


def test_auto_falls_back_to_asyncio_without_uvloop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "uvloop", None)  # import uvloop now raises ImportError
    assert loop_factory("auto") is asyncio.new_event_loop
    assert run(running_loop()) == "asyncio"
    with pytest.raises(ImportError):
        loop_factory("uvloop")


def test_factories_and_unknown_names() -> None:
    assert loop_factory("uvloop") is uvloop.new_event_loop
    with pytest.raises(ValueError, match="event loop 'trio' is not one of auto, asyncio, uvloop"):
        loop_factory("trio")
