import asyncio
import dataclasses

import orjson
import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route

from examples.sample_apiserver.apis import wardle_group
from k8s_aggapi import errors
from k8s_aggapi.endpoints.handlers import ResourceEndpoint
from k8s_aggapi.middleware.requestinfo import RequestInfoMiddleware
from k8s_aggapi.middleware.response import ResponseMiddleware
from k8s_aggapi.registry.rest import DeleteOptions, ListOptions, ObjectUpdate, RequestContext
from k8s_aggapi.registry.selectors import LabelSelector
from k8s_aggapi.registry.store import CONTINUE_EXPIRED
from k8s_aggapi.storage import MemoryStorage
from k8s_aggapi.storage.cacher import Cacher

NS = "/apis/wardle.example.com/v1alpha1/namespaces/ns/flunders"
CTX = RequestContext("ns")
DRY = RequestContext("ns", dry_run=True)


class YieldingStorage(MemoryStorage):
    """Gives the event loop a turn around each read, so concurrent writers interleave."""

    async def get(self, key, *, at_revision=0):
        await asyncio.sleep(0)
        found = await super().get(key, at_revision=at_revision)
        await asyncio.sleep(0)
        return found


def flunder(name, labels=None, **extra):
    meta = {"name": name, "labels": labels or {}} | extra
    return {"apiVersion": "wardle.example.com/v1alpha1", "kind": "Flunder", "metadata": meta,
            "spec": {}}


def put(store, ctx, name, obj):
    """PUT `obj` as the handler does."""
    return store.update(ctx, name, ObjectUpdate.replace(obj))


@pytest.fixture
def backend():
    return YieldingStorage()


@pytest.fixture
def group(backend):
    return wardle_group(backend)


@pytest.fixture
def store(group):
    return group.versions[0].resources["flunders"].rest


async def patch(app, path, body):
    """One PATCH through the ASGI app (merge patch); its status code."""
    status, sent = 0, False

    async def receive():
        nonlocal sent
        if sent:
            await asyncio.Event().wait()
        sent = True
        return {"type": "http.request", "body": orjson.dumps(body), "more_body": False}

    async def send(message):
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    scope = {"type": "http", "method": "PATCH", "path": path, "raw_path": path.encode(),
             "query_string": b"", "headers": [
                 (b"content-type", b"application/merge-patch+json")],
             "scheme": "https", "server": None, "client": None, "root_path": "",
             "http_version": "1.1"}
    await app(scope, receive, send)
    return status


def app_of(group):
    endpoint = ResourceEndpoint([group])
    return Starlette(
        routes=[Route("/apis/{group}/{version}/{rest:path}", endpoint)],
        middleware=[Middleware(ResponseMiddleware), Middleware(RequestInfoMiddleware)],
    )


async def test_concurrent_merge_patches_without_resource_version_all_succeed(group, store):
    await store.create(CTX, flunder("a"))
    app = app_of(group)
    statuses = await asyncio.gather(*(
        patch(app, f"{NS}/a", {"metadata": {"labels": {f"k{i}": "v"}}}) for i in range(20)))
    assert statuses == [200] * 20
    final = await store.get(CTX, "a")
    assert final["metadata"]["labels"] == {f"k{i}": "v" for i in range(20)}
    assert final["metadata"]["resourceVersion"] == str(1 + 20)


async def test_patch_with_a_stale_resource_version_is_409(group, store):
    await store.create(CTX, flunder("a"))
    status = await patch(app_of(group), f"{NS}/a",
                         {"metadata": {"resourceVersion": "99", "labels": {"x": "y"}}})
    assert status == 409
    assert "labels" not in (await store.get(CTX, "a"))["metadata"]


async def test_put_with_a_stale_resource_version_is_409_never_retried(store):
    created = await store.create(CTX, flunder("a"))
    await put(store, CTX, "a", flunder("a", {"v": "2"}, resourceVersion=created["metadata"][
        "resourceVersion"]))
    with pytest.raises(errors.Conflict):
        await put(store, CTX, "a", flunder("a", {"v": "3"}, resourceVersion=created[
            "metadata"]["resourceVersion"]))
    assert (await store.get(CTX, "a"))["metadata"]["labels"] == {"v": "2"}


async def test_concurrent_puts_at_one_resource_version_one_wins(store):
    rv = (await store.create(CTX, flunder("a")))["metadata"]["resourceVersion"]
    results = await asyncio.gather(*(
        put(store, CTX, "a", flunder("a", {"n": str(i)}, resourceVersion=rv))
        for i in range(5)), return_exceptions=True)
    assert sum(isinstance(r, errors.Conflict) for r in results) == 4


async def test_unconditional_update_only_where_the_strategy_allows_it(store):
    await store.create(CTX, flunder("a"))
    with pytest.raises(errors.Invalid):
        await put(store, CTX, "a", flunder("a", {"x": "1"}))
    store.strategy.allow_unconditional_update = True
    try:
        results = await asyncio.gather(*(
            put(store, CTX, "a", flunder("a", {"x": str(i)})) for i in range(5)))
    finally:
        del store.strategy.allow_unconditional_update
    assert all(not created for _, created in results)
    assert (await store.get(CTX, "a"))["metadata"]["labels"]["x"] in {str(i) for i in range(5)}


async def test_identical_update_writes_nothing(store):
    created = await store.create(CTX, flunder("a"))
    same, _ = await put(store, CTX, "a", {**created})
    assert same["metadata"]["resourceVersion"] == created["metadata"]["resourceVersion"]


async def test_generate_name(store):
    obj = flunder("")
    obj["metadata"] = {"generateName": "gen-"}
    created = await store.create(CTX, obj)
    name = created["metadata"]["name"]
    assert name.startswith("gen-") and len(name) == len("gen-") + 5
    assert (await store.get(CTX, name))["metadata"]["uid"] == created["metadata"]["uid"]


async def test_delete_preconditions(store):
    created = await store.create(CTX, flunder("a"))
    meta = created["metadata"]
    with pytest.raises(errors.Conflict, match="Precondition failed: UID in precondition: x"):
        await store.delete(CTX, "a", DeleteOptions(preconditions_uid="x"))
    with pytest.raises(errors.Conflict, match="ResourceVersion in precondition: 99"):
        await store.delete(CTX, "a", DeleteOptions(preconditions_resource_version="99"))
    assert await store.get(CTX, "a")
    _, gone = await store.delete(CTX, "a", DeleteOptions(
        preconditions_uid=meta["uid"], preconditions_resource_version=meta["resourceVersion"]))
    assert gone
    with pytest.raises(errors.NotFound):
        await store.get(CTX, "a")


async def test_finalizers_mark_then_the_last_one_removed_deletes(store):
    await store.create(CTX, flunder("a", finalizers=["x/y"]))
    marked, gone = await store.delete(CTX, "a", DeleteOptions())
    assert not gone and marked["metadata"]["deletionTimestamp"]
    current = await store.get(CTX, "a")
    await store.update(CTX, "a", ObjectUpdate(lambda cur: {
        **cur, "metadata": {**cur["metadata"], "finalizers": []}}))
    with pytest.raises(errors.NotFound):
        await store.get(CTX, "a")
    assert current["metadata"]["finalizers"] == ["x/y"]


@pytest.mark.parametrize(("options", "finalizers"), [
    (DeleteOptions(propagation_policy="Orphan"), ["x/y", "orphan"]),
    (DeleteOptions(orphan_dependents=True), ["x/y", "orphan"]),
    (DeleteOptions(propagation_policy="Foreground"), ["x/y", "foregroundDeletion"]),
    (DeleteOptions(propagation_policy="Background"), ["x/y"]),
    (DeleteOptions(orphan_dependents=False), ["x/y"]),
    (DeleteOptions(), ["x/y"]),
])
async def test_delete_leaves_the_garbage_collectors_finalizer_the_policy_asks(
        store, options, finalizers):
    await store.create(CTX, flunder("a", finalizers=["x/y"]))
    marked, gone = await store.delete(CTX, "a", options)
    meta = marked["metadata"]
    assert not gone and meta["finalizers"] == finalizers
    assert meta["deletionTimestamp"] and meta["deletionGracePeriodSeconds"] == 0
    assert meta["generation"] == 2  # upstream's markAsDeleting bumps it on the first mark
    assert (await store.get(CTX, "a"))["metadata"] == meta


@pytest.mark.parametrize("options", [
    DeleteOptions(propagation_policy="Orphan"), DeleteOptions(propagation_policy="Foreground"),
])
async def test_orphan_and_foreground_keep_an_object_without_finalizers_for_the_collector(
        store, options):
    await store.create(CTX, flunder("a"))
    marked, gone = await store.delete(CTX, "a", options)
    assert not gone and len(marked["metadata"]["finalizers"]) == 1
    # the garbage collector removes its finalizer with a merge patch: then the object goes
    await store.update(CTX, "a", ObjectUpdate(lambda cur: {
        **cur, "metadata": {**cur["metadata"], "finalizers": []}}))
    with pytest.raises(errors.NotFound):
        await store.get(CTX, "a")


async def test_background_deletes_at_once_dropping_a_gc_finalizer(store):
    await store.create(CTX, flunder("a", finalizers=["orphan"]))
    _, gone = await store.delete(CTX, "a", DeleteOptions(propagation_policy="Background"))
    assert gone
    await store.create(CTX, flunder("b"))
    _, gone = await store.delete(CTX, "b", DeleteOptions(propagation_policy="Background"))
    assert gone


async def test_a_gc_finalizer_decides_when_no_policy_is_given_and_a_later_policy_changes_it(
        store):
    await store.create(CTX, flunder("a", finalizers=["foregroundDeletion"]))
    marked, _ = await store.delete(CTX, "a", DeleteOptions())
    assert marked["metadata"]["finalizers"] == ["foregroundDeletion"]
    stamp = marked["metadata"]["deletionTimestamp"]
    # the strategy is not graceful, so a second delete may still switch the policy (upstream)
    again, _ = await store.delete(CTX, "a", DeleteOptions(propagation_policy="Orphan"))
    assert again["metadata"]["finalizers"] == ["orphan"]
    assert again["metadata"]["deletionTimestamp"] == stamp
    assert again["metadata"]["generation"] == 2


async def test_dry_run_delete_with_a_policy_stores_nothing(store):
    created = await store.create(CTX, flunder("a"))
    marked, gone = await store.delete(
        DRY, "a", DeleteOptions(propagation_policy="Orphan", dry_run=True))
    assert not gone and marked["metadata"]["finalizers"] == ["orphan"]
    assert await store.get(CTX, "a") == created


async def test_dry_run_stores_nothing_on_any_verb(backend, store):
    await store.create(CTX, flunder("a", finalizers=["x/y"]))
    await store.create(CTX, flunder("b"))
    before = await backend.current_revision()
    await store.create(DRY, flunder("c"))
    rv = (await store.get(CTX, "b"))["metadata"]["resourceVersion"]
    updated, _ = await put(store, DRY, "b", flunder("b", {"x": "1"}, resourceVersion=rv))
    assert updated["metadata"]["labels"] == {"x": "1"}
    patched, _ = await store.update(DRY, "b", ObjectUpdate(lambda cur: {
        **cur, "metadata": {**cur["metadata"], "labels": {"p": "1"}}}))
    assert patched["metadata"]["labels"] == {"p": "1"}
    marked, gone = await store.delete(DRY, "a", DeleteOptions(dry_run=True))
    assert not gone and marked["metadata"]["deletionTimestamp"]
    _, gone = await store.delete(DRY, "b", DeleteOptions(dry_run=True))
    assert gone
    await store.delete_collection(DRY, DeleteOptions(dry_run=True), ListOptions())
    assert await backend.current_revision() == before
    assert "deletionTimestamp" not in (await store.get(CTX, "a"))["metadata"]
    assert "labels" not in (await store.get(CTX, "b"))["metadata"]
    with pytest.raises(errors.NotFound):
        await store.get(CTX, "c")


async def test_filtered_paging_is_exact_and_at_the_first_page_revision(store):
    for name in "abcdefg":
        await store.create(CTX, flunder(name, {"keep": "yes" if name in "acdfg" else "no"}))
    selector = LabelSelector.parse("keep=yes")
    first = await store.list(CTX, ListOptions(label_selector=selector, limit=2))
    assert [o["metadata"]["name"] for o in first.items] == ["a", "c"]
    assert first.continue_token
    # changes after the first page: none shows in the next pages
    await store.create(CTX, flunder("cc", {"keep": "yes"}))
    await store.delete(CTX, "d", DeleteOptions())
    second = await store.list(CTX, ListOptions(
        label_selector=selector, limit=2, continue_token=first.continue_token))
    assert [o["metadata"]["name"] for o in second.items] == ["d", "f"]
    assert second.resource_version == first.resource_version
    third = await store.list(CTX, ListOptions(
        label_selector=selector, limit=2, continue_token=second.continue_token))
    assert [o["metadata"]["name"] for o in third.items] == ["g"]
    assert not third.continue_token


async def test_list_resource_version_semantics(backend, store):
    await store.create(CTX, flunder("a"))
    rv = (await store.create(CTX, flunder("b")))["metadata"]["resourceVersion"]
    await store.create(CTX, flunder("c"))

    def names(result):
        return [o["metadata"]["name"] for o in result.items]

    assert names(await store.list(CTX, ListOptions())) == ["a", "b", "c"]
    assert names(await store.list(CTX, ListOptions(resource_version="0"))) == ["a", "b", "c"]
    exact = await store.list(CTX, ListOptions(resource_version=rv, resource_version_match="Exact"))
    assert names(exact) == ["a", "b"] and exact.resource_version == rv
    newer = await store.list(CTX, ListOptions(
        resource_version=rv, resource_version_match="NotOlderThan"))
    assert names(newer) == ["a", "b", "c"]
    current = await backend.current_revision()
    with pytest.raises(errors.Timeout, match="Too large resource version"):
        await store.list(CTX, ListOptions(
            resource_version=str(current + 5), resource_version_match="NotOlderThan"))


async def test_expired_continue_token_is_410_with_upstream_message():
    group = wardle_group(MemoryStorage(history=3))
    store = group.versions[0].resources["flunders"].rest
    for name in "abc":
        await store.create(CTX, flunder(name))
    first = await store.list(CTX, ListOptions(limit=1))
    for name in "defg":
        await store.create(CTX, flunder(name))
    with pytest.raises(errors.Gone) as info:
        await store.list(CTX, ListOptions(limit=1, continue_token=first.continue_token))
    assert info.value.message == CONTINUE_EXPIRED
    # upstream's 410 carries a token for the rest of the list at the latest revision
    rest = await store.list(CTX, ListOptions(limit=10, continue_token=info.value.continue_token))
    assert [i["metadata"]["name"] for i in rest.items] == ["b", "c", "d", "e", "f", "g"]
    assert rest.resource_version == str(await store.backend.current_revision())
    with pytest.raises(errors.Gone, match="The resourceVersion for the provided list is too old"):
        await store.list(CTX, ListOptions(
            resource_version=first.resource_version, resource_version_match="Exact"))


async def test_create_on_update_that_loses_a_race_to_a_create_updates(store):
    store.strategy.allow_create_on_update = True
    store.strategy.allow_unconditional_update = True
    try:
        results = await asyncio.gather(*(
            put(store, CTX, "a", flunder("a", {"n": str(i)})) for i in range(5)))
    finally:
        del store.strategy.allow_create_on_update
        del store.strategy.allow_unconditional_update
    assert sorted(created for _, created in results) == [False] * 4 + [True]


def test_list_over_http_limit_with_selector_and_expired_continue():
    from starlette.testclient import TestClient

    group = wardle_group(MemoryStorage(history=4))
    with TestClient(app_of(group)) as client:
        for name in "abcde":
            body = flunder(name, {"keep": "yes"})
            assert client.post(NS, json=body).status_code == 201
        r = client.get(NS, params={"labelSelector": "keep=yes", "limit": "2"})
        assert r.status_code == 200
        assert [i["metadata"]["name"] for i in r.json()["items"]] == ["a", "b"]
        token = r.json()["metadata"]["continue"]
        exact = client.get(NS, params={"resourceVersion": "2", "resourceVersionMatch": "Exact"})
        assert [i["metadata"]["name"] for i in exact.json()["items"]] == ["a", "b"]
        for name in "fghij":
            assert client.post(NS, json=flunder(name)).status_code == 201
        r = client.get(NS, params={"labelSelector": "keep=yes", "limit": "2", "continue": token})
        assert r.status_code == 410
        assert (r.json()["reason"], r.json()["message"]) == ("Expired", CONTINUE_EXPIRED)
        latest = r.json()["metadata"]["continue"]
        r = client.get(NS, params={"labelSelector": "keep=yes", "limit": "2", "continue": latest})
    assert [i["metadata"]["name"] for i in r.json()["items"]] == ["c", "d"]


async def test_generate_name_gives_way_to_a_name_and_is_bounded(store):
    both = await store.create(CTX, {**flunder("given"), "metadata": {
        "name": "given", "generateName": "gen-"}})
    assert both["metadata"]["name"] == "given"
    long_base = "x" * 70
    long = await store.create(CTX, {**flunder(""), "metadata": {"generateName": long_base}})
    name = long["metadata"]["name"]
    assert name.startswith("x" * 58) and len(name) == 63
    assert long["metadata"]["generateName"] == long_base


async def test_dry_run_create_with_generate_name_names_it_and_stores_nothing(backend, store):
    before = await backend.current_revision()
    created = await store.create(DRY, {**flunder(""), "metadata": {"generateName": "dry-"}})
    assert created["metadata"]["name"].startswith("dry-")
    assert await backend.current_revision() == before
    with pytest.raises(errors.NotFound):
        await store.get(CTX, created["metadata"]["name"])


async def test_put_with_a_uid_is_a_precondition(store):
    created = await store.create(CTX, flunder("a"))
    meta = created["metadata"]
    stale = flunder("a", {"v": "1"}, resourceVersion=meta["resourceVersion"], uid="other")
    with pytest.raises(errors.Conflict) as info:
        await put(store, CTX, "a", stale)
    assert info.value.message == (
        'Operation cannot be fulfilled on flunders.wardle.example.com "a": Precondition '
        f"failed: UID in precondition: other, UID in object meta: {meta['uid']}")
    right = flunder("a", {"v": "1"}, resourceVersion=meta["resourceVersion"], uid=meta["uid"])
    updated, _ = await put(store, CTX, "a", right)
    assert updated["metadata"]["labels"] == {"v": "1"}


async def test_unconditional_put_keeps_system_fields(store):
    created = await store.create(CTX, flunder("a"))
    store.strategy.allow_unconditional_update = True
    try:
        updated, _ = await put(store, CTX, "a", flunder("a", {"v": "1"}))
    finally:
        del store.strategy.allow_unconditional_update
    for field in ("uid", "creationTimestamp", "generation"):
        assert updated["metadata"][field] == created["metadata"][field]
    assert int(updated["metadata"]["resourceVersion"]) > int(
        created["metadata"]["resourceVersion"])


async def test_delete_collection_honours_selectors_and_dry_run(store):
    for name, team in (("a", "x"), ("b", "y"), ("c", "x")):
        await store.create(CTX, flunder(name, {"team": team}))
    x_only = ListOptions(label_selector=LabelSelector.parse("team=x"))
    dry = await store.delete_collection(DRY, DeleteOptions(dry_run=True), x_only)
    assert sorted(o["metadata"]["name"] for o in dry.items) == ["a", "c"]
    assert len((await store.list(CTX, ListOptions())).items) == 3
    done = await store.delete_collection(CTX, DeleteOptions(), x_only)
    assert sorted(o["metadata"]["name"] for o in done.items) == ["a", "c"]
    assert [o["metadata"]["name"] for o in (await store.list(CTX, ListOptions())).items] == ["b"]


async def test_concurrent_patches_of_different_fields_all_land(store):
    await store.create(CTX, flunder("a"))

    def label(key):
        def compute(cur):
            labels = {**cur["metadata"].get("labels", {}), key: "1"}
            return {**cur, "metadata": {**cur["metadata"], "labels": labels}}
        return ObjectUpdate(compute)

    results = await asyncio.gather(*(store.update(CTX, "a", label(f"k{i}")) for i in range(8)))
    assert all(not created for _, created in results)
    labels = (await store.get(CTX, "a"))["metadata"]["labels"]
    assert labels == {f"k{i}": "1" for i in range(8)}


class PrevlessStorage(MemoryStorage):
    """A backend whose events do not carry the replaced state (etcd's, as we read it)."""

    def _publish(self, event):
        super()._publish(dataclasses.replace(event, prev=None))


@pytest.mark.parametrize("backend_of", [
    MemoryStorage, lambda: Cacher(PrevlessStorage()), lambda: Cacher(MemoryStorage())])
async def test_a_selector_watch_sees_objects_enter_and_leave_the_selection(backend_of):
    """Upstream's cacher: a change that makes an object match is ADDED, one that makes it stop
    matching is DELETED (the previous state at the event's revision), as informers need."""
    backend = backend_of()
    store = wardle_group(backend).versions[0].resources["flunders"].rest
    a = await store.create(CTX, flunder("a", {"team": "y"}))
    if isinstance(backend, Cacher):  # the watch is then served by the cache (it is warm)
        await backend.list_cached(store.prefix)
    selected = ListOptions(label_selector=LabelSelector.parse("team=x"),
                           resource_version=a["metadata"]["resourceVersion"])
    stream = store.watch(CTX, selected).__aiter__()

    def relabel(team):
        return store.update(CTX, "a", ObjectUpdate(lambda cur: {
            **cur, "metadata": {**cur["metadata"], "labels": {"team": team}}}))

    entered, _ = await relabel("x")
    event = await asyncio.wait_for(stream.__anext__(), 10)
    assert (event.type, event.object["metadata"]["labels"]) == ("ADDED", {"team": "x"})
    await store.update(CTX, "a", ObjectUpdate(lambda cur: {**cur, "metadata": {
        **cur["metadata"], "annotations": {"n": "1"}}}))
    event = await asyncio.wait_for(stream.__anext__(), 10)
    assert event.type == "MODIFIED"
    left, _ = await relabel("z")
    event = await asyncio.wait_for(stream.__anext__(), 10)
    assert event.type == "DELETED"
    assert event.object["metadata"]["labels"] == {"team": "x"}
    assert event.object["metadata"]["resourceVersion"] == left["metadata"]["resourceVersion"]
    await relabel("w")  # outside before and after: nothing
    await relabel("x")
    event = await asyncio.wait_for(stream.__anext__(), 10)
    assert (event.type, event.object["metadata"]["labels"]) == ("ADDED", {"team": "x"})
    await stream.aclose()
    assert entered
