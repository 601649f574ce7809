"""The resource endpoint through HTTP: verbs, negotiation, errors as Status."""

import pytest

from .conftest import TABLE, W, flunder

NS = f"{W}/namespaces/default/flunders"


def create(client, name, ns="default", **spec):
    r = client.post(f"{W}/namespaces/{ns}/flunders", json=flunder(name, **spec))
    assert r.status_code == 201, r.text
    return r.json()


def test_create_fills_system_fields(client):
    obj = create(client, "a", reference="b")
    meta = obj["metadata"]
    assert meta["namespace"] == "default"
    assert meta["uid"] and meta["creationTimestamp"].endswith("Z")
    assert meta["resourceVersion"] == "1"
    assert obj["spec"] == {"reference": "b", "referenceType": "Flunder"}


def test_get_list_and_selectors(client):
    create(client, "a")
    create(client, "b", ns="other")
    assert client.get(f"{NS}/a").json()["metadata"]["name"] == "a"
    everywhere = client.get(f"{W}/flunders").json()
    assert everywhere["kind"] == "FlunderList"
    assert [i["metadata"]["name"] for i in everywhere["items"]] == ["a", "b"]
    assert everywhere["metadata"]["resourceVersion"] == "2"
    only_b = client.get(f"{W}/flunders", params={"labelSelector": "app=b"}).json()
    assert [i["metadata"]["name"] for i in only_b["items"]] == ["b"]
    by_ns = client.get(f"{W}/flunders", params={"fieldSelector": "metadata.namespace=other"})
    assert [i["metadata"]["name"] for i in by_ns.json()["items"]] == ["b"]


def test_pagination(client):
    for name in "abcde":
        create(client, name)
    first = client.get(NS, params={"limit": 2}).json()
    assert len(first["items"]) == 2 and first["metadata"]["remainingItemCount"] == 3
    second = client.get(NS, params={"limit": 2, "continue": first["metadata"]["continue"]}).json()
    assert [i["metadata"]["name"] for i in second["items"]] == ["c", "d"]
    bad = client.get(NS, params={"continue": "garbage"})
    assert bad.status_code == 400 and bad.json()["reason"] == "BadRequest"


def test_table_and_partial_metadata(client):
    create(client, "a")
    table = client.get(NS, headers={"Accept": TABLE}).json()
    assert table["kind"] == "Table"
    assert [c["name"] for c in table["columnDefinitions"]] == ["Name", "Created At"]
    assert table["rows"][0]["cells"][0] == "a"
    assert table["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    none = client.get(NS, params={"includeObject": "None"}, headers={"Accept": TABLE}).json()
    assert "object" not in none["rows"][0]
    accept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
    partial = client.get(NS, headers={"Accept": accept}).json()
    assert partial["kind"] == "PartialObjectMetadataList"
    assert "spec" not in partial["items"][0]
    one = client.get(
        f"{NS}/a",
        headers={"Accept": "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"},
    ).json()
    assert one["kind"] == "PartialObjectMetadata"


def test_protobuf_only_is_406_but_star_falls_back_to_json(client):
    create(client, "a")
    r = client.get(f"{NS}/a", headers={"Accept": "application/vnd.kubernetes.protobuf"})
    assert r.status_code == 406 and r.json()["reason"] == "NotAcceptable"
    r = client.get(f"{NS}/a", headers={"Accept": "application/vnd.kubernetes.protobuf, */*"})
    assert r.status_code == 200 and r.json()["kind"] == "Flunder"
    r = client.get(
        NS, headers={"Accept": "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"}
    )
    assert r.status_code == 406


@pytest.mark.parametrize(
    ("body", "headers", "code", "reason"),
    [
        (b"{not json", {"content-type": "application/json"}, 400, "BadRequest"),
        (b"[]", {"content-type": "application/json"}, 400, "BadRequest"),
        (b"{}", {"content-type": "application/xml"}, 415, "UnsupportedMediaType"),
        (b'{"metadata":{"name":"Bad_Name"}}', {"content-type": "application/json"}, 422, "Invalid"),
        (b'{"metadata":{}}', {"content-type": "application/json"}, 422, "Invalid"),
        (
            b'{"kind":"Fischer","metadata":{"name":"x"}}',
            {"content-type": "application/json"},
            400,
            "BadRequest",
        ),
        (
            b'{"metadata":{"name":"x","namespace":"other"}}',
            {"content-type": "application/json"},
            400,
            "BadRequest",
        ),
        (b'{"metadata":[1]}', {"content-type": "application/json"}, 400, "BadRequest"),
        (b'{"metadata":"x"}', {"content-type": "application/json"}, 400, "BadRequest"),
        (b'{"metadata":true}', {"content-type": "application/json"}, 400, "BadRequest"),
        (
            b'{"metadata":{"name":"x"},"spec":{"reference":5}}',  # Go's decoder refuses it
            {"content-type": "application/json"},
            400,
            "BadRequest",
        ),
        (
            b'{"metadata":{"name":"x"},"spec":{"referenceType":"Fischer"}}',
            {"content-type": "application/json"},
            422,
            "Invalid",
        ),
    ],
)
def test_bad_creates(client, body, headers, code, reason):
    r = client.post(NS, content=body, headers=headers)
    assert r.status_code == code, r.text
    status = r.json()
    assert (status["kind"], status["status"], status["reason"], status["code"]) == (
        "Status",
        "Failure",
        reason,
        code,
    )
    assert status["metadata"] == {}
    assert client.get(NS).json()["items"] == []


def test_body_over_3_mib_is_413(client):
    r = client.post(
        NS,
        content=b"{" + b" " * (3 * 1024 * 1024) + b"}",
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 413 and r.json()["reason"] == "RequestEntityTooLarge"


def test_conflicts(client):
    create(client, "a")
    dup = client.post(NS, json=flunder("a"))
    assert dup.status_code == 409
    assert dup.json()["message"] == 'flunders.wardle.example.com "a" already exists'
    stale = client.put(
        f"{NS}/a", json={**flunder("a"), "metadata": {"name": "a", "resourceVersion": "999"}}
    )
    assert stale.status_code == 409
    assert stale.json()["reason"] == "Conflict"
    no_rv = client.put(f"{NS}/a", json=flunder("a"))
    assert no_rv.status_code == 422
    assert no_rv.json()["message"] == (
        'flunders.wardle.example.com "a" is invalid: metadata.resourceVersion: Invalid value: 0: '
        "must be specified for an update")
    assert no_rv.json()["details"]["kind"] == "flunders"


def test_update_and_patches(client):
    obj = create(client, "a", reference="x")
    obj["spec"]["reference"] = "y"
    updated = client.put(f"{NS}/a", json=obj)
    assert updated.status_code == 200
    assert updated.json()["metadata"]["generation"] == 2
    merged = client.patch(
        f"{NS}/a",
        content=b'{"metadata":{"labels":{"k":"v"}}}',
        headers={"content-type": "application/merge-patch+json"},
    )
    assert merged.status_code == 200 and merged.json()["metadata"]["labels"]["k"] == "v"
    ops = b'[{"op":"test","path":"/spec/reference","value":"y"},{"op":"replace","path":"/spec/reference","value":"z"}]'
    patched = client.patch(
        f"{NS}/a", content=ops, headers={"content-type": "application/json-patch+json"}
    )
    assert patched.json()["spec"]["reference"] == "z"
    failed = client.patch(
        f"{NS}/a",
        content=b'[{"op":"test","path":"/spec/reference","value":"q"}]',
        headers={"content-type": "application/json-patch+json"},
    )
    assert failed.status_code == 422
    smp = client.patch(
        f"{NS}/a", content=b'{"spec":{"reference":"s"}}',
        headers={"content-type": "application/strategic-merge-patch+json"},
    )
    assert smp.status_code == 200 and smp.json()["spec"]["reference"] == "s"
    unknown = client.patch(f"{NS}/a", content=b"{}", headers={"content-type": "text/plain"})
    assert unknown.status_code == 415
    missing = client.patch(
        f"{NS}/zz", content=b"{}", headers={"content-type": "application/merge-patch+json"}
    )
    assert missing.status_code == 404


def test_delete_and_finalizers(client):
    create(client, "a")
    gone = client.delete(f"{NS}/a").json()
    assert gone["status"] == "Success"
    assert gone["details"]["kind"] == "flunders" and gone["details"]["name"] == "a"
    assert client.get(f"{NS}/a").status_code == 404
    body = flunder("f")
    body["metadata"]["finalizers"] = ["example.com/keep"]
    client.post(NS, json=body)
    held = client.delete(f"{NS}/f")
    assert held.status_code == 200 and held.json()["metadata"]["deletionTimestamp"]
    obj = held.json()
    obj["metadata"]["finalizers"] = []
    assert client.put(f"{NS}/f", json=obj).status_code == 200
    assert client.get(f"{NS}/f").status_code == 404


def test_delete_with_a_propagation_policy_marks_and_orphan_false_is_202(client):
    create(client, "o")
    held = client.request("DELETE", f"{NS}/o", json={"propagationPolicy": "Orphan"})
    assert held.status_code == 200 and held.json()["metadata"]["finalizers"] == ["orphan"]
    create(client, "q")
    held = client.delete(f"{NS}/q", params={"propagationPolicy": "Foreground"})
    assert held.status_code == 200
    assert held.json()["metadata"]["finalizers"] == ["foregroundDeletion"]
    body = flunder("k")
    body["metadata"]["finalizers"] = ["example.com/keep", "orphan"]
    client.post(NS, json=body)
    held = client.request("DELETE", f"{NS}/k", json={"orphanDependents": False})
    # not deleted at once and orphanDependents=false: upstream's 202, the orphan finalizer gone
    assert held.status_code == 202 and held.json()["metadata"]["finalizers"] == [
        "example.com/keep"]
    # orphanDependents=false drops foregroundDeletion too: nothing holds the object then
    gone = client.request("DELETE", f"{NS}/q", json={"orphanDependents": False})
    assert gone.status_code == 200 and gone.json()["status"] == "Success"
    create(client, "b")
    gone = client.delete(f"{NS}/b", params={"propagationPolicy": "Background"})
    assert gone.status_code == 200 and gone.json()["status"] == "Success"


def test_dry_run_persists_nothing(client):
    r = client.post(NS, params={"dryRun": "All"}, json=flunder("a"))
    assert r.status_code == 201
    assert client.get(NS).json()["items"] == []
    assert client.post(NS, params={"dryRun": "Some"}, json=flunder("a")).status_code == 422


def test_deletecollection(client):
    for name in "abc":
        create(client, name)
    r = client.delete(NS, params={"labelSelector": "app in (a,b)"})
    assert [i["metadata"]["name"] for i in r.json()["items"]] == ["a", "b"]
    assert [i["metadata"]["name"] for i in client.get(NS).json()["items"]] == ["c"]


def test_paths_and_scopes(client):
    assert client.get(f"{W}/namespaces/default/unknown").status_code == 404
    assert client.get(f"{W}/namespaces/default/fischers").status_code == 404
    assert client.get(f"{W}/flunders/a").status_code == 404
    assert client.get(f"{NS}/a/status").status_code == 404
    assert client.post(f"{W}/fischers", json={"metadata": {"name": "f"}}).status_code == 201
    assert client.get(f"{W}/fischers/f").json()["metadata"].get("namespace") is None


@pytest.mark.parametrize(
    "ops",
    [b'[{"op":"add","path":5,"value":1}]', b'[{"op":"move","from":5,"path":"/x"}]', b"[1]",
     b'[{"op":"add"}]', b'[{"op":"nope","path":"/x"}]', b'{"op":"add"}'],
)
def test_malformed_json_patches_are_400(client, ops):
    create(client, "a")
    r = client.patch(f"{NS}/a", content=ops, headers={"content-type": "application/json-patch+json"})
    assert r.status_code == 400, r.text
    assert r.json()["reason"] == "BadRequest"
    assert client.get(f"{NS}/a").json()["metadata"]["resourceVersion"] == "1"


def test_metadata_that_is_no_object_is_refused_on_every_write(client):
    """PUT: 400, Go's decoder words. Patch: 422 on field `patch`, as upstream's patch.go answers
    a patched object that does not decode. Nothing is stored either way."""
    client.post(NS, json={"metadata": {"name": "m"}})
    current = client.get(f"{NS}/m").json()
    put = client.put(f"{NS}/m", json={**current, "metadata": ["m"]})
    assert put.status_code == 400, put.text
    assert put.json()["message"] == (
        'Flunder in version "v1alpha1" cannot be handled as a Flunder: json: cannot unmarshal '
        "array into Go struct field Flunder.metadata of type v1.ObjectMeta")
    patch = client.patch(f"{NS}/m", content=b'{"metadata":"x"}',
                         headers={"content-type": "application/merge-patch+json"})
    assert patch.status_code == 422, patch.text
    assert patch.json()["details"]["causes"][0]["field"] == "patch"
    assert patch.json()["message"].endswith(
        "json: cannot unmarshal string into Go struct field Flunder.metadata of type v1.ObjectMeta")
    assert client.get(f"{NS}/m").json() == current


def test_empty_metadata_fields_are_no_fields_as_gos_omitempty(client):
    body = flunder("e")
    body["metadata"].update(labels={}, annotations={}, finalizers=[], ownerReferences=[],
                            generateName="")
    meta = client.post(NS, json=body).json()["metadata"]
    assert not {"labels", "annotations", "finalizers", "ownerReferences", "generateName"} & set(
        meta)
    assert "managedFields" not in meta  # no field set, so no manager owns one
    merge = {"content-type": "application/merge-patch+json"}
    client.patch(f"{NS}/e", json={"metadata": {"finalizers": ["example.com/x"]}}, headers=merge)
    meta = client.patch(f"{NS}/e", json={"metadata": {"finalizers": []}}, headers=merge).json()[
        "metadata"]
    assert "finalizers" not in meta
    assert "f:finalizers" not in str(meta.get("managedFields"))


def test_a_patch_cannot_change_the_uid(client):
    uid = create(client, "u")["metadata"]["uid"]
    r = client.patch(f"{NS}/u", json={"metadata": {"uid": "other", "labels": {"x": "y"}}},
                     headers={"content-type": "application/merge-patch+json"})
    assert r.status_code == 422
    assert r.json()["message"] == ('Flunder.wardle.example.com "u" is invalid: metadata.uid: '
                                   'Invalid value: "other": field is immutable')
    # the garbage collector's patch names the uid it expects: the right one applies
    r = client.patch(f"{NS}/u", json={"metadata": {"uid": uid, "labels": {"x": "y"}}},
                     headers={"content-type": "application/strategic-merge-patch+json"})
    assert r.status_code == 200 and r.json()["metadata"]["labels"]["x"] == "y"


@pytest.mark.parametrize("path", [f"{W}/namespaces/qa/unknown", f"{W}/unknown",
                                  f"{W}/namespaces/qa/fischers", f"{NS}/x/status"])
def test_a_path_that_names_nothing_is_upstreams_404_with_empty_details(client, path):
    """Byte for byte what sample-apiserver v0.34.4 answers (go-restful's 404)."""
    r = client.get(path)
    assert r.status_code == 404
    assert r.content == (b'{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure",'
                         b'"message":"the server could not find the requested resource",'
                         b'"reason":"NotFound","details":{},"code":404}')


def test_a_patch_of_no_patch_type_is_gorestfuls_415(client):
    create(client, "m")
    r = client.patch(f"{NS}/m", json={"spec": {}}, headers={"content-type": "application/json"})
    assert r.status_code == 415
    assert r.json() == {"kind": "Status", "apiVersion": "v1", "metadata": {},
                        "status": "Failure", "message": "415: Unsupported Media Type",
                        "reason": "UnsupportedMediaType", "details": {}, "code": 415}


@pytest.mark.parametrize(("agent", "manager"), [(None, "unknown"), ("/x", "unknown"),
                                                ("a\tb/c", "ab"), ("kubectl/v1.34", "kubectl")])
def test_the_default_field_manager_is_upstreams(app, agent, manager):
    from starlette.testclient import TestClient

    with TestClient(app) as c:
        c.headers.pop("user-agent", None)
        if agent is not None:
            c.headers["user-agent"] = agent
        body = flunder("fm")
        r = c.post(NS, json=body)
        assert [m["manager"] for m in r.json()["metadata"]["managedFields"]] == [manager]


def test_the_deprecation_warning_comes_before_the_unknown_field_warnings(client):
    body = flunder("w")
    body["spec"] = {"bogus": 1}
    r = client.post(NS, params={"fieldValidation": "Warn"}, json=body)
    assert r.status_code == 201
    assert r.headers.get_list("warning") == [
        '299 - "wardle.example.com/v1alpha1 Flunder is deprecated in v1.3+, unavailable in '
        'v1.10+"', '299 - "unknown field \\"spec.bogus\\""']


@pytest.mark.parametrize(("method", "body", "message"), [
    ("POST", b"{bad", "the object provided is unrecognized (must be of type Flunder): couldn't "
     "get version/kind; json parse error: invalid character 'b' looking for beginning of "
     "object key string ({bad)"),
    ("POST", b'{"apiVersion":"wardle.example.com/v1alpha1","kind":"Flunder","metadata":{},}',
     "the object provided is unrecognized (must be of type Flunder): couldn't get "
     "version/kind; json parse error: invalid character '}' looking for beginning of object "
     'key string ({"apiVersion":"wardle.example. ...)'),
    ("PUT", b"[1 2]", "the object provided is unrecognized (must be of type Flunder): couldn't "
     "get version/kind; json parse error: invalid character '2' after array element "
     "(5b3120325d)"),
    ("PATCH", b'{"a":1,}', "error decoding patch: invalid character '}' looking for "
     "beginning of object key string"),
])
def test_malformed_json_is_refused_in_upstreams_words(client, method, body, message):
    """What sample-apiserver v0.34.4 answers for the same bytes."""
    create(client, "j")
    path = NS if method == "POST" else f"{NS}/j"
    r = client.request(method, path, content=body,
                       headers={"content-type": "application/merge-patch+json"
                                if method == "PATCH" else "application/json"})
    assert (r.status_code, r.json()["message"]) == (400, message)
