"""Status and scale subresources, declared once in ResourceInfo: the Store, routing, discovery
and OpenAPI all follow from the declaration."""

import asyncio

import orjson
import pytest
from starlette.testclient import TestClient

from k8s_aggapi import errors
from k8s_aggapi.api import APIGroup, ResourceInfo
from k8s_aggapi.registry import rest
from k8s_aggapi.registry.rest import ObjectUpdate, RequestContext
from k8s_aggapi.registry.scale import ScaleREST
from k8s_aggapi.registry.status import StatusREST
from k8s_aggapi.registry.store import Store
from k8s_aggapi.storage import MemoryStorage
from k8s_aggapi.testing import build_test_app
from tests.servers.widgets import widgets_group

CTX = RequestContext("ns")
DRY = RequestContext("ns", dry_run=True)
W = "/apis/widgets.example.com/v1"
NS = f"{W}/namespaces/ns/widgets"
MERGE = {"content-type": "application/merge-patch+json"}


def widget(name, replicas=1, status=None, **meta):
    obj = {"apiVersion": "widgets.example.com/v1", "kind": "Widget",
           "metadata": {"name": name, **meta}, "spec": {"replicas": replicas}}
    if status is not None:
        obj["status"] = status
    return obj


@pytest.fixture
def resource():
    return widgets_group().versions[0].resources["widgets"]


@pytest.fixture
def store(resource) -> Store:
    assert isinstance(resource.rest, Store)
    return resource.rest


@pytest.fixture
def status(resource) -> StatusREST:
    sub = resource.subresources["status"].rest
    assert isinstance(sub, StatusREST)
    return sub


@pytest.fixture
def scale(resource) -> ScaleREST:
    sub = resource.subresources["scale"].rest
    assert isinstance(sub, ScaleREST)
    return sub


def put(target, ctx, name, obj):
    return target.update(ctx, name, ObjectUpdate.replace(obj))


def with_rv(obj, stored):
    obj["metadata"]["resourceVersion"] = stored["metadata"]["resourceVersion"]
    return obj


async def test_create_drops_status(store):
    created = await store.create(CTX, widget("a", status={"replicas": 9}))
    assert "status" not in created
    assert created["metadata"]["generation"] == 1


async def test_main_resource_update_keeps_the_stored_status(store, status):
    created = await store.create(CTX, widget("a"))
    set_status, _ = await put(status, CTX, "a", with_rv(widget("a", status={"replicas": 3}),
                                                           created))
    assert set_status["status"]["replicas"] == 3
    updated, _ = await put(store, CTX, "a", with_rv(
        widget("a", replicas=5, status={"replicas": 100}), set_status))
    assert updated["spec"]["replicas"] == 5
    assert updated["status"] == {"replicas": 3}
    assert updated["metadata"]["generation"] == 2


async def test_status_update_changes_only_the_status(store, status):
    created = await store.create(CTX, widget("a", labels={"x": "1"}))
    changed = with_rv(widget("a", replicas=7, status={"replicas": 2, "ready": True},
                             labels={"x": "2"}), created)
    updated, created_now = await put(status, CTX, "a", changed)
    assert not created_now
    assert updated["status"] == {"replicas": 2, "ready": True}
    assert updated["spec"] == {"replicas": 1}
    assert updated["metadata"]["labels"] == {"x": "1"}
    assert updated["metadata"]["generation"] == 1  # no spec change: no new generation
    assert int(updated["metadata"]["resourceVersion"]) > int(created["metadata"][
        "resourceVersion"])


async def test_status_update_checks_the_resource_version_and_the_model(store, status):
    created = await store.create(CTX, widget("a"))
    await put(status, CTX, "a", with_rv(widget("a", status={"replicas": 1}), created))
    with pytest.raises(errors.Conflict):
        await put(status, CTX, "a", with_rv(widget("a", status={"replicas": 2}), created))
    current = await store.get(CTX, "a")
    with pytest.raises(errors.Invalid, match=r"status\.replicas"):
        await put(status, CTX, "a", with_rv(widget("a", status={"replicas": "many"}), current))
    with pytest.raises(errors.NotFound):
        await put(status, CTX, "b", widget("b", status={}))


async def test_generation_moves_with_spec_changes_only(store, status):
    created = await store.create(CTX, widget("a"))
    relabelled, _ = await put(store, CTX, "a", with_rv(widget("a", labels={"y": "1"}), created))
    assert relabelled["metadata"]["generation"] == 1
    respec, _ = await put(store, CTX, "a", with_rv(widget("a", replicas=2, labels={"y": "1"}),
                                                    relabelled))
    assert respec["metadata"]["generation"] == 2


async def test_concurrent_status_and_spec_patches_both_land(store, status):
    await store.create(CTX, widget("a"))

    def spec(cur):
        return {**cur, "spec": {**cur["spec"], "color": "red"}}

    def observed(cur):
        return {**cur, "status": {"replicas": 4}}

    await asyncio.gather(store.update(CTX, "a", ObjectUpdate(spec)),
                         status.update(CTX, "a", ObjectUpdate(observed)))
    final = await store.get(CTX, "a")
    assert final["spec"]["color"] == "red" and final["status"] == {"replicas": 4}


async def test_scale_reads_the_declared_paths(store, status, scale):
    created = await store.create(CTX, widget("a", replicas=3))
    await put(status, CTX, "a", with_rv(widget("a", status={"replicas": 2, "selector": "app=a"}),
                                        created))
    got = await scale.get(CTX, "a")
    meta = got["metadata"]
    assert got["kind"] == "Scale" and got["apiVersion"] == "autoscaling/v1"
    assert got["spec"] == {"replicas": 3}
    assert got["status"] == {"replicas": 2, "selector": "app=a"}
    assert set(meta) == {"name", "namespace", "uid", "resourceVersion", "creationTimestamp"}


async def test_scale_update_writes_spec_replicas_only(store, scale):
    await store.create(CTX, widget("a", replicas=3, labels={"k": "v"}))
    current = await scale.get(CTX, "a")
    updated, _ = await put(scale, CTX, "a", {**current, "spec": {"replicas": 5},
                                             "status": {"replicas": 50}})
    assert updated["spec"] == {"replicas": 5} and updated["status"]["replicas"] == 0
    stored = await store.get(CTX, "a")
    assert stored["spec"]["replicas"] == 5 and "status" not in stored
    assert stored["metadata"]["labels"] == {"k": "v"}
    assert stored["metadata"]["generation"] == 2


async def test_scale_resource_version_is_a_precondition_and_none_is_unconditional(store, scale):
    await store.create(CTX, widget("a"))
    stale = await scale.get(CTX, "a")
    await put(scale, CTX, "a", {**stale, "spec": {"replicas": 2}})
    with pytest.raises(errors.Conflict):
        await put(scale, CTX, "a", {**stale, "spec": {"replicas": 3}})
    unconditional = {"metadata": {"name": "a"}, "spec": {"replicas": 4}}
    assert (await put(scale, CTX, "a", unconditional))[0]["spec"]["replicas"] == 4


async def test_scale_refuses_negative_replicas_and_a_wrong_name(store, scale):
    await store.create(CTX, widget("a"))
    with pytest.raises(errors.Invalid) as info:
        await put(scale, CTX, "a", {"metadata": {"name": "a"}, "spec": {"replicas": -1}})
    assert info.value.message == (
        'Scale.autoscaling "a" is invalid: spec.replicas: Invalid value: -1: must be greater '
        "than or equal to 0")
    with pytest.raises(errors.BadRequest, match="does not match the name on the URL"):
        await put(scale, CTX, "a", {"metadata": {"name": "b"}, "spec": {"replicas": 1}})
    with pytest.raises(errors.NotFound):
        await scale.get(CTX, "missing")


async def test_dry_run_on_status_and_scale_stores_nothing(store, status, scale):
    created = await store.create(CTX, widget("a"))
    await put(status, DRY, "a", with_rv(widget("a", status={"replicas": 8}), created))
    scaled, _ = await put(scale, DRY, "a", {"metadata": {"name": "a"}, "spec": {"replicas": 9}})
    assert scaled["spec"]["replicas"] == 9
    assert await store.get(CTX, "a") == created


def test_add_rest_refuses_a_declared_status_it_cannot_serve():
    class Reader(rest.Getter):
        async def get(self, ctx, name, options=rest.GET_LATEST):
            return {}

    with pytest.raises(ValueError, match="add_store"):
        APIGroup("g").version("v1").add_rest(ResourceInfo("A", "as", status=True), Reader())


def test_a_users_own_subresource_is_routed_and_discovered():
    class Approval(rest.Getter):
        async def get(self, ctx, name, options=rest.GET_LATEST):
            return {"kind": "Approval", "apiVersion": "g.example.com/v1",
                    "metadata": {"name": name}, "approved": True}

    group = APIGroup("g.example.com")
    resource = group.version("v1").add_store(ResourceInfo("Thing", "things"), MemoryStorage())
    resource.add_subresource("approval", Approval(), kind="Approval")
    with TestClient(build_test_app([group])) as client:
        base = "/apis/g.example.com/v1"
        client.post(f"{base}/namespaces/ns/things", json={"metadata": {"name": "t"}})
        assert client.get(f"{base}/namespaces/ns/things/t/approval").json()["approved"]
        assert client.put(f"{base}/namespaces/ns/things/t/approval", json={}).status_code == 405
        assert client.get(f"{base}/namespaces/ns/things/t/other").status_code == 404
        entries = {e["name"]: e for e in client.get(base).json()["resources"]}
        assert entries["things/approval"] == {
            "name": "things/approval", "singularName": "", "namespaced": True,
            "kind": "Approval", "verbs": ["get"]}


# over HTTP: routing, discovery, OpenAPI ---------------------------------------------------
@pytest.fixture
def client():
    with TestClient(build_test_app([widgets_group()])) as c:
        yield c


def test_status_over_http_put_and_patch(client):
    created = client.post(NS, json=widget("a")).json()
    assert client.get(f"{NS}/a/status").json()["metadata"]["uid"] == created["metadata"]["uid"]
    r = client.patch(f"{NS}/a/status", headers=MERGE,
                     content=b'{"status":{"replicas":2},"spec":{"replicas":9}}')
    assert r.status_code == 200, r.text
    assert r.json()["status"] == {"replicas": 2} and r.json()["spec"]["replicas"] == 1
    r = client.patch(f"{NS}/a", headers=MERGE,
                     content=b'{"status":{"replicas":7},"spec":{"replicas":4}}')
    assert r.json()["status"] == {"replicas": 2} and r.json()["spec"]["replicas"] == 4
    assert r.json()["metadata"]["generation"] == 2
    body = {**r.json(), "status": {"replicas": 3}}
    r = client.put(f"{NS}/a/status", json=body)
    assert r.status_code == 200 and r.json()["status"] == {"replicas": 3}
    assert client.post(f"{NS}/a/status", json=body).status_code == 405
    assert client.delete(f"{NS}/a/status").status_code == 405


def test_status_kind_mismatch_is_400(client):
    client.post(NS, json=widget("a"))
    r = client.put(f"{NS}/a/status", json={"kind": "Scale", "metadata": {"name": "a"}})
    assert r.status_code == 400


def test_scale_over_http_as_kubectl_scale_sends_it(client):
    client.post(NS, json=widget("a", replicas=1))
    got = client.get(f"{NS}/a/scale").json()
    assert got["spec"] == {"replicas": 1}
    r = client.patch(f"{NS}/a/scale", headers=MERGE, content=b'{"spec":{"replicas":3}}')
    assert r.status_code == 200, r.text
    assert r.json()["kind"] == "Scale" and r.json()["spec"]["replicas"] == 3
    assert client.get(f"{NS}/a").json()["spec"]["replicas"] == 3
    r = client.put(f"{NS}/a/scale", json={
        "apiVersion": "autoscaling/v1", "kind": "Scale", "metadata": {"name": "a"},
        "spec": {"replicas": "5"}})
    assert r.status_code == 400  # the Scale model decodes the body: no string for an integer
    r = client.patch(f"{NS}/a/scale", headers=MERGE, content=b'{"spec":{"replicas":-2}}')
    assert r.status_code == 422
    assert client.get(f"{NS}/missing/scale").status_code == 404


def test_discovery_lists_status_and_scale(client):
    entries = {e["name"]: e for e in client.get(W).json()["resources"]}
    assert entries["widgets/status"] == {
        "name": "widgets/status", "singularName": "", "namespaced": True, "kind": "Widget",
        "verbs": ["get", "patch", "update"]}
    assert entries["widgets/scale"] == {
        "name": "widgets/scale", "singularName": "", "namespaced": True,
        "group": "autoscaling", "version": "v1", "kind": "Scale",
        "verbs": ["get", "patch", "update"]}
    v2 = client.get("/apis", headers={
        "accept": "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"}).json()
    [res] = v2["items"][0]["versions"][0]["resources"]
    assert res["subresources"] == [
        {"subresource": "scale", "responseKind": {
            "group": "autoscaling", "version": "v1", "kind": "Scale"},
         "verbs": ["get", "patch", "update"]},
        {"subresource": "status", "responseKind": {
            "group": "widgets.example.com", "version": "v1", "kind": "Widget"},
         "verbs": ["get", "patch", "update"]}]


def test_openapi_documents_status_and_scale(client):
    doc = client.get("/openapi/v3/apis/widgets.example.com/v1").json()
    scale_path = doc["paths"]["/apis/widgets.example.com/v1/namespaces/{namespace}/widgets/"
                              "{name}/scale"]
    assert set(scale_path) >= {"get", "put", "patch"}
    get = scale_path["get"]
    assert get["operationId"] == "readWidgetsExampleComV1NamespacedWidgetScale"
    assert get["x-kubernetes-group-version-kind"] == {
        "group": "autoscaling", "version": "v1", "kind": "Scale"}
    schemas = doc["components"]["schemas"]
    scale = schemas["io.k8s.api.autoscaling.v1.Scale"]
    assert scale["x-kubernetes-group-version-kind"] == [
        {"group": "autoscaling", "kind": "Scale", "version": "v1"}]
    assert "io.k8s.api.autoscaling.v1.ScaleSpec" in schemas
    status_path = doc["paths"]["/apis/widgets.example.com/v1/namespaces/{namespace}/widgets/"
                               "{name}/status"]
    assert status_path["get"]["operationId"] == "readWidgetsExampleComV1NamespacedWidgetStatus"
    v2 = client.get("/openapi/v2").json()
    assert "io.k8s.api.autoscaling.v1.Scale" in v2["definitions"]
    assert any(p.endswith("/widgets/{name}/scale") for p in v2["paths"])


def test_a_body_without_content_type_is_json_as_client_go_scale_sends_it(client):
    client.post(NS, json=widget("a"))
    current = client.get(f"{NS}/a/scale").json()
    body = orjson.dumps({**current, "spec": {"replicas": 4}})
    r = client.put(f"{NS}/a/scale", content=body)  # no Content-Type header at all
    assert r.status_code == 200, r.text
    assert client.get(f"{NS}/a").json()["spec"]["replicas"] == 4
    no_type = client.patch(f"{NS}/a/scale", content=b'{"spec":{"replicas":1}}')
    assert no_type.status_code == 415  # a patch's type is its Content-Type


async def test_a_uid_sent_to_status_or_scale_is_a_precondition(store, status, scale):
    created = await store.create(CTX, widget("a"))
    wrong = with_rv(widget("a", status={"replicas": 1}, uid="other"), created)
    with pytest.raises(errors.Conflict, match="Precondition failed: UID in precondition: other"):
        await put(status, CTX, "a", wrong)
    with pytest.raises(errors.Conflict, match="Precondition failed: UID in precondition: other"):
        await put(scale, CTX, "a", {"metadata": {"name": "a", "uid": "other"},
                                    "spec": {"replicas": 2}})
    right = {"metadata": {"name": "a", "uid": created["metadata"]["uid"]},
             "spec": {"replicas": 2}}
    assert (await put(scale, CTX, "a", right))[0]["spec"]["replicas"] == 2
