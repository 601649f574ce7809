"""The storage conformance suite: what every `Storage` backend (memory, etcd, ...) must do.

`Conformance(factory, compact)` has one async check per behaviour; `CHECKS` names them, so a
test module parametrizes over it. Nothing here assumes one backend: revisions only increase.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from k8s_aggapi.storage.interface import (
    Conflict,
    Event,
    Expired,
    FutureRevision,
    KeyExists,
    KeyNotFound,
    Object,
    Storage,
)
from k8s_aggapi.storage.update import DELETE, Delete, guaranteed_update

Factory = Callable[[], Awaitable[Storage]]
Compact = Callable[[Storage, int], Awaitable[None]]
WAIT = 5.0  # seconds for one awaited watch event

CHECKS = (
    "create_and_get", "update_compare_and_swap", "delete", "revisions_increase",
    "list_prefix_in_key_order", "list_pages", "read_at_revision", "pages_at_one_revision",
    "future_revision", "expired_reads", "watch_from_revision", "watch_expired",
    "guaranteed_update_under_concurrency", "guaranteed_update_deletes_and_refuses",
)


def _obj(name: str, **fields: object) -> Object:
    return {"metadata": {"name": name}, **fields}


def _rv(obj: Object) -> int:
    return int(obj["metadata"]["resourceVersion"])


def _names(items: list[Object]) -> list[str]:
    return [o["metadata"]["name"] for o in items]


async def _next(events: AsyncIterator[Event]) -> Event:
    return await asyncio.wait_for(anext(events), WAIT)


class Conformance:
    """`factory()` gives a fresh, empty backend; `compact(storage, r)` forgets before `r`."""

    def __init__(self, factory: Factory, compact: Compact) -> None:
        self.factory, self.compact = factory, compact

    async def run(self, name: str) -> None:
        await getattr(self, name)(await self.factory())

    async def create_and_get(self, s: Storage) -> None:
        created = await s.create("/c/a", _obj("a", x=1))
        assert created["x"] == 1
        assert _rv(created) > 0
        assert await s.get("/c/a") == created
        assert await s.get("/c/missing") is None
        try:
            await s.create("/c/a", _obj("a"))
            raise AssertionError("a second create of one key must raise KeyExists")
        except KeyExists:
            pass

    async def update_compare_and_swap(self, s: Storage) -> None:
        created = await s.create("/u/a", _obj("a"))
        updated = await s.update("/u/a", _obj("a", x=2), expected_revision=_rv(created))
        assert updated["x"] == 2
        assert _rv(updated) > _rv(created)
        for wrong in (_rv(created), _rv(updated) + 1000):
            try:
                await s.update("/u/a", _obj("a", x=3), expected_revision=wrong)
                raise AssertionError("an update at a stale revision must raise Conflict")
            except Conflict:
                pass
        assert (await s.get("/u/a")) == updated
        last = await s.update("/u/a", _obj("a", x=4), expected_revision=None)
        assert last["x"] == 4
        try:
            await s.update("/u/missing", _obj("m"), expected_revision=None)
            raise AssertionError("an update of a missing key must raise KeyNotFound")
        except KeyNotFound:
            pass

    async def delete(self, s: Storage) -> None:
        created = await s.create("/d/a", _obj("a", x=1))
        try:
            await s.delete("/d/a", expected_revision=_rv(created) + 1000)
            raise AssertionError("a delete at a stale revision must raise Conflict")
        except Conflict:
            pass
        gone = await s.delete("/d/a", expected_revision=_rv(created))
        assert gone["x"] == 1
        assert _rv(gone) > _rv(created)
        assert await s.get("/d/a") is None
        try:
            await s.delete("/d/a")
            raise AssertionError("a delete of a missing key must raise KeyNotFound")
        except KeyNotFound:
            pass

    async def revisions_increase(self, s: Storage) -> None:
        seen = [await s.current_revision()]
        seen.append(_rv(await s.create("/r/a", _obj("a"))))
        seen.append(_rv(await s.create("/r/b", _obj("b"))))
        seen.append(_rv(await s.update("/r/a", _obj("a", x=1), expected_revision=None)))
        seen.append(_rv(await s.delete("/r/b")))
        assert seen == sorted(set(seen)), seen
        assert await s.current_revision() >= seen[-1]

    async def list_prefix_in_key_order(self, s: Storage) -> None:
        # code point order, which is UTF-8 byte order (etcd's): non-BMP keys sort last
        names = ["z", "a", "\uffff", "\U0001f600", "\U0010ffff", "é", "A", "a\U0001f600"]
        for name in names:
            await s.create(f"/k/ns/{name}", _obj(name))
        for outside in ("/k/ns", "/k/nt/a", "/k/n/a", "/k/ns0/a"):
            await s.create(outside, _obj("outside"))
        listed = await s.list("/k/ns/")
        assert _names(listed.items) == sorted(names), _names(listed.items)
        assert listed.remaining == 0
        assert listed.revision >= await s.current_revision()

    async def list_pages(self, s: Storage) -> None:
        for name in "edcba":
            await s.create(f"/p/{name}", _obj(name))
        first = await s.list("/p/", limit=2)
        assert _names(first.items) == ["a", "b"]
        assert first.remaining == 3
        second = await s.list("/p/", start=first.next_key, limit=2)
        assert _names(second.items) == ["c", "d"]
        assert second.remaining == 1
        last = await s.list("/p/", start=second.next_key, limit=2)
        assert _names(last.items) == ["e"]
        assert last.remaining == 0

    async def read_at_revision(self, s: Storage) -> None:
        a = await s.create("/h/a", _obj("a", v=1))
        await s.create("/h/b", _obj("b", v=1))
        at = await s.current_revision()
        await s.update("/h/a", _obj("a", v=2), expected_revision=_rv(a))
        await s.delete("/h/b")
        await s.create("/h/c", _obj("c", v=1))
        past = await s.list("/h/", at_revision=at)
        assert past.revision == at
        assert [(o["metadata"]["name"], o["v"]) for o in past.items] == [("a", 1), ("b", 1)]
        assert (await s.get("/h/a", at_revision=at)) == a
        assert await s.get("/h/c", at_revision=at) is None
        assert _names((await s.list("/h/")).items) == ["a", "c"]

    async def pages_at_one_revision(self, s: Storage) -> None:
        for name in "abcd":
            await s.create(f"/o/{name}", _obj(name))
        first = await s.list("/o/", limit=2)
        await s.delete("/o/c")
        await s.create("/o/bb", _obj("bb"))
        rest = await s.list("/o/", start=first.next_key, limit=10, at_revision=first.revision)
        assert _names(first.items + rest.items) == ["a", "b", "c", "d"]
        assert rest.revision == first.revision

    async def future_revision(self, s: Storage) -> None:
        await s.create("/f/a", _obj("a"))
        ahead = await s.current_revision() + 1000
        for read in (s.get("/f/a", at_revision=ahead), s.list("/f/", at_revision=ahead)):
            try:
                await read
                raise AssertionError("a read above the current revision must fail")
            except FutureRevision:
                pass

    async def expired_reads(self, s: Storage) -> None:
        first = await s.create("/e/a", _obj("a"))
        for i in range(3):
            await s.update("/e/a", _obj("a", v=i), expected_revision=None)
        await self.compact(s, await s.current_revision())
        for read in (s.get("/e/a", at_revision=_rv(first)),
                     s.list("/e/", at_revision=_rv(first))):
            try:
                await read
                raise AssertionError("a read below the compacted revision must raise Expired")
            except Expired:
                pass
        assert _names((await s.list("/e/", at_revision=await s.current_revision())).items) == [
            "a"]

    async def watch_from_revision(self, s: Storage) -> None:
        a = await s.create("/w/a", _obj("a"))
        await s.update("/w/a", _obj("a", v=2), expected_revision=_rv(a))
        await s.delete("/w/a")
        await s.create("/wx/other", _obj("other"))
        events = aiter(s.watch("/w/", after_revision=_rv(a)))
        try:
            got = [await _next(events), await _next(events)]
            assert [(e.type, e.key) for e in got] == [("MODIFIED", "/w/a"), ("DELETED", "/w/a")]
            assert got[0].revision < got[1].revision
            assert got[0].object["v"] == 2
            live = await s.create("/w/b", _obj("b"))
            event = await _next(events)
            assert (event.type, event.key, event.revision) == ("ADDED", "/w/b", _rv(live))
        finally:
            await events.aclose()  # type: ignore[attr-defined]

    async def watch_expired(self, s: Storage) -> None:
        a = await s.create("/x/a", _obj("a"))
        for i in range(3):
            await s.update("/x/a", _obj("a", v=i), expected_revision=None)
        await self.compact(s, await s.current_revision())
        events = aiter(s.watch("/x/", after_revision=_rv(a)))
        try:
            await _next(events)
            raise AssertionError("a watch from before the compacted revision must raise Expired")
        except Expired:
            pass
        finally:
            await events.aclose()  # type: ignore[attr-defined]

    async def guaranteed_update_under_concurrency(self, s: Storage) -> None:
        await s.create("/g/n", _obj("n", count=0))

        async def increment(current: Object) -> Object:
            await asyncio.sleep(0)  # let the other writers read the same revision
            return {**current, "count": current["count"] + 1}

        results = await asyncio.gather(*(
            guaranteed_update(s, "/g/n", increment) for _ in range(20)))
        assert sorted(o["count"] for o, _ in results) == list(range(1, 21))
        assert (await s.get("/g/n") or {})["count"] == 20

    async def guaranteed_update_deletes_and_refuses(self, s: Storage) -> None:
        created = await s.create("/g/a", _obj("a"))

        async def refuse(current: Object) -> Object | Delete:
            raise LookupError("refused")

        try:
            await guaranteed_update(s, "/g/a", refuse)
            raise AssertionError("an update function's error must reach the caller")
        except LookupError:
            pass

        async def same(current: Object) -> Object | Delete:
            return current

        assert await guaranteed_update(s, "/g/a", same) == (created, False)
        assert await s.current_revision() == _rv(created)

        async def remove(current: Object) -> Object | Delete:
            return DELETE

        _, deleted = await guaranteed_update(s, "/g/a", remove)
        assert deleted
        assert await s.get("/g/a") is None
        try:
            await guaranteed_update(s, "/g/a", same)
            raise AssertionError("a guaranteed update of a missing key must raise KeyNotFound")
        except KeyNotFound:
            pass
