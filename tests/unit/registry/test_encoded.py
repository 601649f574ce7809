"""The stored objects' wire encodings (`registry.encoded`): found by identity, one per object
stored and version, replaced and forgotten with the object, and lists through the sample
that read the same as encoding every item anew, in the storage version and converted."""

import orjson
import pytest
from starlette.testclient import TestClient

from examples.sample_apiserver.apis import wardle_group
from k8s_aggapi.registry.encoded import Encodings, ListEncoding, around, partial_metadata
from k8s_aggapi.registry.rest import TableOptions
from k8s_aggapi.registry.table import DefaultTableConvertor, table_body
from k8s_aggapi.storage import MemoryStorage
from k8s_aggapi.testing import build_test_app

V = "example.com/v1"
A = "/apis/wardle.example.com/v1alpha1/namespaces/ns/flunders"
B = "/apis/wardle.example.com/v1beta1/namespaces/ns/flunders"
TABLE = {"Accept": "application/json;as=Table;v=v1;g=meta.k8s.io"}
PARTIAL = {"Accept": "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io"}
MERGE = {"Content-Type": "application/merge-patch+json"}


def thing(name, size=1, ns="ns", version=V):
    return {"apiVersion": version, "kind": "Thing",
            "metadata": {"name": name, "namespace": ns}, "spec": {"size": size}}


def test_encoded_once_per_object():
    enc = Encodings()
    items = [thing("a"), thing("b")]
    first = enc.json(items)
    assert first == [orjson.dumps(o) for o in items]
    again = enc.json(items)
    assert all(x is y for x, y in zip(first, again, strict=True))  # found, not encoded
    assert len(enc) == 2


def test_an_equal_copy_is_another_object():
    enc = Encodings()
    one = thing("a")
    enc.json([one])
    copy = thing("a", size=2)  # same key, what the store holds after an update
    assert enc.json([copy]) == [orjson.dumps(copy)]
    assert len(enc) == 1  # replaced, not added


def test_the_same_revision_read_again_finds_the_held_encoding():
    enc = Encodings()
    stored = {**thing("a"), "metadata": {"name": "a", "namespace": "ns", "resourceVersion": "7"}}
    first = enc.json([stored])[0]
    decoded = orjson.loads(orjson.dumps(stored))  # as etcd gives it again
    assert enc.json([decoded])[0] is first
    assert enc.partial([decoded]) == [orjson.dumps(partial_metadata(stored))]
    newer = {**decoded, "metadata": {**decoded["metadata"], "resourceVersion": "8"},
             "spec": {"size": 5}}
    assert enc.json([newer]) == [orjson.dumps(newer)]
    assert len(enc) == 1


def test_versions_are_kept_apart_and_forgotten_together():
    enc = Encodings()
    enc.json([thing("a"), thing("a", version="example.com/v2"), thing("b")])
    assert len(enc) == 3
    enc.forget("ns", "a")
    assert len(enc) == 1
    enc.forget("other", "b")  # another namespace's b
    assert len(enc) == 1


def test_views_of_one_object():
    enc = Encodings()
    obj = thing("a")
    assert enc.partial([obj]) == [orjson.dumps(partial_metadata(obj))]
    table = DefaultTableConvertor()
    row = orjson.loads(enc.rows([obj], table, table.cells, "Metadata")[0])
    assert row == {"cells": ["a", None], "object": partial_metadata(obj)}
    assert orjson.loads(enc.rows([obj], table, table.cells, "None")[0]) == {"cells": ["a", None]}
    other = DefaultTableConvertor()  # another convertor gets rows of its own
    assert enc.rows([obj], other, lambda o: ["x"], "None") == [b'{"cells":["x"]}']
    assert len(enc) == 1
    enc.forget("ns", "a")
    assert len(enc) == 0
    assert all(not table for table in enc._views.values())


def test_a_complete_list_drops_objects_gone():
    enc = Encodings()
    kept, gone = thing("a"), thing("b")
    ListEncoding(enc, V, complete=True).json([kept, gone])
    ListEncoding(enc, V).json([kept])  # a page: nothing follows from it
    assert len(enc) == 2
    ListEncoding(enc, V, complete=True).json([kept])
    assert len(enc) == 1
    assert enc.json([kept]) == [orjson.dumps(kept)]


def test_a_whole_list_is_joined_once_while_it_holds_the_same_objects():
    enc = Encodings()
    items = [thing("a"), thing("b")]
    whole = ListEncoding(enc, V, whole="/things/ns/")
    first = whole.json(items)
    assert first == orjson.dumps(items)[1:-1]
    assert whole.json(list(items)) is first  # another list of the same objects
    assert ListEncoding(enc, "example.com/v2", whole="/things/ns/").json(items) is not first
    assert whole.partial(items) is not first  # a view of its own
    changed = [items[0], thing("b", size=2)]
    assert whole.json(changed) == orjson.dumps(changed)[1:-1]
    again = whole.json(changed)
    enc.forget("ns", "x")  # any write forgets every join
    assert whole.json(changed) is not again
    assert ListEncoding(enc, V).json(items) == orjson.dumps(items)[1:-1]


def test_around_gives_the_body_in_parts():
    items = [thing("a"), thing("b"), thing("c")]
    for n in range(4):
        body = {"kind": "ThingList", "metadata": {"resourceVersion": "5"}, "items": items[:n]}
        joined = b",".join(orjson.dumps(o) for o in items[:n])
        assert b"".join(around({**body, "items": []}, joined)) == orjson.dumps(body)
    with pytest.raises(ValueError, match="last member"):
        around({"items": [], "metadata": {}}, b"")


# through the sample: v1alpha1 (the storage version, read as kept) and v1beta1 (the hub)
@pytest.fixture
def backend():
    return MemoryStorage()


@pytest.fixture
def group(backend):
    return wardle_group(backend)


@pytest.fixture
def client(group):
    with TestClient(build_test_app([group])) as c:
        yield c


def encodings(group):
    hub = group.resource("v1beta1", "flunders").rest
    reader = group.resource("v1alpha1", "flunders").rest.reader
    assert reader.encodings is hub.encodings  # one key space, one cache
    return hub.encodings


def create(client, n):
    for i in range(n):
        r = client.post(A, json={"metadata": {"name": f"f{i}", "labels": {"i": str(i)}},
                                 "spec": {"reference": f"r{i}"}})
        assert r.status_code == 201, r.text


def test_lists_read_as_each_object_reads(client, group):
    create(client, 3)
    for path in (A, B):
        for _ in range(2):  # encoded, then found
            listed = client.get(path).json()
            assert listed["items"] == [client.get(f"{path}/f{i}").json() for i in range(3)]
            partial = client.get(path, headers=PARTIAL).json()
            assert partial["items"] == [partial_metadata(o) for o in listed["items"]]
            table = client.get(path, headers=TABLE).json()
            convertor = DefaultTableConvertor()
            expected = table_body(convertor.convert_to_table(listed["items"], TableOptions()),
                                  list_meta=listed["metadata"])
            assert table == expected
            whole = client.get(path, headers=TABLE, params={"includeObject": "Object"}).json()
            assert [r["object"] for r in whole["rows"]] == listed["items"]
    assert len(encodings(group)) == 6  # three objects, in two versions


def test_an_update_in_one_version_is_read_in_both(client, group):
    create(client, 2)
    for path in (A, B):
        client.get(path)
        client.get(path, headers=TABLE)
    r = client.patch(f"{B}/f0", content=b'{"spec":{"flunderReference":"new"}}', headers=MERGE)
    assert r.status_code == 200, r.text
    alpha = client.get(A).json()["items"]
    assert [o["spec"]["reference"] for o in alpha] == ["new", "r1"]
    assert alpha[0]["metadata"]["resourceVersion"] == r.json()["metadata"]["resourceVersion"]
    beta = client.get(B).json()["items"]
    assert [o["spec"]["flunderReference"] for o in beta] == ["new", "r1"]
    assert beta[0]["apiVersion"] == "wardle.example.com/v1beta1"
    r = client.patch(f"{A}/f1", content=b'{"metadata":{"labels":{"x":"y"}}}', headers=MERGE)
    assert r.status_code == 200, r.text
    rows = client.get(B, headers=TABLE).json()["rows"]
    assert rows[1]["object"]["metadata"]["labels"] == {"i": "1", "x": "y"}
    assert len(encodings(group)) == 3  # f1 in v1alpha1 forgotten, not read since


def test_deleted_objects_leave_no_encoding(client, group):
    create(client, 20)
    for path in (A, B):
        client.get(path)
        client.get(path, headers=PARTIAL)
        client.get(path, headers=TABLE)
    cache = encodings(group)
    assert len(cache) == 40
    for i in range(10):
        assert client.delete(f"{A}/f{i}").status_code == 200
    for i in range(10, 15):
        assert client.delete(f"{B}/f{i}").status_code == 200
    assert len(cache) == 10
    assert client.delete(B).status_code == 200  # deletecollection
    assert len(cache) == 0
    assert all(not table for table in cache._views.values())
    assert not cache._joined
    assert client.get(A).json()["items"] == []


async def test_deleted_behind_the_servers_back(client, group, backend):
    """Another server on the same storage deletes: the next complete list forgets it."""
    create(client, 3)
    client.get("/apis/wardle.example.com/v1alpha1/flunders")
    cache = encodings(group)
    assert len(cache) == 3
    await backend.delete("/wardle.example.com/flunders/ns/f1")
    client.get(f"{A}?limit=1")  # a page says nothing of the rest
    assert len(cache) == 3
    items = client.get("/apis/wardle.example.com/v1alpha1/flunders").json()["items"]
    assert [o["metadata"]["name"] for o in items] == ["f0", "f2"]
    assert len(cache) == 2


def test_selected_and_paged_lists(client):
    create(client, 5)
    client.get(A)
    selected = client.get(A, params={"labelSelector": "i in (1,3)"}).json()["items"]
    assert [o["metadata"]["name"] for o in selected] == ["f1", "f3"]
    page = client.get(A, params={"limit": 2}).json()
    assert [o["metadata"]["name"] for o in page["items"]] == ["f0", "f1"]
    rest = client.get(A, params={"continue": page["metadata"]["continue"]}).json()
    assert [o["metadata"]["name"] for o in rest["items"]] == ["f2", "f3", "f4"]


def test_a_joined_list_is_one_body_of_its_declared_length(client):
    create(client, 3)
    for headers in ({}, TABLE, PARTIAL):
        for _ in range(2):  # joined, then the kept join
            r = client.get(A, headers=headers)
            assert r.status_code == 200
            assert int(r.headers["content-length"]) == len(r.content)
            assert r.headers["content-type"] == "application/json"
            assert len(r.json().get("items", r.json().get("rows"))) == 3
