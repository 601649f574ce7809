"""Server-side apply, managedFields on every write and strategic merge patch over HTTP."""

import orjson

from .conftest import W, flunder

NS = f"{W}/namespaces/default/flunders"
APPLY = {"content-type": "application/apply-patch+yaml"}
SMP = {"content-type": "application/strategic-merge-patch+json"}
MERGE = {"content-type": "application/merge-patch+json"}
V = "wardle.example.com/v1alpha1"


def managers(obj):
    return {(e["manager"], e["operation"]): e["fieldsV1"]
            for e in obj["metadata"].get("managedFields", [])}


def test_create_records_the_field_manager_or_the_user_agent(client):
    r = client.post(f"{NS}?fieldManager=kubectl-create", json=flunder("a", reference="r"))
    assert r.status_code == 201
    (entry,) = r.json()["metadata"]["managedFields"]
    assert entry["manager"] == "kubectl-create" and entry["operation"] == "Update"
    assert entry["apiVersion"] == V and entry["fieldsType"] == "FieldsV1" and entry["time"]
    assert entry["fieldsV1"] == {"f:metadata": {"f:labels": {".": {}, "f:app": {}}},
                                 "f:spec": {"f:reference": {}, "f:referenceType": {}}}
    r = client.post(NS, json=flunder("b"), headers={"user-agent": "kubectl/v1.34.0 (linux)"})
    assert {e["manager"] for e in r.json()["metadata"]["managedFields"]} == {"kubectl"}


def test_apply_creates_then_conflicts_then_forces(client):
    body = orjson.dumps(flunder("a", reference="r"))
    r = client.patch(f"{NS}/a?fieldManager=alice", content=body, headers=APPLY)
    assert r.status_code == 201, r.text
    assert managers(r.json()) == {("alice", "Apply"): {
        "f:metadata": {"f:labels": {"f:app": {}}}, "f:spec": {"f:reference": {}}}}
    yaml_body = (b"apiVersion: wardle.example.com/v1alpha1\nkind: Flunder\n"
                 b"metadata:\n  name: a\nspec:\n  reference: other\n")
    r = client.patch(f"{NS}/a?fieldManager=bob", content=yaml_body, headers=APPLY)
    assert r.status_code == 409
    status = r.json()
    assert status["reason"] == "Conflict" and status["code"] == 409
    assert status["message"] == ('Apply failed with 1 conflict: conflict with "alice": '
                                 ".spec.reference")
    assert status["details"]["causes"] == [{"reason": "FieldManagerConflict",
                                            "message": 'conflict with "alice"',
                                            "field": ".spec.reference"}]
    r = client.patch(f"{NS}/a?fieldManager=bob&force=true", content=yaml_body, headers=APPLY)
    assert r.status_code == 200 and r.json()["spec"]["reference"] == "other"
    assert managers(r.json()) == {("alice", "Apply"): {"f:metadata": {"f:labels": {"f:app": {}}}},
                                  ("bob", "Apply"): {"f:spec": {"f:reference": {}}}}


def test_conflict_with_an_update_manager_names_its_version(client):
    client.post(f"{NS}?fieldManager=kubectl-client-side-apply", json=flunder("a", reference="r"))
    r = client.patch(f"{NS}/a?fieldManager=kubectl", headers=APPLY,
                     content=orjson.dumps(flunder("a", reference="s")))
    assert r.status_code == 409
    assert r.json()["message"] == ('Apply failed with 1 conflict: conflict with '
                                   f'"kubectl-client-side-apply" using {V}: .spec.reference')


def test_a_field_no_longer_applied_is_removed(client):
    body = flunder("a", reference="r")
    body["metadata"]["labels"]["extra"] = "e"
    client.patch(f"{NS}/a?fieldManager=alice", headers=APPLY, content=orjson.dumps(body))
    r = client.patch(f"{NS}/a?fieldManager=alice", headers=APPLY,
                     content=orjson.dumps(flunder("a", reference="r")))
    assert r.status_code == 200
    assert r.json()["metadata"]["labels"] == {"app": "a"}


def test_update_takes_fields_from_the_applier(client):
    client.patch(f"{NS}/a?fieldManager=alice", headers=APPLY,
                 content=orjson.dumps(flunder("a", reference="r")))
    r = client.patch(f"{NS}/a?fieldManager=editor", headers=MERGE,
                     content=b'{"spec":{"reference":"s"}}')
    assert r.status_code == 200
    got = managers(r.json())
    assert got[("editor", "Update")] == {"f:spec": {"f:reference": {}}}
    assert got[("alice", "Apply")] == {"f:metadata": {"f:labels": {"f:app": {}}}}


def test_apply_refusals(client):
    body = orjson.dumps(flunder("a"))
    r = client.patch(f"{NS}/a", content=body, headers=APPLY)
    assert r.status_code == 422
    assert r.json()["message"] == ('PatchOptions.meta.k8s.io "" is invalid: fieldManager: '
                                   "Required value: is required for apply patch")
    client.post(NS, json=flunder("a"))
    r = client.patch(f"{NS}/a?force=true", content=b"{}", headers=MERGE)
    assert r.status_code == 422
    assert "force: Forbidden: may not be specified for non-apply patch" in r.json()["message"]
    bad = flunder("a")
    bad["metadata"]["managedFields"] = [{"manager": "x", "operation": "Apply"}]
    r = client.patch(f"{NS}/a?fieldManager=m", content=orjson.dumps(bad), headers=APPLY)
    assert (r.status_code, r.json()["message"]) == (400, "metadata.managedFields must be nil")
    r = client.patch(f"{NS}/a?fieldManager=m", content=b"a: [b", headers=APPLY)
    assert r.status_code == 400 and r.json()["message"].startswith("error decoding YAML: ")
    r = client.patch(f"{NS}/a?fieldManager=m", content=b'{"metadata":{"name":"a"}}',
                     headers=APPLY)
    assert r.status_code == 400 and r.json()["message"].startswith("Object 'Kind' is missing")
    r = client.patch(f"{NS}/a?fieldManager=m", content=orjson.dumps(flunder("b")),
                     headers=APPLY)
    assert r.status_code == 400
    r = client.patch(f"{NS}/a?fieldManager=m", content=b"x: &a [1]\ny: *a", headers=APPLY)
    assert r.status_code == 400


def test_dry_run_apply_stores_nothing(client):
    r = client.patch(f"{NS}/a?fieldManager=m&dryRun=All", headers=APPLY,
                     content=orjson.dumps(flunder("a", reference="r")))
    assert r.status_code == 201
    assert client.get(f"{NS}/a").status_code == 404


def test_managed_fields_can_be_stripped_with_one_empty_entry(client):
    client.post(NS, json=flunder("a", reference="r"))
    r = client.patch(f"{NS}/a", headers=MERGE,
                     content=b'{"metadata":{"managedFields":[{}]}}')
    assert r.status_code == 200 and "managedFields" not in r.json()["metadata"]


def test_strategic_merge_patch_merges_finalizers_and_owner_references(client):
    body = flunder("a")
    body["metadata"]["finalizers"] = ["example.com/a"]
    body["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "ConfigMap", "name": "o", "uid": "u1"}]
    client.post(NS, json=body)
    r = client.patch(f"{NS}/a", headers=SMP, content=orjson.dumps({"metadata": {
        "finalizers": ["example.com/b"],
        "ownerReferences": [{"apiVersion": "v1", "kind": "ConfigMap", "name": "p", "uid": "u2"}],
    }, "spec": {"reference": "x"}}))
    assert r.status_code == 200, r.text
    meta = r.json()["metadata"]
    assert meta["finalizers"] == ["example.com/a", "example.com/b"]
    assert [o["uid"] for o in meta["ownerReferences"]] == ["u1", "u2"]
    r = client.patch(f"{NS}/a", headers=SMP, content=orjson.dumps({"metadata": {
        "$deleteFromPrimitiveList/finalizers": ["example.com/a", "example.com/b"],
        "ownerReferences": [{"uid": "u1", "$patch": "delete"}]}}))
    meta = r.json()["metadata"]
    assert "finalizers" not in meta or meta["finalizers"] == []
    assert [o["uid"] for o in meta["ownerReferences"]] == ["u2"]
    r = client.patch(f"{NS}/a", headers=SMP, content=b'{"spec":{"$patch":"bogus"}}')
    assert r.status_code == 400


def test_an_undeclared_field_in_an_apply_is_upstreams_typed_patch_500(client):
    """sample-apiserver v0.34.4, byte for byte (kubectl: `Error from server: failed to create
    typed patch object ...`), whatever fieldValidation asks."""
    config = ("apiVersion: wardle.example.com/v1alpha1\nkind: Flunder\nmetadata: {name: u, "
              "namespace: default}\nspec: {bogus: 1}\n")
    for how in ("Strict", "Ignore"):
        r = client.patch(f"{NS}/u?fieldManager=m&fieldValidation={how}", content=config,
                         headers=APPLY)
        assert r.status_code == 500
        assert r.content == (
            b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":'
            b'"failed to create typed patch object (default/u; wardle.example.com/v1alpha1, '
            b'Kind=Flunder): .spec.bogus: field not declared in schema","code":500}')
    two = config.replace("{bogus: 1}", "{a: 1, b: 2}")
    r = client.patch(f"{NS}/u?fieldManager=m", content=two, headers=APPLY)
    assert r.json()["message"].endswith(
        "Kind=Flunder): errors:\n  .spec.a: field not declared in schema\n  .spec.b: field not "
        "declared in schema")
    assert client.get(f"{NS}/u").status_code == 404
