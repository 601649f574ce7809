"""The complete sample over HTTP (no cluster): Flunder in v1alpha1 and v1beta1 kept in
v1alpha1, upstream's validation on the hub, BanFlunder."""

import base64
import hashlib

import pytest
from starlette.testclient import TestClient

from examples.sample_apiserver.apis import wardle_admission, wardle_group
from k8s_aggapi.storage import MemoryStorage
from k8s_aggapi.storage.cacher import Cacher
from k8s_aggapi.testing import build_test_app

A = "/apis/wardle.example.com/v1alpha1"
B = "/apis/wardle.example.com/v1beta1"
MERGE = {"Content-Type": "application/merge-patch+json"}


@pytest.fixture
def backend():
    return MemoryStorage()


@pytest.fixture
def client(backend):
    groups = [wardle_group(backend)]
    with TestClient(build_test_app(groups, admission=wardle_admission(groups))) as c:
        yield c


def alpha(name, **spec):
    return {"apiVersion": "wardle.example.com/v1alpha1", "kind": "Flunder",
            "metadata": {"name": name}, "spec": spec}


def beta(name, **spec):
    return {"apiVersion": "wardle.example.com/v1beta1", "kind": "Flunder",
            "metadata": {"name": name}, "spec": spec}


def test_a_v1alpha1_object_read_in_v1beta1(client, backend):
    r = client.post(f"{A}/namespaces/ns/flunders", json=alpha("f", reference="other"))
    assert r.status_code == 201, r.text
    assert r.json()["spec"] == {"reference": "other", "referenceType": "Flunder"}
    got = client.get(f"{B}/namespaces/ns/flunders/f").json()
    assert got["apiVersion"] == "wardle.example.com/v1beta1"
    assert got["spec"] == {"flunderReference": "other", "referenceType": "Flunder"}
    assert got["metadata"]["resourceVersion"] == r.json()["metadata"]["resourceVersion"]
    listed = client.get(f"{B}/flunders").json()
    assert listed["apiVersion"] == "wardle.example.com/v1beta1"
    assert [i["apiVersion"] for i in listed["items"]] == ["wardle.example.com/v1beta1"]


async def test_kept_in_the_storage_version(client, backend):
    client.post(f"{B}/namespaces/ns/flunders",
                json=beta("f", fischerReference="fish", referenceType="Fischer"))
    raw = await backend.get("/wardle.example.com/flunders/ns/f")
    assert raw["apiVersion"] == "wardle.example.com/v1alpha1"
    assert raw["spec"] == {"reference": "fish", "referenceType": "Fischer"}
    assert client.get(f"{A}/namespaces/ns/flunders/f").json()["spec"] == raw["spec"]


def test_patch_and_put_in_either_version(client):
    client.post(f"{A}/namespaces/ns/flunders", json=alpha("f", reference="x"))
    r = client.patch(f"{B}/namespaces/ns/flunders/f", headers=MERGE,
                     json={"spec": {"flunderReference": None, "fischerReference": "fish",
                                    "referenceType": "Fischer"}})
    assert r.status_code == 200, r.text
    assert r.json()["spec"] == {"fischerReference": "fish", "referenceType": "Fischer"}
    r = client.patch(f"{A}/namespaces/ns/flunders/f", headers=MERGE,
                     json={"metadata": {"labels": {"a": "b"}}})
    assert r.json()["spec"] == {"reference": "fish", "referenceType": "Fischer"}
    current = client.get(f"{A}/namespaces/ns/flunders/f").json()
    current["spec"] = {"reference": "y"}
    r = client.put(f"{A}/namespaces/ns/flunders/f", json=current)
    assert r.status_code == 200, r.text
    assert client.get(f"{B}/namespaces/ns/flunders/f").json()["spec"] == {
        "flunderReference": "y", "referenceType": "Flunder"}


def test_watch_converts(client):
    first = client.post(f"{A}/namespaces/ns/flunders", json=alpha("f", reference="x")).json()
    rv = first["metadata"]["resourceVersion"]
    client.post(f"{A}/namespaces/ns/flunders", json=alpha("g", reference="y"))
    with client.stream("GET", f"{B}/namespaces/ns/flunders",
                       params={"watch": "1", "resourceVersion": rv,
                               "timeoutSeconds": "1"}) as r:
        lines = [line for line in r.iter_lines() if line]
    import json
    events = [json.loads(line) for line in lines]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [("ADDED", "g")]
    assert events[0]["object"]["apiVersion"] == "wardle.example.com/v1beta1"
    assert events[0]["object"]["spec"] == {"flunderReference": "y", "referenceType": "Flunder"}


def test_discovery_names_the_storage_version(client):
    expected = base64.b64encode(hashlib.sha256(
        b"wardle.example.com/v1alpha1/Flunder").digest()[:8]).decode()
    for gv in (A, B):
        flunders = next(r for r in client.get(gv).json()["resources"]
                        if r["name"] == "flunders")
        assert flunders["storageVersionHash"] == expected
    group = client.get("/apis/wardle.example.com").json()
    assert group["preferredVersion"]["version"] == "v1beta1"
    assert [v["version"] for v in group["versions"]] == ["v1beta1", "v1alpha1"]


@pytest.mark.parametrize(("spec", "message"), [
    ({"flunderReference": "a", "fischerReference": "b", "referenceType": "Flunder"},
     'spec.fischerReference: Invalid value: "b": cannot be set with flunderReference at the '
     "same time"),
    ({"flunderReference": "a"},
     'spec.flunderReference: Invalid value: "a": cannot be set if referenceType is not Flunder'),
    ({"fischerReference": "a", "referenceType": "Flunder"},
     'spec.fischerReference: Invalid value: "a": cannot be set if referenceType is not Fischer'),
    ({"referenceType": "Fischer"},
     'spec.fischerReference: Invalid value: "": cannot be empty if referenceType is Fischer'),
    ({"referenceType": "Bogus"},
     'spec.referenceType: Invalid value: "Bogus": must be Flunder or Fischer'),
])
def test_upstream_validation_in_v1beta1(client, spec, message):
    r = client.post(f"{B}/namespaces/ns/flunders", json=beta("f", **spec))
    assert r.status_code == 422
    assert r.json()["message"] == f'Flunder.wardle.example.com "f" is invalid: {message}'


def test_v1alpha1_validation_names_the_hub_fields_as_upstream(client):
    r = client.post(f"{A}/namespaces/ns/flunders", json=alpha("f", referenceType="Flunder"))
    assert r.status_code == 422
    assert r.json()["message"] == ('Flunder.wardle.example.com "f" is invalid: '
                                   'spec.flunderReference: Invalid value: "": cannot be empty if '
                                   "referenceType is Flunder")


def test_ban_flunder(client):
    fischer = {"apiVersion": "wardle.example.com/v1alpha1", "kind": "Fischer",
               "metadata": {"name": "fish"}, "disallowedFlunders": ["banned"]}
    assert client.post(f"{A}/fischers", json=fischer).status_code == 201
    for gv, body in ((A, alpha("banned")), (B, beta("banned"))):
        r = client.post(f"{gv}/namespaces/ns/flunders", json=body)
        assert r.status_code == 403
        assert r.json()["message"] == (
            'flunders.wardle.example.com "banned" is forbidden: this name may not be used, '
            "please change the resource name")
        assert r.json()["details"] == {"name": "banned", "group": "wardle.example.com",
                                       "kind": "flunders"}
    assert client.post(f"{A}/namespaces/ns/flunders", json=alpha("allowed")).status_code == 201


class RevisionCounting(MemoryStorage):
    """Counts reads of the current revision: what a consistent read from the cache costs."""

    def __init__(self) -> None:
        super().__init__()
        self.revision_reads = 0

    async def current_revision(self) -> int:
        self.revision_reads += 1
        return await super().current_revision()


def test_ban_flunder_reads_fischers_from_the_watch_cache():
    """As upstream's informer lister: the cache as it is (resourceVersion "0"), so a create
    does not read the backend's revision and wait for the cache to reach it (on etcd: a
    range and a progress notification per create)."""
    backend = RevisionCounting()
    groups = [wardle_group(Cacher(backend))]
    fischer = {"apiVersion": "wardle.example.com/v1alpha1", "kind": "Fischer",
               "metadata": {"name": "fish"}, "disallowedFlunders": ["banned"]}
    with TestClient(build_test_app(groups, admission=wardle_admission(groups))) as c:
        assert c.post(f"{A}/fischers", json=fischer).status_code == 201
        backend.revision_reads = 0
        assert c.post(f"{A}/namespaces/ns/flunders", json=alpha("banned")).status_code == 403
        for name in ("a", "b", "c"):
            assert c.post(f"{A}/namespaces/ns/flunders", json=alpha(name)).status_code == 201
        assert backend.revision_reads == 0


async def test_an_object_kept_in_another_version_reads_in_every_version(client, backend):
    """Written in v1beta1 before the storage version was v1alpha1: read all the same."""
    await backend.create("/wardle.example.com/flunders/ns/old", {
        "apiVersion": "wardle.example.com/v1beta1", "kind": "Flunder",
        "metadata": {"name": "old", "namespace": "ns", "uid": "u"},
        "spec": {"fischerReference": "fish", "referenceType": "Fischer"}})
    alpha_view = client.get(f"{A}/namespaces/ns/flunders/old").json()
    assert alpha_view["apiVersion"] == "wardle.example.com/v1alpha1"
    assert alpha_view["spec"] == {"reference": "fish", "referenceType": "Fischer"}
    listed = client.get(f"{A}/namespaces/ns/flunders").json()["items"]
    assert [i["spec"] for i in listed] == [alpha_view["spec"]]
    assert client.get(f"{B}/namespaces/ns/flunders/old").json()["spec"] == {
        "fischerReference": "fish", "referenceType": "Fischer"}


async def test_a_read_in_the_storage_version_is_what_is_kept(client, backend):
    client.post(f"{A}/namespaces/ns/flunders", json=alpha("f", reference="x"))
    assert client.get(f"{A}/namespaces/ns/flunders/f").json() == await backend.get(
        "/wardle.example.com/flunders/ns/f")


def test_v1alpha1_is_deprecated_as_upstream(client):
    warning = ('299 - "wardle.example.com/v1alpha1 Flunder is deprecated in v1.3+, unavailable '
               'in v1.10+"')
    created = client.post(f"{A}/namespaces/ns/flunders", json=alpha("f", reference="x"))
    assert created.headers.get_list("warning") == [warning]
    assert client.get(f"{A}/namespaces/ns/flunders").headers.get_list("warning") == [warning]
    refused = client.post(f"{A}/namespaces/ns/flunders", json=alpha("f", reference="x"))
    assert refused.status_code == 409
    assert refused.headers.get_list("warning") == [warning]
    assert client.get(f"{A}/fischers").headers.get_list("warning") == [
        warning.replace("Flunder", "Fischer")]
    assert client.get(f"{B}/namespaces/ns/flunders").headers.get_list("warning") == []
