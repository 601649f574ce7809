"""DeleteOptions, from a body or the query, on single and collection deletes: a badly typed
field is a 400 naming the field and its type, a refused value is upstream's 422, and in every
such case nothing is deleted."""

import re

import orjson
import pytest

from .conftest import W, flunder

NS = f"{W}/namespaces/default/flunders"
PYTHON_WORDS = re.compile(r"\b(NoneType|dict|list|int|str|bool|float|tuple|None)\b")


def create(client, name):
    r = client.post(NS, json=flunder(name))
    assert r.status_code == 201
    return r.json()


def delete(client, path, body=None, params=None):
    content = body if isinstance(body, bytes) else orjson.dumps(body) if body is not None else b""
    return client.request("DELETE", path, content=content, params=params,
                          headers={"content-type": "application/json"})


def names(client):
    return [i["metadata"]["name"] for i in client.get(NS).json()["items"]]


BAD_TYPES = [
    ({"preconditions": [None, None]}, 'preconditions in body must be of type object: "array"'),
    ({"preconditions": "x"}, 'preconditions in body must be of type object: "string"'),
    ({"preconditions": 5}, 'preconditions in body must be of type object: "integer"'),
    ({"preconditions": {"uid": {}}}, 'preconditions.uid in body must be of type string: "object"'),
    ({"preconditions": {"resourceVersion": 1}},
     'preconditions.resourceVersion in body must be of type string: "integer"'),
    ({"dryRun": "All"}, 'dryRun in body must be of type array: "string"'),
    ({"dryRun": [1]}, 'dryRun[0] in body must be of type string: "integer"'),
    ({"gracePeriodSeconds": "abc"}, 'gracePeriodSeconds in body must be of type integer: "string"'),
    ({"gracePeriodSeconds": 1.5}, 'gracePeriodSeconds in body must be of type integer: "number"'),
    ({"gracePeriodSeconds": True},
     'gracePeriodSeconds in body must be of type integer: "boolean"'),
    ({"gracePeriodSeconds": 2**63},
     "gracePeriodSeconds in body should be less than or equal to 9223372036854775807"),
    ({"orphanDependents": "yes"}, 'orphanDependents in body must be of type boolean: "string"'),
    ({"propagationPolicy": 1}, 'propagationPolicy in body must be of type string: "integer"'),
    ({"kind": 5}, 'kind in body must be of type string: "integer"'),
    ({"apiVersion": []}, 'apiVersion in body must be of type string: "array"'),
    ({"kind": "Pod"}, 'no kind "Pod" is registered for version "meta.k8s.io/v1"'),
    ({"kind": "DeleteOptions", "apiVersion": "other/v9"},
     'no kind "DeleteOptions" is registered for version "other/v9"'),
    (b"[1]", "the body of the request must be a JSON object"),
]

REFUSED = [
    ({"orphanDependents": True, "propagationPolicy": "Orphan"},
     'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Invalid value: "Orphan": '
     "orphanDependents and deletionPropagation cannot be both set"),
    ({"propagationPolicy": "Sometimes"},
     'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: '
     '"Sometimes": supported values: "Foreground", "Background", "Orphan", "nil"'),
    ({"propagationPolicy": ""},
     'DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: "": '
     'supported values: "Foreground", "Background", "Orphan", "nil"'),
    ({"dryRun": ["All", "Some"]},
     'DeleteOptions.meta.k8s.io "" is invalid: dryRun: Unsupported value: ["All","Some"]: '
     'supported values: "All"'),
]


@pytest.mark.parametrize("collection", [False, True])
@pytest.mark.parametrize(("body", "message"), BAD_TYPES)
def test_badly_typed_options_are_400_and_delete_nothing(client, body, message, collection):
    create(client, "a")
    r = delete(client, NS if collection else f"{NS}/a", body)
    assert r.status_code == 400, r.text
    assert r.json()["message"] == message
    assert not PYTHON_WORDS.search(r.json()["message"])
    assert names(client) == ["a"]


@pytest.mark.parametrize("collection", [False, True])
@pytest.mark.parametrize(("body", "message"), REFUSED)
def test_refused_options_are_422_and_delete_nothing(client, body, message, collection):
    create(client, "a")
    r = delete(client, NS if collection else f"{NS}/a", body)
    assert r.status_code == 422, r.text
    assert r.json()["message"] == message
    assert r.json()["details"]["kind"] == "DeleteOptions"
    assert r.json()["details"]["group"] == "meta.k8s.io"
    assert names(client) == ["a"]


@pytest.mark.parametrize("collection", [False, True])
@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"gracePeriodSeconds": "abc"}, 400),
        ({"gracePeriodSeconds": "9" * 400}, 400),
        ({"dryRun": "Some"}, 422),
        ({"propagationPolicy": "Bad"}, 422),
        ({"orphanDependents": "true", "propagationPolicy": "Orphan"}, 422),
    ],
)
def test_bad_query_options_delete_nothing(client, params, code, collection):
    create(client, "a")
    r = delete(client, NS if collection else f"{NS}/a", params=params)
    assert r.status_code == code, r.text
    assert names(client) == ["a"]


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "DeleteOptions", "apiVersion": "v1", "propagationPolicy": "Background"},
        {"kind": "DeleteOptions", "apiVersion": "meta.k8s.io/v1", "gracePeriodSeconds": 0,
         "preconditions": {"uid": None, "resourceVersion": None}},
        {"apiVersion": "wardle.example.com/v1alpha1", "kind": "DeleteOptions",
         "orphanDependents": False, "dryRun": []},
        {"preconditions": None, "dryRun": None, "gracePeriodSeconds": -1},
    ],
)
def test_well_typed_options_delete(client, body):
    create(client, "a")
    assert delete(client, f"{NS}/a", body).status_code == 200
    assert names(client) == []


def test_dry_run_in_the_body_deletes_nothing(client):
    create(client, "a")
    assert delete(client, f"{NS}/a", {"dryRun": ["All"]}).status_code == 200
    assert delete(client, NS, {"dryRun": ["All"]}).json()["items"][0]["metadata"]["name"] == "a"
    assert names(client) == ["a"]


def test_a_body_wins_over_the_query_as_upstream(client):
    create(client, "a")
    # the query's dryRun is not read when a body carries the options
    assert delete(client, f"{NS}/a", {"gracePeriodSeconds": 0},
                  params={"dryRun": "All"}).status_code == 200
    assert names(client) == []


def test_preconditions_hold_on_single_and_collection_deletes(client):
    obj = create(client, "a")
    wrong = {"preconditions": {"uid": "not-" + obj["metadata"]["uid"]}}
    assert delete(client, f"{NS}/a", wrong).status_code == 409
    assert delete(client, NS, wrong).status_code == 409
    assert names(client) == ["a"]
    # an empty uid is a precondition too (upstream: a set pointer to "")
    assert delete(client, f"{NS}/a", {"preconditions": {"uid": ""}}).status_code == 409
    right = {"preconditions": {"uid": obj["metadata"]["uid"]}}
    assert delete(client, NS, right).status_code == 200
    assert names(client) == []
