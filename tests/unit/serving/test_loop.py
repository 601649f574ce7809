"""The event-loop choice: uvloop when installed, asyncio's loop as the fallback or on request."""

from __future__ import annotations

import asyncio
import gc
import sys
from typing import Any

import pytest
import uvloop

from k8s_aggapi.serving.loop import GC_THRESHOLDS, loop_factory, loop_name, run


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


async def thresholds() -> tuple[int, ...]:
    return gc.get_threshold()


@pytest.mark.parametrize(("given", "expected"), [
    ({}, GC_THRESHOLDS), ({"gc_thresholds": (50_000, 5, 5)}, (50_000, 5, 5)),
    ({"gc_thresholds": None}, (123, 4, 5))])
def test_the_collectors_pace_while_running_then_put_back(
        given: dict[str, Any], expected: tuple[int, ...]) -> None:
    before = gc.get_threshold()
    gc.set_threshold(123, 4, 5)
    try:
        assert run(thresholds(), **given) == expected
        assert gc.get_threshold() == (123, 4, 5)
    finally:
        gc.set_threshold(*before)


def test_the_collectors_pace_is_put_back_when_main_fails() -> None:
    async def fails() -> None:
        assert gc.get_threshold() == GC_THRESHOLDS
        raise RuntimeError("boom")

    before = gc.get_threshold()
    with pytest.raises(RuntimeError, match="boom"):
        run(fails())
    assert gc.get_threshold() == before
