"""Patch work is bounded as upstream bounds it: operation count (413), bytes added by `copy`
(422), and the size of the result (413); nothing is stored when a bound is hit."""

import logging
import tracemalloc

import orjson
import pytest

from k8s_aggapi.endpoints.patch import apply_patch, json_patch
from k8s_aggapi.errors import StatusError
from k8s_aggapi.limits import DEFAULT_LIMITS, ServerLimits

from .conftest import W

NS = f"{W}/namespaces/default/flunders"
JSON_PATCH = {"content-type": "application/json-patch+json"}
MERGE = {"content-type": "application/merge-patch+json"}
REJECTED = "the server rejected our request due to an error in our request"


@pytest.fixture
def stored(client):
    body = {"metadata": {"name": "a"}, "spec": {"reference": "x" * 40}}
    r = client.post(NS, json=body)
    assert r.status_code == 201
    return r.json()


def assert_unchanged(client, stored):
    assert client.get(f"{NS}/a").json() == stored


def test_copy_amplification_is_refused_early_with_bounded_memory(client, stored, caplog):
    caplog.set_level(logging.INFO, logger="k8s_aggapi.patch")
    # the attack from issue 6: each copy doubles /spec; 21 of them are 1.1 KB of body
    ops = [{"op": "copy", "from": "/spec", "path": f"/spec/a{i}"} for i in range(21)]
    body = orjson.dumps(ops)
    assert len(body) < 1200
    tracemalloc.start()
    try:
        r = client.patch(f"{NS}/a", content=body, headers=JSON_PATCH)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert r.status_code == 422, r.text
    status = r.json()
    assert (status["reason"], status["message"]) == ("Invalid", REJECTED)
    assert status["details"] == {}  # upstream drops the detail; it is logged
    [message] = [r.getMessage() for r in caplog.records if r.name == "k8s_aggapi.patch"]
    message = message.removeprefix("JSON patch not applied: ")
    assert message.startswith(
        "Unable to complete the copy, the accumulated size increase of copy is ")
    assert message.endswith(f", exceeding the limit {3 * 1024 * 1024}")
    accumulated = int(message.split(" is ")[1].split(",")[0])
    # the copy that crossed the limit is at most as large as everything copied before it
    assert accumulated <= 2 * DEFAULT_LIMITS.json_patch_max_copy_bytes
    assert peak < 64 * 1024 * 1024  # the unbounded run grew by 475 MB
    assert_unchanged(client, stored)


def test_copy_bytes_are_counted_as_upstream_counts_them():
    limits = ServerLimits(json_patch_max_copy_bytes=20)
    doc = {"a": "0123456789"}  # 12 bytes as compact JSON
    assert json_patch(doc, [{"op": "copy", "from": "/a", "path": "/b"}], limits)["b"] == doc["a"]
    two = [{"op": "copy", "from": "/a", "path": "/b"}, {"op": "copy", "from": "/a", "path": "/c"}]
    with pytest.raises(StatusError) as err:
        json_patch(doc, two, limits)
    assert err.value.code == 422
    assert err.value.detail == (
        "Unable to complete the copy, the accumulated size increase of copy is 24, exceeding "
        "the limit 20")


def test_more_operations_than_allowed_is_413(client, stored):
    ops = [{"op": "test", "path": "/kind", "value": "Flunder"}] * 10_001
    r = client.patch(f"{NS}/a", content=orjson.dumps(ops), headers=JSON_PATCH)
    assert r.status_code == 413, r.text
    assert r.json()["reason"] == "RequestEntityTooLarge"
    assert r.json()["message"] == (
        "Request entity too large: The allowed maximum operations in a JSON patch is 10000, "
        "got 10001")
    assert_unchanged(client, stored)
    at_limit = client.patch(f"{NS}/a", content=orjson.dumps(ops[:10_000]), headers=JSON_PATCH)
    assert at_limit.status_code == 200


def test_move_relocates_without_copying():
    subtree = {"big": list(range(1000))}
    doc = {"a": subtree}
    ops = [{"op": "move", "from": "/a", "path": "/b"}, {"op": "move", "from": "/b", "path": "/a"}]
    limits = ServerLimits(json_patch_max_copy_bytes=1)
    out = json_patch(doc, ops * 100, limits)
    assert out == doc and out is not doc
    assert json_patch({"x": {"a": 1}}, [{"op": "move", "from": "/x", "path": "/y"}])["y"] == {
        "a": 1}


@pytest.mark.parametrize("media", ["json", "merge"])
def test_a_result_larger_than_a_body_may_be_is_413(media):
    limits = ServerLimits(max_body_bytes=1000)
    big = "x" * 2000
    patch = ([{"op": "add", "path": "/spec/x", "value": big}] if media == "json"
             else {"spec": {"x": big}})
    content_type = "application/json-patch+json" if media == "json" else MERGE["content-type"]
    with pytest.raises(StatusError) as err:
        apply_patch(content_type, {"metadata": {"name": "a"}, "spec": {}}, patch, limits)
    assert (err.value.code, err.value.reason) == (413, "RequestEntityTooLarge")
    assert err.value.message == "Request entity too large: limit is 1000"


@pytest.mark.parametrize(
    ("ops", "detail"),
    [
        ([{"op": "test", "path": "/spec/reference", "value": "q"}],
         "testing value /spec/reference failed: test failed"),
        ([{"op": "add", "path": "/nope/x", "value": 1}],
         'add operation does not apply: doc is missing path: "/nope/x": missing value'),
        ([{"op": "replace", "path": "/spec/nope", "value": 1}],
         "replace operation does not apply: doc is missing key: /spec/nope: missing value"),
        ([{"op": "remove", "path": "/spec/nope"}],
         "error in remove for path: '/spec/nope': Unable to remove nonexistent key: nope: "
         "missing value"),
        ([{"op": "copy", "from": "/nope", "path": "/spec/x"}],
         "copy operation does not apply: doc is missing from path: /nope: missing value"),
        ([{"op": "move", "from": "/nope", "path": "/spec/x"}],
         "move operation does not apply: doc is missing from path: /nope: missing value"),
    ],
)
def test_operations_that_do_not_apply_are_422_as_upstream(client, stored, ops, detail, caplog):
    caplog.set_level(logging.INFO, logger="k8s_aggapi.patch")
    r = client.patch(f"{NS}/a", content=orjson.dumps(ops), headers=JSON_PATCH)
    assert r.status_code == 422, r.text
    status = r.json()
    assert (status["reason"], status["message"]) == ("Invalid", REJECTED)
    assert status["details"] == {}  # upstream drops the detail; it is logged
    assert [r.getMessage() for r in caplog.records if r.name == "k8s_aggapi.patch"] == [
        f"JSON patch not applied: {detail}"]
    assert_unchanged(client, stored)


def test_ordinary_patches_still_apply(client, stored):
    ops = [{"op": "add", "path": "/metadata/labels", "value": {"k": "v"}},
           {"op": "copy", "from": "/metadata/labels/k", "path": "/metadata/labels/c"},
           {"op": "replace", "path": "/spec/reference", "value": "y"},
           {"op": "test", "path": "/spec/reference", "value": "y"}]
    r = client.patch(f"{NS}/a", content=orjson.dumps(ops), headers=JSON_PATCH)
    assert r.status_code == 200, r.text
    assert r.json()["metadata"]["labels"] == {"k": "v", "c": "v"}
    assert r.json()["spec"]["reference"] == "y"
    merged = client.patch(f"{NS}/a", content=b'{"metadata":{"labels":{"k":null}}}', headers=MERGE)
    assert merged.json()["metadata"]["labels"] == {"c": "v"}


def test_test_compares_json_values_not_python_ones():
    doc = {"a": True, "n": 1, "l": [1, {"b": None}]}
    for value, ok in [(1, False), (True, True), ("1", False)]:
        op = [{"op": "test", "path": "/a", "value": value}]
        if ok:
            assert json_patch(doc, op) == doc
        else:
            with pytest.raises(StatusError):
                json_patch(doc, op)
    assert json_patch(doc, [{"op": "test", "path": "/n", "value": 1.0},
                            {"op": "test", "path": "/l", "value": [1.0, {"b": None}]}]) == doc
    with pytest.raises(StatusError):
        json_patch(doc, [{"op": "test", "path": "/n", "value": True}])
