"""The push fan-out: the storage writes an idle watcher's events through the endpoint's sink
(`storage.subscriber`, `endpoints.watch.WatchPush`); order, slow and vanishing clients."""

import asyncio

import orjson
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from examples.sample_apiserver.apis import wardle_group
from k8s_aggapi.endpoints import watch as endpoint_watch
from k8s_aggapi.endpoints.handlers import ResourceEndpoint
from k8s_aggapi.middleware.requestinfo import RequestInfoMiddleware
from k8s_aggapi.middleware.response import ResponseMiddleware
from k8s_aggapi.storage import MemoryStorage
from k8s_aggapi.storage.cacher import Cacher

from .conftest import TABLE, W, flunder

NS = f"{W}/namespaces/default/flunders"
BACKENDS = ["memory", "cacher"]


def _storage(kind, queue_length=100):
    memory = MemoryStorage(watch_queue_length=queue_length)
    return memory if kind == "memory" else Cacher(memory, queue_length=queue_length)


def _app(storage):
    return Starlette(
        routes=[Route("/apis/{group}/{version}/{rest:path}",
                      ResourceEndpoint([wardle_group(storage)]))],
        middleware=[Middleware(ResponseMiddleware), Middleware(RequestInfoMiddleware)])


@pytest.fixture
def pushes(monkeypatch):
    """How many events the push path wrote, and how many it handed to the queue."""
    counts = {"pushed": 0, "queued": 0}
    push = endpoint_watch._Out.__call__

    def counted(self, event):
        done = push(self, event)
        counts["pushed" if done else "queued"] += 1
        return done

    monkeypatch.setattr(endpoint_watch._Out, "__call__", counted)
    return counts


async def _create(app, name):
    sent = False

    async def receive():
        nonlocal sent
        sent = True
        return {"type": "http.request", "body": orjson.dumps(flunder(name)), "more_body": False}

    statuses = []

    async def send(message):
        if message["type"] == "http.response.start":
            statuses.append(message["status"])

    await app({"type": "http", "method": "POST", "path": NS, "query_string": b"",
               "headers": [(b"content-type", b"application/json")]}, receive, send)
    assert statuses == [201]


class Client:
    """A watch request whose transport pauses at a message (`pause_at`) until `gate` is set."""

    def __init__(self, app, query=b"watch=true", headers=(), path=NS):
        self.bodies: list[bytes] = []
        self.pause_at: set[int] = set()
        self.gate = asyncio.Event()
        self.gone = asyncio.Event()
        self.paused = asyncio.Event()
        self.closed_in_send = 0
        self.messages = 0
        self.fail: Exception | None = None
        self.ended = False
        self.task = None if app is None else asyncio.ensure_future(app(
            {"type": "http", "method": "GET", "path": path, "query_string": query,
             "headers": list(headers)}, self.receive, self.send))

    async def receive(self):
        await self.gone.wait()
        return {"type": "http.disconnect"}

    async def send(self, message):
        if message["type"] != "http.response.body":
            return
        if not message.get("more_body"):
            self.ended = True
            return
        if self.fail is not None:
            raise self.fail
        self.messages += 1
        if self.messages in self.pause_at:
            self.paused.set()
        if self.paused.is_set() and not self.gate.is_set():  # as uvicorn's send waits for
            try:  # a paused transport to drain: every write meanwhile, in turn
                await self.gate.wait()
            except GeneratorExit:  # closed where it waited (the stream ended meanwhile)
                self.closed_in_send += 1
                raise
        self.bodies.append(message["body"])

    def names(self):
        return [orjson.loads(line)["object"]["metadata"]["name"]
                for body in self.bodies for line in body.splitlines()]


async def _idle():
    for _ in range(5):
        await asyncio.sleep(0)
    await asyncio.sleep(0.01)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_idle_watchers_are_written_by_the_fan_out_in_order(backend, pushes):
    app = _app(_storage(backend))
    clients = [Client(app) for _ in range(3)]
    await _idle()
    for i in range(5):
        await _create(app, f"f{i}")
    await _idle()
    assert pushes == {"pushed": 15, "queued": 0}  # every event, every watcher: no wake-up
    for client in clients:
        assert client.names() == [f"f{i}" for i in range(5)]
        assert all(body is clients[0].bodies[i] for i, body in enumerate(client.bodies))
        client.gone.set()
    await asyncio.wait_for(asyncio.gather(*(c.task for c in clients)), 2)
    assert all(c.ended for c in clients)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_order_holds_across_the_pushed_and_the_queued_way(backend, pushes):
    app = _app(_storage(backend))
    client = Client(app)
    client.pause_at = {3}  # the third pushed write waits: what comes meanwhile is queued
    await _idle()
    for i in range(3):
        await _create(app, f"f{i}")
    await _idle()
    assert client.paused.is_set() and pushes["pushed"] == 3
    for i in range(3, 8):
        await _create(app, f"f{i}")
    await _idle()
    assert pushes["queued"] >= 1 and client.names() == ["f0", "f1"]
    client.gate.set()
    await _idle()
    assert client.names() == [f"f{i}" for i in range(8)]
    for i in range(8, 10):  # idle again: pushed again
        await _create(app, f"f{i}")
    await _idle()
    assert client.names() == [f"f{i}" for i in range(10)]
    assert pushes["pushed"] >= 5
    client.gone.set()
    await asyncio.wait_for(client.task, 2)


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_paused_client_is_still_cut_off_at_the_queue_length(backend, pushes):
    storage = _storage(backend, queue_length=5)
    app = _app(storage)
    client = Client(app)
    client.pause_at = {1}  # the client stops reading at the first event, a pushed one
    await _idle()
    for i in range(20):
        await _create(app, f"f{i}")
    await _idle()
    assert pushes["pushed"] == 1 and not client.task.done()
    if isinstance(storage, Cacher):
        assert sum(storage.stats().values()) == 0  # the cache ended the watcher
    client.gate.set()
    await asyncio.wait_for(client.task, 5)  # what was queued is sent, then the stream ends
    names = client.names()
    assert names == [f"f{i}" for i in range(len(names))] and 6 <= len(names) < 20
    assert client.ended


@pytest.mark.parametrize("backend", BACKENDS)
async def test_a_client_that_goes_away_during_a_pushed_write(backend, pushes):
    storage = _storage(backend)
    app = _app(storage)
    client = Client(app)
    client.pause_at = {2}
    await _idle()
    await _create(app, "f0")
    await _create(app, "f1")  # its write waits for a client that is leaving
    await _idle()
    assert client.paused.is_set()
    client.gone.set()
    await asyncio.wait_for(client.task, 2)  # ends cleanly, the pushed write abandoned
    assert client.closed_in_send == 1 and client.ended
    assert client.names() == ["f0"]
    await _create(app, "f2")  # nobody is written to any more
    await _idle()
    assert client.names() == ["f0"] and pushes["pushed"] == 2
    if isinstance(storage, Cacher):
        assert sum(storage.stats().values()) == 0


async def test_a_write_that_fails_in_a_push_surfaces_in_the_request():
    app = _app(MemoryStorage())
    client = Client(app)
    await _idle()
    client.fail = RuntimeError("transport broke")  # the pushed write raises, as the task's would
    await _create(app, "f0")
    with pytest.raises(RuntimeError, match="transport broke"):
        await asyncio.wait_for(client.task, 2)


@pytest.mark.parametrize(("query", "headers", "path"), [
    (b"watch=true&labelSelector=app%3Df0", (), NS),  # filtered per watcher
    (b"watch=true", ((b"accept", TABLE.encode()),), NS),  # a Table per watcher
    (b"watch=true", (), NS.replace("v1alpha1", "v1beta1")),  # converted per watcher
])
async def test_watches_shaped_per_watcher_go_the_queued_way(query, headers, path, pushes):
    app = _app(_storage("cacher"))
    client = Client(app, query, headers, path)
    await _idle()
    await _create(app, "f0")
    await _create(app, "f1")
    await _idle()
    assert pushes == {"pushed": 0, "queued": 0}
    events = [orjson.loads(line) for body in client.bodies for line in body.splitlines()]
    assert events and events[0]["type"] == "ADDED"
    if b"labelSelector" in query:
        assert len(events) == 1
    elif headers:
        assert events[0]["object"]["kind"] == "Table"
    else:
        assert events[0]["object"]["apiVersion"] == "wardle.example.com/v1beta1"
    client.gone.set()
    await asyncio.wait_for(client.task, 2)


async def test_bookmarks_after_pushed_events_carry_their_resource_version():
    from k8s_aggapi.endpoints.watch import WatchPush, stream_watch
    from k8s_aggapi.storage.subscriber import offer_push

    storage = MemoryStorage()
    push = WatchPush()
    offer_push(storage, push)

    async def source():
        async for event in storage.watch("/w/", after_revision=0):
            yield event

    lines: list[dict] = []

    async def send(message):
        if message.get("body"):
            lines.extend(orjson.loads(line) for line in message["body"].splitlines())

    async def receive():
        await asyncio.Event().wait()

    task = asyncio.ensure_future(stream_watch(
        source(), send, receive, transform=lambda o: o,
        bookmark=lambda rv: {"kind": "Flunder", "metadata": {"resourceVersion": rv}},
        duration=0.35, bookmark_interval=0.1, push=push))
    await _idle()
    await storage.create("/w/a", {"metadata": {"name": "a"}})
    await asyncio.wait_for(task, 2)
    assert lines[0]["type"] == "ADDED" and lines[0]["object"]["metadata"]["name"] == "a"
    bookmarks = [line for line in lines[1:] if line["type"] == "BOOKMARK"]
    assert bookmarks and all(b["object"]["metadata"]["resourceVersion"] == "1"
                             for b in bookmarks)
    assert not push.pushing  # off when the stream ended


async def test_a_pushed_event_waits_behind_a_bookmark_being_written():
    from k8s_aggapi.endpoints.watch import WatchPush, stream_watch
    from k8s_aggapi.storage.subscriber import offer_push

    storage = MemoryStorage()
    push = WatchPush()
    offer_push(storage, push)
    client = Client(None)  # its transport only
    client.pause_at = {2}

    async def source():
        async for event in storage.watch("/w/", after_revision=0):
            yield event

    async def receive():
        await asyncio.Event().wait()

    task = asyncio.ensure_future(stream_watch(
        source(), client.send, receive, transform=lambda o: o,
        bookmark=lambda rv: {"metadata": {"name": "bookmark", "resourceVersion": rv}},
        duration=10, bookmark_interval=0.05, push=push))
    await _idle()
    await storage.create("/w/a", {"metadata": {"name": "a"}})  # pushed: message 1
    await asyncio.wait_for(client.paused.wait(), 2)  # message 2, the bookmark, waits
    await storage.create("/w/b", {"metadata": {"name": "b"}})
    await storage.create("/w/c", {"metadata": {"name": "c"}})
    await _idle()
    client.gate.set()
    await _idle()
    assert client.names()[:4] == ["a", "bookmark", "b", "c"]
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
