"""resourceVersion on get, and where a watch starts (legacy, sendInitialEvents true/false),
as upstream's storage and watch cache answer them."""

import asyncio

import orjson
import pytest
from starlette.testclient import TestClient

from examples.sample_apiserver.apis import wardle_group
from k8s_aggapi import errors
from k8s_aggapi.registry.rest import GetOptions, ListOptions, RequestContext
from k8s_aggapi.registry.store import Store
from k8s_aggapi.registry.watch import INITIAL_EVENTS_END
from k8s_aggapi.storage import MemoryStorage
from k8s_aggapi.testing import build_test_app

CTX = RequestContext("ns")
NS = "/apis/wardle.example.com/v1alpha1/namespaces/ns/flunders"


def flunder(name):
    return {"metadata": {"name": name}, "spec": {}}


@pytest.fixture
def backend():
    return MemoryStorage()


@pytest.fixture
def store(backend) -> Store:
    rest = wardle_group(backend).versions[0].resources["flunders"].rest
    assert isinstance(rest, Store)
    return rest


async def test_get_at_any_latest_or_not_older_than(store, backend):
    created = await store.create(CTX, flunder("a"))
    rv = created["metadata"]["resourceVersion"]
    for asked in ("", "0", rv, "1"):
        assert (await store.get(CTX, "a", GetOptions(asked)))["metadata"]["resourceVersion"] == rv
    with pytest.raises(errors.Timeout) as info:
        await store.get(CTX, "a", GetOptions(str(int(rv) + 5)))
    assert info.value.to_status() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": f"Timeout: Too large resource version: {int(rv) + 5}, current: {rv}",
        "reason": "Timeout",
        "details": {"causes": [{"reason": "ResourceVersionTooLarge",
                                "message": "Too large resource version"}],
                    "retryAfterSeconds": 1},
        "code": 504}
    with pytest.raises(errors.NotFound):
        await store.get(CTX, "missing", GetOptions(rv))


def test_get_resource_version_over_http():
    with TestClient(build_test_app([wardle_group()])) as client:
        rv = client.post(NS, json=flunder("a")).json()["metadata"]["resourceVersion"]
        assert client.get(f"{NS}/a", params={"resourceVersion": "0"}).status_code == 200
        assert client.get(f"{NS}/a", params={"resourceVersion": rv}).status_code == 200
        too_new = client.get(f"{NS}/a", params={"resourceVersion": str(int(rv) + 1)})
        assert too_new.status_code == 504
        assert too_new.json()["reason"] == "Timeout"
        bad = client.get(f"{NS}/a", params={"resourceVersion": "x1"})
        assert bad.status_code == 400
        assert bad.json()["message"] == (
            'invalid resource version: resourceVersion: Invalid value: "x1": '
            'strconv.ParseUint: parsing "x1": invalid syntax')


async def next_events(stream, n):
    return [await asyncio.wait_for(anext(stream), 2) for _ in range(n)]


def watch_options(rv="", send_initial=None, bookmarks=False):
    return ListOptions(resource_version=rv, send_initial_events=send_initial,
                       resource_version_match="NotOlderThan" if send_initial is not None else "",
                       allow_watch_bookmarks=bookmarks)


async def test_send_initial_events_then_the_end_bookmark_then_changes(store, backend):
    await store.create(CTX, flunder("a"))
    await store.create(CTX, flunder("b"))
    listed_at = await backend.current_revision()
    stream = store.watch(CTX, watch_options(send_initial=True, bookmarks=True))
    added = await next_events(stream, 2)
    assert [(e.type, e.object["metadata"]["name"]) for e in added] == [
        ("ADDED", "a"), ("ADDED", "b")]
    [end] = await next_events(stream, 1)
    assert end.type == "BOOKMARK"
    assert end.object["metadata"] == {"resourceVersion": str(listed_at),
                                      "annotations": {INITIAL_EVENTS_END: "true"}}
    assert end.object["kind"] == "Flunder"
    await store.create(CTX, flunder("c"))  # made after the watch started
    [live] = await next_events(stream, 1)
    assert live.type == "ADDED" and live.object["metadata"]["name"] == "c"
    await stream.aclose()


async def test_send_initial_events_without_bookmarks_has_no_end_bookmark(store):
    await store.create(CTX, flunder("a"))
    stream = store.watch(CTX, watch_options(send_initial=True))
    [added] = await next_events(stream, 1)
    await store.create(CTX, flunder("b"))
    [live] = await next_events(stream, 1)
    assert (added.type, live.type) == ("ADDED", "ADDED")
    assert live.object["metadata"]["name"] == "b"
    await stream.aclose()


async def test_send_initial_events_not_older_than_a_resource_version(store, backend):
    created = await store.create(CTX, flunder("a"))
    rv = int(created["metadata"]["resourceVersion"])
    stream = store.watch(CTX, watch_options(str(rv), send_initial=True, bookmarks=True))
    first, end = await next_events(stream, 2)
    assert first.type == "ADDED" and end.type == "BOOKMARK"
    await stream.aclose()
    future = store.watch(CTX, watch_options(str(rv + 10), send_initial=True))
    [error] = await next_events(future, 1)
    assert error.type == "ERROR"
    assert error.object["code"] == 504
    assert error.object["message"] == (
        f"Timeout: Too large resource version: {rv + 10}, current: {rv}")


@pytest.mark.parametrize("rv", ["", "0"])
async def test_no_initial_events_starts_at_the_latest_revision(store, backend, rv):
    await store.create(CTX, flunder("old"))  # in the history: it must not be replayed
    stream = store.watch(CTX, watch_options(rv, send_initial=False))
    first = asyncio.ensure_future(anext(stream))
    for _ in range(1000):  # until the watch is subscribed
        if backend._watchers:
            break
        await asyncio.sleep(0.001)
    await store.create(CTX, flunder("new"))
    event = await asyncio.wait_for(first, 2)
    assert event.type == "ADDED" and event.object["metadata"]["name"] == "new"
    await stream.aclose()


@pytest.mark.parametrize("rv", ["", "0"])
async def test_legacy_watch_from_empty_or_zero_sends_the_state_first(store, rv):
    await store.create(CTX, flunder("a"))
    stream = store.watch(CTX, watch_options(rv))
    await store.create(CTX, flunder("b"))
    first, second = await next_events(stream, 2)
    assert [first.object["metadata"]["name"], second.object["metadata"]["name"]] == ["a", "b"]
    await stream.aclose()


async def test_legacy_watch_from_a_resource_version_starts_right_after_it(store):
    a = await store.create(CTX, flunder("a"))
    await store.create(CTX, flunder("b"))
    stream = store.watch(CTX, watch_options(a["metadata"]["resourceVersion"]))
    [event] = await next_events(stream, 1)
    assert event.object["metadata"]["name"] == "b"
    await stream.aclose()


def test_watch_list_over_http_with_the_end_bookmark():
    with TestClient(build_test_app([wardle_group()])) as client:
        client.post(NS, json=flunder("a"))
        params = {"watch": "true", "sendInitialEvents": "true", "allowWatchBookmarks": "true",
                  "resourceVersionMatch": "NotOlderThan", "timeoutSeconds": "1"}
        with client.stream("GET", NS, params=params) as r:
            assert r.status_code == 200
            lines = [line for line in r.iter_lines() if line]
    types = [orjson.loads(line)["type"] for line in lines]
    assert types[:2] == ["ADDED", "BOOKMARK"]
    end = orjson.loads(lines[1])["object"]["metadata"]
    assert end["annotations"] == {INITIAL_EVENTS_END: "true"}
