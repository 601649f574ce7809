"""A watch (or list) about one name sees only that object: the name from the path, or from a
`metadata.name` field selector, becomes a field selector as upstream's ListResource makes it."""

import asyncio

import orjson
import pytest

from .conftest import W, flunder, resource_app
from .test_watch import call, events

NS = f"{W}/namespaces/default/flunders"


async def write(app, method, path, body):
    status, chunks, _, task = await call(app, method, path, body=orjson.dumps(body))
    await task
    assert await status in (200, 201)
    return orjson.loads(await chunks.get())


async def relabel(app, collection, obj):
    obj["metadata"]["labels"] = {"seen": "yes"}
    await write(app, "PUT", f"{collection}/{obj['metadata']['name']}", obj)


def fischer(name):
    return {"apiVersion": "wardle.example.com/v1alpha1", "kind": "Fischer",
            "metadata": {"name": name}}


async def only_a_events(app, path, query, collection, body_of):
    """Watch `path` after fuzz-a exists; create fuzz-b and then change fuzz-a: the stream must
    carry fuzz-a's ADDED and MODIFIED and nothing about fuzz-b in between."""
    a = await write(app, "POST", collection, body_of("fuzz-a"))
    status, chunks, gone, task = await call(app, "GET", path, query)
    assert await status == 200
    [added] = await events(chunks, 1)
    assert (added["type"], added["object"]["metadata"]["name"]) == ("ADDED", "fuzz-a")
    b = await write(app, "POST", collection, body_of("fuzz-b"))
    await relabel(app, collection, b)
    await relabel(app, collection, a)
    [next_event] = await events(chunks, 1)
    gone.set()
    await asyncio.wait_for(task, 2)
    assert (next_event["type"], next_event["object"]["metadata"]["name"]) == (
        "MODIFIED", "fuzz-a")


@pytest.mark.parametrize(
    ("path", "query", "collection", "body_of"),
    [
        (f"{W}/watch/fischers/fuzz-a", b"", f"{W}/fischers", fischer),
        (f"{W}/watch/namespaces/default/flunders/fuzz-a", b"", NS, flunder),
        (NS, b"watch=1&fieldSelector=metadata.name%3Dfuzz-a", NS, flunder),
        (NS, b"watch=true&fieldSelector=metadata.name%3D%3Dfuzz-a", NS, flunder),
    ],
)
async def test_single_name_watch_sees_only_that_object(path, query, collection, body_of):
    await only_a_events(resource_app(), path, query, collection, body_of)


async def test_name_and_a_matching_selector_are_combined():
    app = resource_app()
    status, chunks, gone, task = await call(
        app, "GET", f"{W}/watch/namespaces/default/flunders/fuzz-a",
        b"fieldSelector=metadata.name%3Dfuzz-a,metadata.namespace%3Ddefault")
    assert await status == 200
    for name in ("fuzz-b", "fuzz-a"):
        await write(app, "POST", NS, flunder(name))
    [event] = await events(chunks, 1)
    assert event["object"]["metadata"]["name"] == "fuzz-a"
    gone.set()
    await asyncio.wait_for(task, 2)


@pytest.mark.parametrize(
    "selector", [b"metadata.name%3Dfuzz-b", b"metadata.name!%3Dfuzz-a", b"metadata.namespace%3Dx"]
)
async def test_a_selector_that_disagrees_with_the_name_is_400(selector):
    app = resource_app()
    status, chunks, _, task = await call(
        app, "GET", f"{W}/watch/namespaces/default/flunders/fuzz-a", b"fieldSelector=" + selector)
    assert await asyncio.wait_for(status, 2) == 400
    await asyncio.wait_for(task, 2)
    body = orjson.loads(await chunks.get())
    assert body["message"] == "fieldSelector metadata.name doesn't match requested name"


def test_list_by_name_selector_lists_only_it(client):
    for name in ("fuzz-a", "fuzz-b"):
        assert client.post(NS, json=flunder(name)).status_code == 201
    r = client.get(NS, params={"fieldSelector": "metadata.name=fuzz-a"})
    assert [i["metadata"]["name"] for i in r.json()["items"]] == ["fuzz-a"]


def test_get_of_a_name_with_watch_is_a_get(client):
    """`GET .../flunders/NAME?watch=1` is a get upstream (the name is in the path)."""
    assert client.post(NS, json=flunder("fuzz-a")).status_code == 201
    r = client.get(f"{NS}/fuzz-a", params={"watch": "1"})
    assert r.status_code == 200 and r.json()["kind"] == "Flunder"
