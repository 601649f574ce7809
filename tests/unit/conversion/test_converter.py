"""KindConverter and ConvertingStorage on a toy kind: v2 is the hub, v1 has `size` as a string."""

import pytest

from k8s_aggapi import errors
from k8s_aggapi.conversion import ConvertingStorage, KindConverter, VersionConversion
from k8s_aggapi.storage import MemoryStorage


def v1_to_hub(obj):
    return {**obj, "spec": {"replicas": int(obj["spec"]["size"])}}


def hub_to_v1(obj):
    return {**obj, "spec": {"size": str(obj["spec"]["replicas"])}}


THINGS = KindConverter("example.com", "Thing", "v2",
                       {"v1": VersionConversion(v1_to_hub, hub_to_v1)})


def thing(version, spec):
    return {"apiVersion": f"example.com/{version}", "kind": "Thing",
            "metadata": {"name": "t", "resourceVersion": "3"}, "spec": spec}


def test_through_the_hub():
    hub = THINGS.convert(thing("v1", {"size": "2"}), "v2")
    assert hub == thing("v2", {"replicas": 2})
    assert THINGS.convert(hub, "v1") == thing("v1", {"size": "2"})
    same = thing("v2", {"replicas": 1})
    assert THINGS.convert(same, "v2") is same


def test_unknown_version_is_an_internal_error():
    with pytest.raises(errors.InternalError):
        THINGS.convert(thing("v9", {}), "v2")


def test_the_hub_has_no_conversion_of_its_own():
    with pytest.raises(ValueError, match="needs no conversion"):
        KindConverter("example.com", "Thing", "v1", {"v1": VersionConversion(dict, dict)})


async def test_storage_keeps_the_storage_version_and_reads_any():
    backend = MemoryStorage()
    storage = ConvertingStorage(backend, THINGS, "v1")
    created = await storage.create("/k/a", thing("v2", {"replicas": 4}))
    assert created["apiVersion"] == "example.com/v2" and created["spec"] == {"replicas": 4}
    raw = await backend.get("/k/a")
    assert raw["apiVersion"] == "example.com/v1" and raw["spec"] == {"size": "4"}
    # an object written in the hub before the storage version was v1 reads the same
    await backend.create("/k/b", thing("v2", {"replicas": 5}))
    listed = await storage.list("/k/")
    assert [o["spec"] for o in listed.items] == [{"replicas": 4}, {"replicas": 5}]


async def test_storage_watch_converts_and_closes_the_backend_watch():
    backend = MemoryStorage()
    storage = ConvertingStorage(backend, THINGS, "v1")
    await storage.create("/k/a", thing("v2", {"replicas": 1}))
    events = storage.watch("/k/", after_revision=0)
    event = await anext(events)
    assert event.type == "ADDED" and event.object["spec"] == {"replicas": 1}
    await events.aclose()
