"""The storage's side of the push path (`storage.subscriber`): an idle subscriber's events go
to its sink; anything queued first keeps every later event queued until the task took it."""

import asyncio

import pytest

from k8s_aggapi.storage import MemoryStorage
from k8s_aggapi.storage.cacher import Cacher
from k8s_aggapi.storage.subscriber import Guard, forward_push, offer_push, take_push


def _obj(name):
    return {"metadata": {"name": name, "namespace": "n"}}


async def _settle():
    for _ in range(5):
        await asyncio.sleep(0)


class Watch:
    """A watch of `storage` with a sink that takes events (or declines them: `accept`)."""

    def __init__(self, storage, sink_for=None):
        self.pushed: list[str] = []
        self.queued: list[str] = []
        self.decline = 0  # events the sink says no to (its writer busy), from the next
        offer_push(sink_for or storage, self.sink)
        self.events = storage.watch("/g/r/n/", after_revision=0)
        self.task = asyncio.ensure_future(self._run())

    def sink(self, event):
        if self.decline:
            self.decline -= 1
            return False
        self.pushed.append(event.object["metadata"]["name"])
        return True

    async def _run(self):
        async for event in self.events:
            self.queued.append(event.type if event.type == "BOOKMARK"
                               else event.object["metadata"]["name"])

    async def stop(self):
        self.task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await self.task


@pytest.mark.parametrize("kind", ["memory", "cacher"])
async def test_an_idle_watch_is_pushed_to_and_a_queued_event_is_never_overtaken(kind):
    memory = MemoryStorage()
    storage = memory if kind == "memory" else Cacher(memory)
    watch = Watch(storage)
    await _settle()
    await storage.create("/g/r/n/a", _obj("a"))
    await _settle()
    assert (watch.pushed, watch.queued) == (["a"], [])
    watch.decline = 1  # the writer is busy: b is queued ...
    await storage.create("/g/r/n/b", _obj("b"))
    await storage.create("/g/r/n/c", _obj("c"))  # ... and so is c, before the task ran
    await _settle()
    assert (watch.pushed, watch.queued) == (["a"], ["b", "c"])
    await storage.create("/g/r/n/d", _obj("d"))  # idle again
    await _settle()
    assert (watch.pushed, watch.queued) == (["a", "d"], ["b", "c"])
    await watch.stop()
    if isinstance(storage, Cacher):
        assert storage.stats() == {"/g/r/": 0}
        await storage.stop()


async def test_a_progress_bookmark_queued_keeps_the_next_event_behind_it():
    storage = MemoryStorage()
    watch = Watch(storage)
    await _settle()
    await storage.request_progress()  # a BOOKMARK, queued (never pushed)
    await storage.create("/g/r/n/a", _obj("a"))
    await _settle()
    assert (watch.pushed, watch.queued) == ([], ["BOOKMARK", "a"])
    await watch.stop()


async def test_a_sink_that_raises_sends_the_event_the_queued_way(caplog):
    storage = MemoryStorage()
    watch = Watch(storage)

    def broken(event):
        raise RuntimeError("sink bug")

    await _settle()
    subscriber = next(iter(storage._watchers))
    subscriber.sink = broken
    await storage.create("/g/r/n/a", _obj("a"))
    await _settle()
    assert watch.queued == ["a"] and "watch push" in caplog.text
    await watch.stop()


async def test_an_offer_for_another_object_is_not_taken():
    storage = MemoryStorage()
    watch = Watch(storage, sink_for=object())  # offered to a layer that did not pass it on
    await _settle()
    await storage.create("/g/r/n/a", _obj("a"))
    await _settle()
    assert (watch.pushed, watch.queued) == ([], ["a"])
    await watch.stop()


def test_a_guard_is_asked_once_per_event_and_sends_the_rest_the_queued_way():
    asked: list[str] = []

    def keep(event):
        asked.append(event)
        return event != "converted"

    guard = Guard(keep)
    got: list[str] = []
    sinks = []
    for _ in range(3):  # three watchers behind one layer
        offer_push("layer", lambda e: got.append(e) or True)
        forward_push("layer", "inner", guard)
        sinks.append(take_push("inner"))
    assert [s("plain") for s in sinks] == [True, True, True]
    assert [s("converted") for s in sinks] == [False, False, False]
    assert asked == ["plain", "converted"] and got == ["plain"] * 3
    assert take_push("inner") is None  # taken once
