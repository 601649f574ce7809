"""Watch over raw ASGI: initial events, live events, selectors, timeout, too-old RV."""

import asyncio

import orjson
import pytest

from .conftest import W, flunder, resource_app

NS = f"{W}/namespaces/default/flunders"


async def call(app, method, path, query=b"", body=b"", headers=()):
    """Run one request; returns (status, body chunks queue, disconnect event, task)."""
    chunks: asyncio.Queue = asyncio.Queue()
    status: asyncio.Future = asyncio.get_running_loop().create_future()
    gone = asyncio.Event()
    sent = False

    async def receive():
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        await gone.wait()
        return {"type": "http.disconnect"}

    async def send(message):
        if message["type"] == "http.response.start":
            status.set_result(message["status"])
        elif message.get("body"):
            await chunks.put(message["body"])

    scope = {
        "type": "http",
        "method": method,
        "path": path,
        "query_string": query,
        "headers": [(b"content-type", b"application/json"), *headers],
    }
    task = asyncio.ensure_future(app(scope, receive, send))
    return status, chunks, gone, task


async def events(chunks, n):
    """The next `n` events; one body may carry several (queued events are written at once)."""
    got: list = []
    while len(got) < n:
        body = await asyncio.wait_for(chunks.get(), 2)
        got += [orjson.loads(line) for line in body.splitlines()]
    assert len(got) == n, got
    return got


async def test_watch_sees_initial_and_live_events():
    app = resource_app()
    _, _, _, t = await call(app, "POST", NS, body=orjson.dumps(flunder("a")))
    await t
    status, chunks, gone, task = await call(
        app, "GET", NS, b"watch=true&labelSelector=app%21%3Dskip"
    )
    assert await status == 200
    [added] = await events(chunks, 1)
    assert added["type"] == "ADDED" and added["object"]["metadata"]["name"] == "a"
    for name in ("skip", "b"):
        _, _, _, t = await call(app, "POST", NS, body=orjson.dumps(flunder(name)))
        await t
    _, _, _, t = await call(app, "DELETE", f"{NS}/a")
    await t
    got = await events(chunks, 2)
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in got] == [
        ("ADDED", "b"),
        ("DELETED", "a"),
    ]
    gone.set()
    await asyncio.wait_for(task, 2)


async def test_watch_from_resource_version_and_timeout():
    app = resource_app()
    for name in "ab":
        _, _, _, t = await call(app, "POST", NS, body=orjson.dumps(flunder(name)))
        await t
    status, chunks, _, task = await call(
        app, "GET", NS, b"watch=1&resourceVersion=1&timeoutSeconds=1"
    )
    assert await status == 200
    [event] = await events(chunks, 1)
    assert event["object"]["metadata"]["name"] == "b"
    await asyncio.wait_for(task, 3)


async def test_watch_table_events():
    app = resource_app()
    accept = (b"accept", b"application/json;as=Table;v=v1;g=meta.k8s.io, application/json")
    status, chunks, gone, task = await call(app, "GET", NS, b"watch=true", headers=[accept])
    assert await status == 200
    _, _, _, t = await call(app, "POST", NS, body=orjson.dumps(flunder("a")))
    await t
    [event] = await events(chunks, 1)
    assert event["object"]["kind"] == "Table"
    assert event["object"]["rows"][0]["cells"][0] == "a"
    gone.set()
    await asyncio.wait_for(task, 2)


async def test_watch_too_old_is_410_error_event():
    from k8s_aggapi.api import APIGroup, ResourceInfo
    from k8s_aggapi.endpoints.handlers import ResourceEndpoint
    from k8s_aggapi.middleware.requestinfo import RequestInfoMiddleware
    from k8s_aggapi.middleware.response import ResponseMiddleware
    from k8s_aggapi.storage import MemoryStorage

    group = APIGroup("wardle.example.com")
    group.version("v1alpha1").add_store(
        ResourceInfo("Flunder", "flunders"), MemoryStorage(history=1)
    )
    app = ResponseMiddleware(RequestInfoMiddleware(ResourceEndpoint([group])))
    for name in "abc":
        _, _, _, t = await call(app, "POST", NS, body=orjson.dumps(flunder(name)))
        await t
    status, chunks, _, task = await call(app, "GET", NS, b"watch=true&resourceVersion=1")
    assert await status == 200
    [event] = await events(chunks, 1)
    assert event["type"] == "ERROR"
    assert event["object"]["code"] == 410 and event["object"]["reason"] == "Expired"
    await asyncio.wait_for(task, 2)


async def test_periodic_bookmarks_carry_the_last_resource_version():
    from k8s_aggapi.endpoints.watch import stream_watch
    from k8s_aggapi.registry.rest import WatchEvent

    async def source():
        yield WatchEvent("ADDED", {"metadata": {"name": "a", "resourceVersion": "7"}})
        await asyncio.sleep(3600)
        yield WatchEvent("ADDED", {})

    lines = []

    async def send(message):
        if message.get("body"):
            lines.extend(orjson.loads(line) for line in message["body"].splitlines())

    async def receive():
        await asyncio.sleep(3600)

    await stream_watch(source(), send, receive, transform=lambda o: o,
                       bookmark=lambda rv: {"kind": "Flunder", "metadata": {"resourceVersion": rv}},
                       duration=0.35, bookmark_interval=0.1)
    assert lines[0]["type"] == "ADDED"
    bookmarks = [line for line in lines[1:] if line["type"] == "BOOKMARK"]
    assert len(bookmarks) >= 2
    assert all(b["object"]["metadata"]["resourceVersion"] == "7" for b in bookmarks)


async def test_send_initial_events_ends_with_an_annotated_bookmark():
    app = resource_app()
    for name in "ab":
        _, _, _, t = await call(app, "POST", NS, body=orjson.dumps(flunder(name)))
        await t
    query = (b"watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
             b"&allowWatchBookmarks=true")
    status, chunks, gone, task = await call(app, "GET", NS, query)
    assert await status == 200
    got = await events(chunks, 3)
    assert [e["type"] for e in got] == ["ADDED", "ADDED", "BOOKMARK"]
    mark = got[2]["object"]["metadata"]
    assert mark["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert mark["resourceVersion"] == "2"
    gone.set()
    await asyncio.wait_for(task, 2)


async def test_a_client_that_stops_reading_is_cut_off_after_the_queue_length():
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.routing import Route

    from examples.sample_apiserver.apis import wardle_group
    from k8s_aggapi.endpoints.handlers import ResourceEndpoint
    from k8s_aggapi.middleware.requestinfo import RequestInfoMiddleware
    from k8s_aggapi.middleware.response import ResponseMiddleware
    from k8s_aggapi.storage import MemoryStorage

    app = Starlette(
        routes=[Route("/apis/{group}/{version}/{rest:path}",
                      ResourceEndpoint([wardle_group(MemoryStorage(watch_queue_length=5))]))],
        middleware=[Middleware(ResponseMiddleware), Middleware(RequestInfoMiddleware)])
    unblock = asyncio.Event()
    bodies: list[bytes] = []

    async def send(message):
        if message.get("body"):
            bodies.append(message["body"])
            if len(bodies) == 1:  # the client stops reading after the first event
                await unblock.wait()

    async def receive():
        await asyncio.Event().wait()

    scope = {"type": "http", "method": "GET", "path": NS,
             "query_string": b"watch=true&resourceVersion=0", "headers": []}
    task = asyncio.ensure_future(app(scope, receive, send))
    await asyncio.sleep(0.05)
    for i in range(20):
        _, _, _, t = await call(app, "POST", NS, body=orjson.dumps(flunder(f"f{i}")))
        await t
    await asyncio.sleep(0.05)
    assert not task.done()  # stuck in send(); the storage ended the watcher meanwhile
    unblock.set()
    await asyncio.wait_for(task, 5)  # what was queued is sent, then the stream ends
    names = [orjson.loads(line)["object"]["metadata"]["name"]
             for body in bodies for line in body.splitlines()]
    assert names == [f"f{i}" for i in range(len(names))]  # in order, no gap
    assert 1 + 5 <= len(names) < 20  # one in send(), five queued: then the end


async def test_an_error_of_the_source_still_surfaces_through_the_queue():
    from k8s_aggapi.endpoints.watch import stream_watch
    from k8s_aggapi.errors import BadRequest

    async def source():
        raise BadRequest("bad resourceVersion")
        yield  # pragma: no cover

    async def send(message):
        pass

    async def receive():
        await asyncio.Event().wait()

    with pytest.raises(BadRequest, match="bad resourceVersion"):
        await stream_watch(source(), send, receive, transform=lambda o: o, bookmark=None,
                           duration=60)


async def test_one_event_is_encoded_once_for_all_its_watchers():
    from k8s_aggapi.endpoints.watch import FRAMES, stream_watch
    from k8s_aggapi.registry.rest import WatchEvent

    shared = {"metadata": {"name": "shared", "resourceVersion": "9"}}
    bodies: list[bytes] = []

    async def source():
        yield WatchEvent("ADDED", shared)

    async def send(message):
        if message.get("body"):
            bodies.append(message["body"])

    async def receive():
        await asyncio.Event().wait()

    misses = FRAMES.misses
    for _ in range(5):
        await stream_watch(source(), send, receive, transform=lambda o: o, bookmark=None,
                           duration=60)
    assert FRAMES.misses == misses + 1  # encoded for the first watcher, shared by the others
    assert len(set(bodies)) == 1 and orjson.loads(bodies[0])["object"] == shared
    assert all(body is bodies[0] for body in bodies)  # the very same bytes


async def test_a_slow_but_steady_client_is_not_cut_off():
    from k8s_aggapi.endpoints.watch import stream_watch
    from k8s_aggapi.registry.rest import WatchEvent

    async def backlog():
        for rv in range(1, 41):  # all at once, like a replay from an old resourceVersion
            yield WatchEvent("ADDED", {"metadata": {"resourceVersion": str(rv)}})

    lines: list[bytes] = []

    async def send(message):
        if message.get("body"):
            lines.append(message["body"])
            await asyncio.sleep(0.005)  # each event takes the client a while

    async def receive():
        await asyncio.Event().wait()

    await asyncio.wait_for(stream_watch(
        backlog(), send, receive, transform=lambda o: o, bookmark=None, duration=60), 10)
    assert sum(len(body.splitlines()) for body in lines) == 40


async def test_watch_body_bypasses_the_send_wrappers_inside_the_response_middleware():
    """The start goes through every wrapper (status for the metrics, added headers); the body
    messages go to the server's own send (`RAW_SEND`), which pauses now and then: every event
    still arrives, in order, and the stream ends through it."""
    from starlette.applications import Starlette
    from starlette.middleware import Middleware
    from starlette.routing import Route

    from examples.sample_apiserver.apis import wardle_group
    from k8s_aggapi.endpoints.handlers import ResourceEndpoint
    from k8s_aggapi.middleware.requestinfo import RequestInfoMiddleware
    from k8s_aggapi.middleware.response import ResponseMiddleware

    inner: list[tuple[str, str]] = []

    class Wrapper:  # a send wrapper inside the response middleware
        def __init__(self, app):
            self.app = app

        async def __call__(self, scope, receive, send):
            async def wrapped(message):
                inner.append((scope["method"], message["type"]))
                await send(message)
            await self.app(scope, receive, wrapped)

    app = Starlette(
        routes=[Route("/apis/{group}/{version}/{rest:path}",
                      ResourceEndpoint([wardle_group()]))],
        middleware=[Middleware(ResponseMiddleware), Middleware(Wrapper),
                    Middleware(RequestInfoMiddleware)])
    got: list[bytes] = []
    ended = asyncio.Event()
    messages = 0

    async def send(message):
        nonlocal messages
        if message["type"] != "http.response.body":
            return
        messages += 1
        if messages % 3 == 0:  # the transport pauses: the writer waits for it to drain
            await asyncio.sleep(0.01)
        got.append(message.get("body", b""))
        if not message.get("more_body"):
            ended.set()

    async def receive():
        await asyncio.Event().wait()

    scope = {"type": "http", "method": "GET", "path": NS,
             "query_string": b"watch=true&timeoutSeconds=1", "headers": []}
    task = asyncio.ensure_future(app(scope, receive, send))
    await asyncio.sleep(0.05)
    for i in range(12):
        _, _, _, t = await call(app, "POST", NS, body=orjson.dumps(flunder(f"f{i}")))
        await t
    await asyncio.wait_for(task, 5)
    assert ended.is_set()
    names = [orjson.loads(line)["object"]["metadata"]["name"]
             for body in got for line in body.splitlines()]
    assert names == [f"f{i}" for i in range(12)]
    # the wrapper saw the watch's start and none of its body; the creates' bodies, all
    assert [t for m, t in inner if m == "GET"] == ["http.response.start"]
    assert ("POST", "http.response.body") in inner
