"""The watch cache over memory: the conformance suite unchanged, plus what the cache adds."""

import asyncio

import pytest

from k8s_aggapi.storage import MemoryStorage, Storage
from k8s_aggapi.storage.cacher import Cacher, resource_prefix
from k8s_aggapi.storage.conformance import CHECKS, Conformance


@pytest.mark.parametrize("check", CHECKS)
async def test_cacher_over_memory_conforms(check):
    made: list[Cacher] = []

    async def factory() -> Storage:
        made.append(Cacher(MemoryStorage()))
        return made[-1]

    async def compact(storage: Storage, revision: int) -> None:
        assert isinstance(storage, Cacher)
        assert isinstance(storage.backend, MemoryStorage)
        await storage.backend.compact(revision)

    try:
        await Conformance(factory, compact).run(check)
    finally:
        for c in made:
            await c.stop()


def test_resource_prefix():
    assert resource_prefix("/g/r/ns/") == "/g/r/"
    assert resource_prefix("/g/r/") == "/g/r/"
    assert resource_prefix("/w/") == "/w/"


class CountingMemory(MemoryStorage):
    def __init__(self) -> None:
        super().__init__()
        self.watches = 0
        self.lists = 0

    def watch(self, prefix, *, after_revision):
        self.watches += 1
        return super().watch(prefix, after_revision=after_revision)

    async def list(self, prefix, **kw):
        self.lists += 1
        return await super().list(prefix, **kw)


def _obj(name, ns="n", **fields):
    return {"metadata": {"name": name, "namespace": ns}, **fields}


async def test_many_watchers_share_one_backend_watch():
    backend = CountingMemory()
    cacher = Cacher(backend)
    await cacher.create("/g/r/n/a", _obj("a"))
    listed = await cacher.list("/g/r/")
    watches = [aiter(cacher.watch("/g/r/n/" if i % 2 else "/g/r/", after_revision=listed.revision))
               for i in range(50)]
    first = [asyncio.ensure_future(anext(w)) for w in watches]
    await asyncio.sleep(0)
    created = await cacher.create("/g/r/n/b", _obj("b"))
    events = await asyncio.wait_for(asyncio.gather(*first), 5)
    assert {(e.type, e.key, e.revision) for e in events} == {
        ("ADDED", "/g/r/n/b", int(created["metadata"]["resourceVersion"]))}
    assert backend.watches == 1
    assert cacher.stats() == {"/g/r/": 50}
    for w in watches:
        await w.aclose()
    await cacher.stop()


async def test_lists_at_the_latest_revision_come_from_memory_and_see_every_write():
    backend = CountingMemory()
    cacher = Cacher(backend)
    await cacher.list("/g/r/")
    assert backend.lists == 1
    for i in range(20):
        await cacher.create(f"/g/r/n/o{i:02}", _obj(f"o{i:02}"))
        await cacher.create(f"/g/other/n/o{i:02}", _obj(f"o{i:02}"))  # another resource
        listed = await cacher.list("/g/r/n/")
        assert len(listed.items) == i + 1  # read-your-writes through the cache
    assert backend.lists == 1
    page = await cacher.list("/g/r/", limit=5)
    assert page.remaining == 15
    rest = await cacher.list("/g/r/", start=page.next_key, at_revision=page.revision)
    assert len(page.items + rest.items) == 20
    await cacher.stop()


async def test_a_slow_watcher_is_ended_and_the_others_go_on():
    cacher = Cacher(MemoryStorage(), queue_length=2)
    listed = await cacher.list("/g/r/")
    slow = aiter(cacher.watch("/g/r/", after_revision=listed.revision))
    fast = aiter(cacher.watch("/g/r/", after_revision=listed.revision))
    slow_first = asyncio.ensure_future(anext(slow))
    fast_first = asyncio.ensure_future(anext(fast))
    await asyncio.sleep(0.01)  # both subscribed
    first = await cacher.create("/g/r/n/x0", _obj("x0"))
    assert (await asyncio.wait_for(fast_first, 5)).key == "/g/r/n/x0"
    for i in range(1, 6):
        await cacher.create(f"/g/r/n/x{i}", _obj(f"x{i}"))
        assert (await asyncio.wait_for(anext(fast), 5)).key == f"/g/r/n/x{i}"
    assert (await slow_first).revision == int(first["metadata"]["resourceVersion"])
    rest = [e.key async for e in slow]  # ended: what was queued, then the end
    assert rest == ["/g/r/n/x1", "/g/r/n/x2"]
    assert cacher.stats() == {"/g/r/": 1}
    await fast.aclose()
    await cacher.stop()


async def test_the_cache_keeps_the_backend_s_keys_not_names():
    backend = MemoryStorage()
    await backend.create("/g/r/n/key-a", {"metadata": {"name": "not-the-key"}})
    cacher = Cacher(backend)
    assert len((await cacher.list("/g/r/")).items) == 1
    await cacher.delete("/g/r/n/key-a")
    assert (await cacher.list("/g/r/")).items == []
    await cacher.stop()


async def test_resource_version_0_lists_the_cache_as_it_is():
    class Counting(MemoryStorage):
        revisions = 0

        async def current_revision(self):
            self.revisions += 1
            return await super().current_revision()

    backend = Counting()
    cacher = Cacher(backend)
    await cacher.create("/g/r/n/a", _obj("a"))
    first = await cacher.list_cached("/g/r/")
    assert [o["metadata"]["name"] for o in first.items] == ["a"]
    assert backend.revisions == 0  # no freshness round trip
    await cacher.list("/g/r/")
    assert backend.revisions == 1
    await cacher.stop()


class CountingGets(MemoryStorage):
    def __init__(self) -> None:
        super().__init__()
        self.gets = 0
        self.revisions = 0
        self.reading = asyncio.Event()  # set while a revision read is in flight
        self.hold = asyncio.Event()
        self.hold.set()

    async def get(self, key, *, at_revision=0):
        self.gets += 1
        return await super().get(key, at_revision=at_revision)

    async def current_revision(self):
        self.revisions += 1
        self.reading.set()
        await self.hold.wait()
        self.reading.clear()
        return await super().current_revision()


async def test_consistent_gets_come_from_memory_and_see_every_write():
    backend = CountingGets()
    cacher = Cacher(backend)
    for i in range(10):
        created = await cacher.create(f"/g/r/n/o{i}", _obj(f"o{i}", spec={"i": i}))
        got = await cacher.get(f"/g/r/n/o{i}")  # read-your-writes through the cache
        assert got == created
        updated = await cacher.update(f"/g/r/n/o{i}", {**created, "spec": {"i": -i}},
                                      expected_revision=None)
        assert (await cacher.get(f"/g/r/n/o{i}")) == updated
    assert await cacher.get("/g/r/n/missing") is None
    assert backend.gets == 0
    assert (await cacher.get("/g/r/n/o0", at_revision=1))["spec"] == {"i": 0}  # the past
    assert backend.gets == 1
    await cacher.stop()


async def test_concurrent_reads_share_revision_reads_never_an_older_one():
    backend = CountingGets()
    cacher = Cacher(backend)
    await cacher.create("/g/r/n/a", _obj("a"))
    await cacher.list("/g/r/")
    backend.revisions = 0
    backend.hold.clear()
    first = asyncio.ensure_future(cacher.get("/g/r/n/a"))
    await asyncio.wait_for(backend.reading.wait(), 5)  # a read is in flight
    # a write the in-flight read may not see: reads that begin now wait for the next read
    await backend.create("/g/r/n/b", _obj("b"))
    later = [asyncio.ensure_future(cacher.get("/g/r/n/b")) for _ in range(20)]
    await asyncio.sleep(0.01)
    backend.hold.set()
    assert (await asyncio.wait_for(first, 5))["metadata"]["name"] == "a"
    assert all(o is not None for o in await asyncio.wait_for(asyncio.gather(*later), 5))
    assert backend.revisions == 2  # one for the first, one shared by the twenty
    await cacher.stop()


async def test_resource_version_n_gets_wait_for_the_cache_or_say_too_large():
    from k8s_aggapi.storage.interface import FutureRevision

    cacher = Cacher(MemoryStorage(), fresh_timeout=0.2)
    created = await cacher.create("/g/r/n/a", _obj("a"))
    rv = int(created["metadata"]["resourceVersion"])
    assert await cacher.get_cached("/g/r/n/a", min_revision=rv) == created
    assert await cacher.get_cached("/g/r/n/a") == created
    with pytest.raises(FutureRevision):
        await cacher.get_cached("/g/r/n/a", min_revision=rv + 5)
    await cacher.stop()
