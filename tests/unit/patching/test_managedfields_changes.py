"""managedfields.changes leaves out the unowned fields before its diff: the same result as
a diff of the whole objects with their unowned members dropped afterwards."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from k8s_aggapi.patching import fieldpath, managedfields
from k8s_aggapi.patching.schema import of_model
from tests.unit.patching.models import Thing

SCHEMA = of_model(Thing)

_scalars = st.one_of(st.none(), st.booleans(), st.integers(2, 3), st.sampled_from(["x", "y"]))
_meta = st.fixed_dictionaries({}, optional={
    "name": st.sampled_from(["a", "b"]), "namespace": st.sampled_from(["n", "m"]),
    "uid": st.sampled_from(["u1", "u2"]), "resourceVersion": st.sampled_from(["", "7"]),
    "generation": st.integers(1, 2), "creationTimestamp": st.sampled_from(["t1", "t2"]),
    "managedFields": st.just([{"manager": "m", "operation": "Update"}]),
    "labels": st.dictionaries(st.sampled_from(["a", "b"]), st.sampled_from(["v", "w"]),
                              max_size=2),
    "finalizers": st.lists(st.sampled_from(["f", "g"]), max_size=2, unique=True)})
_objects = st.fixed_dictionaries({}, optional={
    "apiVersion": st.sampled_from(["g/v1", "g/v2"]), "kind": st.just("Thing"),
    "metadata": st.one_of(_meta, st.none(), st.just({}), _scalars),
    "spec": st.one_of(st.none(), st.just({}), st.fixed_dictionaries({}, optional={
        "reference": _scalars, "tags": st.lists(st.sampled_from(["t", "u"]), max_size=2,
                                                unique=True)}))})


def _whole_diff(old: Any, new: Any, maps: bool) -> tuple[frozenset[Any], frozenset[Any]]:
    touched, removed = fieldpath.diff(old, new, SCHEMA, managedfields._SKIPPED, maps=maps)
    return (frozenset(p for p in touched if not managedfields._ignored(p)),
            frozenset(p for p in removed if not managedfields._ignored(p)))


@settings(max_examples=400, deadline=None)
@given(_objects, _objects, st.booleans())
def test_changes_is_the_whole_diff_without_unowned_members(a: dict[str, Any],
                                                           b: dict[str, Any],
                                                           maps: bool) -> None:
    assert managedfields.changes(a, b, SCHEMA, maps=maps) == _whole_diff(a, b, maps)


def test_a_create_owns_what_it_set_and_no_system_field() -> None:
    new = {"apiVersion": "g/v1", "kind": "Thing",
           "metadata": {"name": "a", "namespace": "n", "uid": "u", "generation": 1,
                        "creationTimestamp": "t", "labels": {"x": "1"}},
           "spec": {"reference": "r"}}
    touched, removed = managedfields.changes({}, new, SCHEMA, maps=True)
    assert touched == _whole_diff({}, new, True)[0]
    assert ("f:spec", "f:reference") in touched
    assert ("f:metadata", "f:labels", "f:x") in touched
    assert not any(p[:2] == ("f:metadata", "f:name") for p in touched)
    assert removed == frozenset()
