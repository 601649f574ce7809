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


from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_names = st.sampled_from(["a", "b", "name", "port"])
# (not 0 or 1 beside booleans: Python finds {"k": True} == {"k": 1}, see diff)
_scalars = st.one_of(st.none(), st.booleans(), st.integers(2, 3), st.sampled_from(["x", "y"]))
_items = st.fixed_dictionaries({"name": st.sampled_from(["p", "q"])},
                               optional={"port": st.integers(0, 2), "other": _scalars})
_free = st.recursive(_scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=2), st.dictionaries(_names, inner, max_size=2)), max_leaves=6)
_spec = st.fixed_dictionaries({}, optional={
    "reference": _scalars, "ports": st.lists(_items, max_size=3),
    "tags": st.lists(st.sampled_from(["t", "u"]), max_size=2, unique=True),
    "args": st.lists(st.sampled_from(["1", "2"]), max_size=2),
    "selector": st.dictionaries(_names, st.sampled_from(["v", "w"]), max_size=2),
    "blob": _free, "whole": st.one_of(st.none(), _items)})
_objects = st.fixed_dictionaries({}, optional={
    "spec": st.one_of(_spec, st.none(), st.just({})),
    "metadata": st.fixed_dictionaries({}, optional={
        "labels": st.dictionaries(_names, st.sampled_from(["v", "w"]), max_size=2),
        "finalizers": st.lists(st.sampled_from(["f", "g"]), max_size=2, unique=True)})})


@settings(max_examples=300, deadline=None)
@given(_objects, _objects, st.booleans())
def test_diff_walks_less_but_finds_what_flatten_finds(a: dict, b: dict, maps: bool) -> None:
    want = fieldpath.changed(fieldpath.flatten(a, SCHEMA, maps=maps),
                             fieldpath.flatten(b, SCHEMA, maps=maps))
    assert fieldpath.diff(a, b, SCHEMA, maps=maps) == want
