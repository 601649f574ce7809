"""fieldValidation (Strict, Warn, Ignore) on create, PUT, merge patch and JSON patch, Go's
strict types and null fields, validation on every write, and no Python words in any answer."""

import re

import orjson
import pytest

from .conftest import W, flunder

NS = f"{W}/namespaces/default/flunders"
FISCHERS = f"{W}/fischers"
MERGE = {"content-type": "application/merge-patch+json"}
JSONPATCH = {"content-type": "application/json-patch+json"}
JSON = {"content-type": "application/json"}
REFUSED = 'Flunder in version "v1alpha1" cannot be handled as a Flunder: '


def field_warnings(response):
    """The Warning headers but v1alpha1's deprecation (upstream sends both)."""
    return [w for w in response.headers.get_list("warning") if "is deprecated in" not in w]


def with_unknown(name):
    body = flunder(name, reference="x")
    body["spec"]["foo"] = 1
    body["metadata"]["bar"] = "b"
    return body


def stored(client, name):
    r = client.get(f"{NS}/{name}")
    assert r.status_code == 200, r.text
    return r.json()


def put_body(client, name, **changes):
    obj = stored(client, name)
    obj["spec"].update(changes)
    return obj


# create -------------------------------------------------------------------------------
def test_strict_create_names_each_unknown_field(client):
    r = client.post(NS, json=with_unknown("a"), params={"fieldValidation": "Strict"})
    assert r.status_code == 400
    assert r.json()["reason"] == "BadRequest"
    assert r.json()["message"] == (REFUSED + 'strict decoding error: unknown field "metadata.bar", '
                                   'unknown field "spec.foo"')
    assert client.get(f"{NS}/a").status_code == 404


@pytest.mark.parametrize("params", [{}, {"fieldValidation": "Warn"}])
def test_warn_create_stores_and_warns(client, params):
    r = client.post(NS, json=with_unknown("a"), params=params)
    assert r.status_code == 201, r.text
    assert field_warnings(r) == [
        '299 - "unknown field \\"metadata.bar\\""', '299 - "unknown field \\"spec.foo\\""']
    assert "foo" not in stored(client, "a")["spec"]


def test_ignore_create_drops_silently(client):
    r = client.post(NS, json=with_unknown("a"), params={"fieldValidation": "Ignore"})
    assert r.status_code == 201
    assert not field_warnings(r)
    assert "bar" not in stored(client, "a")["metadata"]


def test_known_fields_give_no_warning(client):
    r = client.post(NS, json=flunder("a", reference="x", referenceType="Flunder"))
    assert r.status_code == 201
    assert not field_warnings(r)


def test_duplicate_fields(client):
    raw = (b'{"metadata":{"name":"a","name":"a","labels":{"x":"1","x":"2"}},'
           b'"spec":{"reference":"r","reference":"s"}}')
    r = client.post(NS, content=raw, headers=JSON, params={"fieldValidation": "Strict"})
    assert r.status_code == 400
    assert r.json()["message"] == REFUSED + (
        'strict decoding error: duplicate field "metadata.name", duplicate field '
        '"metadata.labels.x", duplicate field "spec.reference"')
    warned = client.post(NS, content=raw, headers=JSON)
    assert warned.status_code == 201
    assert '299 - "duplicate field \\"spec.reference\\""' in field_warnings(warned)
    assert stored(client, "a")["spec"]["reference"] == "s"  # the last one wins, as in Go


def test_repeats_of_an_unknown_field_are_one_unknown_field(client):
    raw = b'{"metadata":{"name":"a"},"spec":{"foo":{"x":1,"x":2},"foo":1}}'
    r = client.post(NS, content=raw, headers=JSON, params={"fieldValidation": "Strict"})
    assert r.status_code == 400
    assert r.json()["message"] == REFUSED + 'strict decoding error: unknown field "spec.foo"'


def test_at_most_a_hundred_problems_are_named(client):
    body = flunder("a")
    body["spec"].update({f"u{i}": i for i in range(5000)})
    r = client.post(NS, json=body)
    assert r.status_code == 201
    assert len(field_warnings(r)) == 100
    keys = ",".join(f'"k":{i}' for i in range(5000))
    raw = f'{{"metadata":{{"name":"b"}},"spec":{{"reference":"r",{keys}}}}}'.encode()
    r = client.post(NS, content=raw, headers=JSON, params={"fieldValidation": "Strict"})
    assert r.status_code == 400
    assert r.json()["message"].count("unknown field") == 1  # a repeated unknown field


def test_a_colon_in_a_value_is_no_duplicate(client):
    raw = b'{"metadata":{"name":"a","annotations":{"u":"http://x:80","e":"\\u003a"}}}'
    r = client.post(NS, content=raw, headers=JSON, params={"fieldValidation": "Strict"})
    assert r.status_code == 201, r.text


def test_unknown_fields_in_list_items_and_nested_models(client):
    body = flunder("a")
    body["metadata"]["ownerReferences"] = [
        {"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "u", "extra": True}]
    body["metadata"]["managedFields"] = [{"manager": "m", "fieldsV1": {"f:spec": {}}}]
    r = client.post(NS, json=body, params={"fieldValidation": "Strict"})
    assert r.status_code == 400
    assert r.json()["message"] == (
        REFUSED + 'strict decoding error: unknown field "metadata.ownerReferences[0].extra"')


def test_fischer_unknown_and_list_types(client):
    body = {"metadata": {"name": "f"}, "disallowedFlunders": ["a"], "spec": {}}
    r = client.post(FISCHERS, json=body, params={"fieldValidation": "Strict"})
    assert r.status_code == 400
    assert r.json()["message"] == (
        'Fischer in version "v1alpha1" cannot be handled as a Fischer: strict decoding error: '
        'unknown field "spec"')
    r = client.post(FISCHERS, json={"metadata": {"name": "f"}, "disallowedFlunders": [1]})
    assert r.status_code == 400
    assert r.json()["message"] == (
        'Fischer in version "v1alpha1" cannot be handled as a Fischer: json: cannot unmarshal '
        "number into Go struct field Fischer.disallowedFlunders of type string")


# strict types and null ----------------------------------------------------------------
@pytest.mark.parametrize(("spec", "expected"), [
    ({"reference": 5}, "number into Go struct field FlunderSpec.spec.reference of type string"),
    ({"reference": True}, "bool into Go struct field FlunderSpec.spec.reference of type string"),
    ("x", "string into Go struct field Flunder.spec of type v1alpha1.FlunderSpec"),
    ([1], "array into Go struct field Flunder.spec of type v1alpha1.FlunderSpec"),
])
def test_wrong_json_types_are_go_decode_errors(client, spec, expected):
    r = client.post(NS, json={"metadata": {"name": "a"}, "spec": spec})
    assert r.status_code == 400
    assert r.json()["message"] == REFUSED + "json: cannot unmarshal " + expected


def test_integer_fields_take_no_string_or_fraction(client):
    for value, shown in (("5", "string"), (1.5, "number 1.5"), (True, "bool"),
                         (2**63, f"number {2**63}")):
        body = {"metadata": {"name": "a", "generation": value}}
        r = client.post(NS, json=body)
        assert r.status_code == 400, value
        assert r.json()["message"] == REFUSED + (
            f"json: cannot unmarshal {shown} into Go struct field ObjectMeta.metadata.generation "
            "of type int64")


def test_null_fields_are_zero_values(client):
    r = client.post(NS, json={"metadata": {"name": "a", "labels": None}, "spec": None,
                              "status": None})
    assert r.status_code == 201, r.text
    assert r.json()["spec"] == {}
    assert "None" not in r.text


# update and patch ---------------------------------------------------------------------
def test_put_strict_warn_ignore(client):
    assert client.post(NS, json=flunder("a", reference="x")).status_code == 201
    body = put_body(client, "a", foo=1)
    r = client.put(f"{NS}/a", json=body, params={"fieldValidation": "Strict"})
    assert r.status_code == 400
    assert r.json()["message"] == REFUSED + 'strict decoding error: unknown field "spec.foo"'
    r = client.put(f"{NS}/a", json=body)
    assert r.status_code == 200, r.text
    assert field_warnings(r) == ['299 - "unknown field \\"spec.foo\\""']
    body = put_body(client, "a", foo=1)
    r = client.put(f"{NS}/a", json=body, params={"fieldValidation": "Ignore"})
    assert r.status_code == 200
    assert not field_warnings(r)


def test_merge_patch_strict_is_422_on_the_patched_object(client):
    assert client.post(NS, json=flunder("a", reference="x")).status_code == 201
    r = client.patch(f"{NS}/a", json={"spec": {"zzz": 1}}, headers=MERGE,
                     params={"fieldValidation": "Strict"})
    assert r.status_code == 422
    status = r.json()
    assert status["message"].startswith(' "" is invalid: patch: Invalid value: "{\\"apiVersion')
    assert status["message"].endswith('": strict decoding error: unknown field "spec.zzz"')
    assert status["details"]["causes"][0]["field"] == "patch"
    assert "zzz" not in stored(client, "a")["spec"]
    r = client.patch(f"{NS}/a", json={"spec": {"zzz": 1}}, headers=MERGE)
    assert r.status_code == 200
    assert field_warnings(r) == ['299 - "unknown field \\"spec.zzz\\""']


def test_merge_patch_duplicates_come_from_the_patch(client):
    assert client.post(NS, json=flunder("a", reference="x")).status_code == 201
    raw = b'{"spec":{"reference":"y","reference":"z"}}'
    r = client.patch(f"{NS}/a", content=raw, headers=MERGE, params={"fieldValidation": "Strict"})
    assert r.status_code == 422
    assert r.json()["message"].endswith('strict decoding error: duplicate field "spec.reference"')
    r = client.patch(f"{NS}/a", content=raw, headers=MERGE, params={"fieldValidation": "Ignore"})
    assert r.status_code == 200
    assert r.json()["spec"]["reference"] == "z"


def test_json_patch_unknown_operation_fields_and_object_fields(client):
    assert client.post(NS, json=flunder("a", reference="x")).status_code == 201
    ops = [{"op": "add", "path": "/spec/q", "value": 1, "x": 2}]
    r = client.patch(f"{NS}/a", json=ops, headers=JSONPATCH)
    assert r.status_code == 200
    assert field_warnings(r) == [
        '299 - "json patch unknown field \\"[0].x\\""', '299 - "unknown field \\"spec.q\\""']
    r = client.patch(f"{NS}/a", json=ops, headers=JSONPATCH, params={"fieldValidation": "Strict"})
    assert r.status_code == 422
    assert r.json()["message"].endswith(
        'strict decoding error: json patch unknown field "[0].x", unknown field "spec.q"')


def test_patch_with_a_wrong_type_is_422(client):
    assert client.post(NS, json=flunder("a", reference="x")).status_code == 201
    r = client.patch(f"{NS}/a", json={"spec": {"reference": 7}}, headers=MERGE)
    assert r.status_code == 422
    assert r.json()["message"].endswith(
        ": json: cannot unmarshal number into Go struct field FlunderSpec.spec.reference of "
        "type string")
    assert stored(client, "a")["spec"]["reference"] == "x"


BOGUS = ('Flunder.wardle.example.com "a" is invalid: spec.referenceType: Invalid value: '
         '"Bogus": must be Flunder or Fischer')


@pytest.mark.parametrize("verb", ["put", "merge", "json"])
def test_the_strategy_validates_every_update(client, verb):
    assert client.post(NS, json=flunder("a", reference="x")).status_code == 201
    if verb == "put":
        r = client.put(f"{NS}/a", json=put_body(client, "a", referenceType="Bogus"))
    elif verb == "merge":
        r = client.patch(f"{NS}/a", json={"spec": {"referenceType": "Bogus"}}, headers=MERGE)
    else:
        ops = [{"op": "replace", "path": "/spec/referenceType", "value": "Bogus"}]
        r = client.patch(f"{NS}/a", json=ops, headers=JSONPATCH)
    assert r.status_code == 422
    assert r.json()["message"] == BOGUS
    assert stored(client, "a")["spec"]["referenceType"] == "Flunder"


# no Python words ----------------------------------------------------------------------
PYTHON_WORDS = re.compile(
    r"\b(None|NoneType|dict|list|str|int|float|tuple)\b|pydantic|Input should|'")
BAD_BODIES = [
    {"metadata": {"name": "a"}, "spec": None},
    {"metadata": None},
    {"metadata": {"name": "a", "labels": {"x": None}}},
    {"metadata": {"name": "a", "labels": {"x": 1}}},
    {"metadata": {"name": "a", "labels": ["x"]}},
    {"metadata": {"name": "a", "ownerReferences": [{"name": "o"}]}},
    {"metadata": {"name": "a", "ownerReferences": [None]}},
    {"metadata": {"name": "a", "finalizers": "x"}},
    {"metadata": {"name": "a", "generation": "5"}},
    {"metadata": {"name": "a"}, "spec": {"reference": {"a": 1}}},
    {"metadata": {"name": "a"}, "spec": {"referenceType": "Bogus"}},
    {"metadata": {"name": "a"}, "spec": {"reference": None, "x": None}},
    {"metadata": {"name": "a"}, "status": "x"},
]


@pytest.mark.parametrize("body", BAD_BODIES)
def test_no_python_words_in_any_answer(client, body):
    for params in ({"fieldValidation": "Strict"}, {}):
        r = client.post(NS, content=orjson.dumps(body), headers=JSON, params=params)
        words = r.json().get("message", "") + " ".join(field_warnings(r))
        causes = r.json().get("details", {}).get("causes", [])
        words += " ".join(c.get("message", "") for c in causes)
        assert not PYTHON_WORDS.search(words), (r.status_code, words)
        client.delete(f"{NS}/a")


def test_a_strict_strategic_merge_patch_shows_the_patch_as_go_prints_it(client):
    """sample-apiserver v0.34.4: `Invalid value: "map[spec:map[bogus:1]]"` (the patch map,
    where a merge or JSON patch shows the patched object)."""
    body = {"apiVersion": "wardle.example.com/v1alpha1", "kind": "Flunder",
            "metadata": {"name": "smp"}, "spec": {}}
    ns = "/apis/wardle.example.com/v1alpha1/namespaces/default/flunders"
    assert client.post(ns, json=body).status_code == 201
    r = client.patch(f"{ns}/smp?fieldValidation=Strict", json={"spec": {"bogus": 1}},
                     headers={"content-type": "application/strategic-merge-patch+json"})
    assert r.status_code == 422
    assert r.json()["message"] == (' "" is invalid: patch: Invalid value: "map[spec:map[bogus:1]]"'
                                   ': strict decoding error: unknown field "spec.bogus"')
