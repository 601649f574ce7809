"""Field sets: members as structured-merge-diff counts them, fieldsV1 both ways, paths."""

from __future__ import annotations

from k8s_aggapi.patching import fieldpath
from k8s_aggapi.patching.schema import of_model
from tests.unit.patching.models import Thing

SCHEMA = of_model(Thing)


def test_members_of_an_object() -> None:
    obj = {"metadata": {"labels": {"a": "1"}, "finalizers": ["x"]},
           "spec": {"reference": "r", "args": ["1", "2"], "tags": ["t"],
                    "ports": [{"name": "p", "port": 1}], "whole": {"name": "w"},
                    "blob": {"free": {"deep": 1}}, "selector": {}}}
    got = fieldpath.field_set(obj, SCHEMA)
    assert got == {
        ("f:metadata", "f:labels", "f:a"),
        ("f:metadata", "f:finalizers", 'v:"x"'),
        ("f:spec", "f:reference"),
        ("f:spec", "f:args"),  # atomic
        ("f:spec", "f:tags", 'v:"t"'),
        ("f:spec", "f:ports", 'k:{"name":"p"}'),
        ("f:spec", "f:ports", 'k:{"name":"p"}', "f:name"),
        ("f:spec", "f:ports", 'k:{"name":"p"}', "f:port"),
        ("f:spec", "f:whole"),  # map-type atomic
        ("f:spec", "f:blob", "f:free"),  # an undeclared entry is a member itself
        ("f:spec", "f:blob", "f:free", "f:deep"),
        ("f:spec", "f:selector"),  # an empty object is a member
    }


def test_fields_v1_round_trip_with_dot_for_members_with_children() -> None:
    paths = {("f:spec", "f:ports", 'k:{"name":"p"}'),
             ("f:spec", "f:ports", 'k:{"name":"p"}', "f:port"), ("f:spec", "f:reference")}
    doc = fieldpath.to_fields_v1(paths)
    assert doc == {"f:spec": {"f:ports": {'k:{"name":"p"}': {".": {}, "f:port": {}}},
                              "f:reference": {}}}
    assert fieldpath.from_fields_v1(doc) == paths
    assert fieldpath.valid_fields_v1(doc)
    assert not fieldpath.valid_fields_v1({"spec": {}})
    assert not fieldpath.valid_fields_v1({"f:spec": 1})


def test_multi_key_items_and_path_strings() -> None:
    obj = {"spec": {"pairs": [{"name": "a", "protocol": "TCP", "port": 1}]}}
    item = ("f:spec", "f:pairs", 'k:{"name":"a","protocol":"TCP"}')
    assert item in fieldpath.field_set(obj, SCHEMA)
    assert fieldpath.path_string((*item, "f:port")) == '.spec.pairs[name="a",protocol="TCP"].port'
    assert fieldpath.path_string(("f:spec", "f:tags", 'v:"t"')) == '.spec.tags[="t"]'
    assert fieldpath.path_string(("f:spec", "f:reference")) == ".spec.reference"


def test_items_without_their_keys_are_owned_as_one_value() -> None:
    obj = {"spec": {"ports": [{"port": 1}]}}
    assert fieldpath.field_set(obj, SCHEMA) == {("f:spec", "f:ports")}


def test_changed() -> None:
    old = fieldpath.flatten({"spec": {"reference": "a", "size": 1, "tags": ["x"]}}, SCHEMA)
    new = fieldpath.flatten({"spec": {"reference": "b", "tags": ["x", "y"]}}, SCHEMA)
    touched, removed = fieldpath.changed(old, new)
    assert touched == {("f:spec", "f:reference"), ("f:spec", "f:tags", 'v:"y"')}
    assert removed == {("f:spec", "f:size")}
    # true is not 1
    a = fieldpath.flatten({"spec": {"blob": {"k": True}}}, SCHEMA)
    b = fieldpath.flatten({"spec": {"blob": {"k": 1}}}, SCHEMA)
    assert fieldpath.changed(a, b)[0] == {("f:spec", "f:blob", "f:k")}
