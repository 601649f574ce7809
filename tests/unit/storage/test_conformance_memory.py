import pytest

from k8s_aggapi.storage import Expired, MemoryStorage, Storage
from k8s_aggapi.storage.conformance import CHECKS, Conformance


async def memory() -> Storage:
    return MemoryStorage()


async def compact(storage: Storage, revision: int) -> None:
    assert isinstance(storage, MemoryStorage)
    await storage.compact(revision)


@pytest.mark.parametrize("check", CHECKS)
async def test_memory_storage_conforms(check):
    await Conformance(memory, compact).run(check)


async def test_the_history_bound_compacts_like_compact():
    # the last two writes are kept: reads at the revision before them are Expired
    s = MemoryStorage(history=2)
    first = await s.create("/b/a", {"metadata": {"name": "a"}})
    for i in range(3):
        await s.update("/b/a", {"metadata": {"name": "a"}, "v": i}, expected_revision=None)
    with pytest.raises(Expired):
        await s.get("/b/a", at_revision=int(first["metadata"]["resourceVersion"]))
    assert (await s.get("/b/a", at_revision=3))["v"] == 1


async def test_kept_versions_stay_bounded_by_the_history():
    s = MemoryStorage(history=8)
    for i in range(200):  # 400 writes of churn: each key created, then deleted
        await s.create(f"/churn/{i}", {"metadata": {"name": str(i)}})
        await s.delete(f"/churn/{i}")
    await s.create("/churn/keep", {"metadata": {"name": "keep"}})
    for i in range(200):
        await s.update("/churn/keep", {"metadata": {"name": "keep"}, "v": i},
                       expected_revision=None)
    kept = sum(len(v) for v in s._versions.values())
    assert kept <= 64 + 8 + 1, kept  # at most one sweep period plus the history
    assert (await s.list("/churn/")).items[0]["v"] == 199
