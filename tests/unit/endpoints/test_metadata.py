"""Bad metadata is 422 Invalid with every cause, on create, PUT and both patches; a namespace
in the path that is no DNS label gets what kube-apiserver answers there. Nothing is stored."""

from urllib.parse import quote

import orjson
import pytest

from k8s_aggapi.errors import go_quote

from .conftest import W, flunder

NS = f"{W}/namespaces/default/flunders"
MERGE = {"content-type": "application/merge-patch+json"}
JSON_PATCH = {"content-type": "application/json-patch+json"}


def with_meta(**fields):
    body = flunder("a")
    body["metadata"].update(fields)
    return body


BAD = [
    ({"labels": {"bad key!": "v"}}, ["metadata.labels"]),
    ({"labels": {"k": "v" * 100}}, ["metadata.labels"]),
    ({"annotations": {"a": "x" * (300 * 1024)}}, ["metadata.annotations"]),
    ({"annotations": {"a": "x" * 3_000_000}}, ["metadata.annotations"]),
    ({"finalizers": ["bad name!"]}, ["metadata.finalizers"]),
    ({"ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": ""}]},
     ["metadata.ownerReferences[0].uid"]),
    ({"ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "p"}]},
     ["metadata.ownerReferences[0].uid"]),
    ({"managedFields": [{"manager": "m", "operation": "Patch"}]},
     ["metadata.managedFields[0].operation"]),
    ({"labels": {"bad key!": "v" * 64}, "finalizers": ["x y"]},
     ["metadata.labels", "metadata.labels", "metadata.finalizers"]),
]


def assert_invalid(r, paths):
    assert r.status_code == 422, r.text[:500]
    status = r.json()
    assert (status["kind"], status["reason"], status["code"]) == ("Status", "Invalid", 422)
    assert status["details"]["kind"] == "Flunder"
    assert status["details"]["group"] == "wardle.example.com"
    assert [c["field"] for c in status["details"]["causes"]] == paths
    assert status["message"].startswith('Flunder.wardle.example.com "a" is invalid: ')


@pytest.mark.parametrize(("meta", "paths"), [b for b in BAD if "managedFields" not in b[0]])
def test_create_with_bad_metadata_is_422_and_stores_nothing(client, meta, paths):
    # (create clears managedFields, so only updates can carry bad ones)
    assert_invalid(client.post(NS, json=with_meta(**meta)), paths)
    assert client.get(f"{W}/flunders").json()["items"] == []


@pytest.fixture
def stored(client):
    r = client.post(NS, json=flunder("a"))
    assert r.status_code == 201
    return r.json()


@pytest.mark.parametrize(("meta", "paths"), BAD)
@pytest.mark.parametrize("how", ["put", "merge", "json"])
def test_updates_with_bad_metadata_are_422_and_change_nothing(client, stored, how, meta, paths):
    if how == "put":
        body = {**stored, "metadata": {**stored["metadata"], **meta}}
        r = client.put(f"{NS}/a", json=body)
    elif how == "merge":
        r = client.patch(f"{NS}/a", content=orjson.dumps({"metadata": meta}), headers=MERGE)
    else:
        ops = [{"op": "add", "path": f"/metadata/{k}", "value": v} for k, v in meta.items()]
        r = client.patch(f"{NS}/a", content=orjson.dumps(ops), headers=JSON_PATCH)
    assert_invalid(r, paths)
    assert client.get(f"{NS}/a").json() == stored


def test_a_deleting_object_takes_no_new_finalizer(client):
    body = flunder("a")
    body["metadata"]["finalizers"] = ["example.com/keep"]
    assert client.post(NS, json=body).status_code == 201
    held = client.delete(f"{NS}/a").json()
    patch = {"metadata": {"finalizers": ["example.com/keep", "example.com/more"]}}
    r = client.patch(f"{NS}/a", content=orjson.dumps(patch), headers=MERGE)
    assert r.status_code == 422
    [cause] = r.json()["details"]["causes"]
    assert (cause["field"], cause["reason"]) == ("metadata.finalizers", "FieldValueForbidden")
    assert client.get(f"{NS}/a").json() == held


BAD_NAMESPACES = ["Bad_NS", "x" * 300, "\x00", "\ufffd", "\U0001f600", "a.b"]


@pytest.mark.parametrize("namespace", BAD_NAMESPACES)
def test_a_path_namespace_that_cannot_exist(client, namespace):
    base = f"{W}/namespaces/{quote(namespace, safe='')}/flunders"
    created = client.post(base, json=flunder("a"))
    assert created.status_code == 404, created.text
    status = created.json()
    assert status["reason"] == "NotFound"
    assert status["details"] == {"name": namespace, "kind": "namespaces"}
    assert status["message"] == f"namespaces {go_quote(namespace)} not found"
    if namespace == "\x00":
        assert status["message"] == 'namespaces "\\x00" not found'  # as kube-apiserver says
    body = orjson.dumps({"metadata": {"name": "a", "resourceVersion": "1"}})
    for method, headers in [("GET", {}), ("PUT", {"content-type": "application/json"}),
                            ("PATCH", MERGE), ("DELETE", {})]:
        r = client.request(method, f"{base}/a", content=body if method in ("PUT", "PATCH")
                           else None, headers=headers)
        assert r.status_code == 404, (method, r.text)
        assert r.json()["message"] == 'flunders.wardle.example.com "a" not found'
    listed = client.get(base)
    assert listed.status_code == 200 and listed.json()["items"] == []
    assert client.get(f"{W}/flunders").json()["items"] == []
