import asyncio
import logging

import pytest

from k8s_aggapi.storage import Conflict, Expired, KeyExists, KeyNotFound, MemoryStorage


async def test_crud_and_revisions():
    s = MemoryStorage()
    a = await s.create("/g/r/a", {"metadata": {"name": "a"}})
    assert a["metadata"]["resourceVersion"] == "1"
    with pytest.raises(KeyExists):
        await s.create("/g/r/a", {"metadata": {}})
    b = await s.update("/g/r/a", {"metadata": {"name": "a"}, "x": 1}, expected_revision=1)
    assert b["metadata"]["resourceVersion"] == "2"
    with pytest.raises(Conflict):
        await s.update("/g/r/a", {"metadata": {}}, expected_revision=1)
    gone = await s.delete("/g/r/a")
    assert gone["metadata"]["resourceVersion"] == "3"
    with pytest.raises(KeyNotFound):
        await s.delete("/g/r/a")
    assert await s.get("/g/r/a") is None


async def test_list_prefix_and_pages():
    s = MemoryStorage()
    for name in ["c", "a", "b", "d"]:
        await s.create(f"/g/r/ns/{name}", {"metadata": {"name": name}})
    await s.create("/g/r/other/z", {"metadata": {"name": "z"}})
    page = await s.list("/g/r/ns/", limit=3)
    assert [o["metadata"]["name"] for o in page.items] == ["a", "b", "c"]
    assert page.remaining == 1
    rest = await s.list("/g/r/ns/", start=page.next_key, limit=3)
    assert [o["metadata"]["name"] for o in rest.items] == ["d"]
    assert rest.remaining == 0
    assert len((await s.list("/g/r/")).items) == 5


async def test_watch_replays_then_streams():
    s = MemoryStorage()
    await s.create("/g/r/a", {"metadata": {"name": "a"}})
    events = s.watch("/g/r/", after_revision=0)
    first = await anext(events)
    assert (first.type, first.revision) == ("ADDED", 1)
    task = asyncio.ensure_future(anext(events))
    await asyncio.sleep(0)
    await s.create("/g/other/b", {"metadata": {"name": "b"}})
    await s.delete("/g/r/a")
    event = await asyncio.wait_for(task, 1)
    assert event.type == "DELETED"
    await events.aclose()


async def test_watch_too_old_revision_expires():
    s = MemoryStorage(history=2)
    for i in range(5):
        await s.create(f"/g/r/{i}", {"metadata": {}})
    with pytest.raises(Expired) as err:
        await anext(s.watch("/g/r/", after_revision=1))
    assert str(err.value) == "too old resource version: 1 (3)"


async def test_a_watcher_that_never_reads_is_ended_and_resumes_without_loss(caplog):
    caplog.set_level(logging.INFO, "k8s_aggapi.storage")
    s = MemoryStorage(watch_queue_length=3)
    slow = s.watch("/g/r/", after_revision=0)
    waiting = asyncio.ensure_future(anext(slow))  # takes one event, then never reads again
    got: list[int] = []

    async def consume():
        async for event in s.watch("/g/r/", after_revision=0):
            got.append(event.revision)

    reader = asyncio.ensure_future(consume())
    await asyncio.sleep(0)
    for i in range(10):
        await s.create(f"/g/r/{i}", {"metadata": {}})
        await asyncio.sleep(0)
        assert all(w.queue.qsize() <= 3 for w in s._watchers)
    assert got == list(range(1, 11))  # a reader that keeps up is not affected
    assert len(s._watchers) == 1
    assert ("Forcing watcher close due to unresponsiveness: key: '/g/r/'. "
            "len(queue) = 3, cap(queue) = 3") in caplog.text
    # What was queued is delivered, then the stream ends.
    delivered = [(await waiting).revision] + [e.revision async for e in slow]
    assert delivered == [1, 2, 3, 4]
    # A client that reconnects from its last resourceVersion misses nothing.
    resumed = s.watch("/g/r/", after_revision=delivered[-1])
    assert [(await anext(resumed)).revision for _ in range(6)] == list(range(5, 11))
    await resumed.aclose()
    reader.cancel()
    with pytest.raises(asyncio.CancelledError):
        await reader


def test_the_watch_queue_length_must_be_positive():
    with pytest.raises(ValueError, match="watch_queue_length"):
        MemoryStorage(watch_queue_length=0)


async def test_prefix_list_holds_keys_above_the_basic_plane():
    # U+1F600 sorts above any "\uffff" sentinel: the prefix range must still hold it
    s = MemoryStorage()
    for ns in ["default", "\U0001f600", "\uffff", "\U0010ffff"]:
        await s.create(f"/g/r/{ns}/a", {"metadata": {"name": "a", "namespace": ns}})
    await s.create("/g/r0", {"metadata": {"name": "outside"}})
    everywhere = await s.list("/g/r/")
    assert [o["metadata"]["namespace"] for o in everywhere.items] == [
        "default", "\uffff", "\U0001f600", "\U0010ffff"]
    only = await s.list("/g/r/\U0001f600/")
    assert [o["metadata"]["namespace"] for o in only.items] == ["\U0001f600"]
    pages = await s.list("/g/r/", limit=3)
    assert pages.remaining == 1 and pages.next_key == "/g/r/\U0010ffff/a"
    assert len((await s.list("")).items) == 5
