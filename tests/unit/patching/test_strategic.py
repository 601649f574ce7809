"""Strategic merge patch, with behaviour from upstream's strategicpatch test cases."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_aggapi.errors import StatusError
from k8s_aggapi.patching.schema import of_model
from k8s_aggapi.patching.strategic import strategic_merge_patch
from tests.unit.patching.models import Thing

SCHEMA = of_model(Thing)


def smp(original: dict[str, Any], patch: Any) -> dict[str, Any]:
    return strategic_merge_patch(original, patch, SCHEMA)


def spec(**fields: Any) -> dict[str, Any]:
    return {"spec": fields}


def test_maps_merge_and_null_deletes() -> None:
    got = smp(spec(reference="a", size=1, selector={"a": "1", "b": "2"}),
              spec(size=None, selector={"b": None, "c": "3"}))
    assert got == spec(reference="a", selector={"a": "1", "c": "3"})


def test_original_is_not_modified() -> None:
    original = spec(ports=[{"name": "a", "port": 1}])
    smp(original, spec(ports=[{"name": "a", "port": 2}]))
    assert original == spec(ports=[{"name": "a", "port": 1}])


def test_merge_key_list_merges_items_in_place_and_appends_new_ones() -> None:
    got = smp(spec(ports=[{"name": "a", "port": 1, "other": "x"}, {"name": "b", "port": 2}]),
              spec(ports=[{"name": "c", "port": 3}, {"name": "a", "port": 9}]))
    assert got["spec"]["ports"] == [{"name": "a", "port": 9, "other": "x"},
                                    {"name": "b", "port": 2}, {"name": "c", "port": 3}]


def test_list_without_strategy_is_replaced() -> None:
    got = smp(spec(args=["a", "b"]), spec(args=["c"]))
    assert got["spec"]["args"] == ["c"]


def test_set_of_scalars_is_a_union() -> None:
    got = smp(spec(tags=["a", "b"]), spec(tags=["b", "c"]))
    assert got["spec"]["tags"] == ["a", "b", "c"]


def test_delete_directive_in_a_merging_list() -> None:
    got = smp(spec(ports=[{"name": "a"}, {"name": "b"}]),
              spec(ports=[{"name": "a", "$patch": "delete"}, {"name": "nope", "$patch": "delete"}]))
    assert got["spec"]["ports"] == [{"name": "b"}]


def test_replace_directive_in_a_merging_list() -> None:
    got = smp(spec(ports=[{"name": "a", "port": 1}, {"name": "b"}]),
              spec(ports=[{"name": "c"}, {"$patch": "replace"}]))
    assert got["spec"]["ports"] == [{"name": "c"}]


def test_replace_and_delete_directives_on_maps() -> None:
    original = spec(reference="r", selector={"a": "1", "b": "2"})
    assert smp(original, spec(selector={"c": "3", "$patch": "replace"}))["spec"]["selector"] \
        == {"c": "3"}
    assert "selector" not in smp(original, spec(selector={"$patch": "delete"}))["spec"]
    assert smp(original, {"$patch": "replace", "spec": {"size": 1}}) == spec(size=1)


def test_unknown_patch_type_is_refused() -> None:
    with pytest.raises(StatusError) as err:
        smp(spec(), spec(selector={"$patch": "bogus"}))
    assert err.value.code == 400
    assert err.value.message == "unknown patch type: bogus in map: map[$patch:bogus]"


def test_delete_from_primitive_list() -> None:
    got = smp(spec(tags=["1", "2", "3"]), {"spec": {"$deleteFromPrimitiveList/tags": ["3"]}})
    assert got["spec"]["tags"] == ["1", "2"]


def test_set_element_order_for_an_added_item() -> None:
    # upstream "add an item in a list and preserve order" (three-way result)
    got = smp(spec(ports=[{"name": "1", "other": "a"}, {"name": "2", "port": 2, "other": "b"}]),
              {"spec": {"$setElementOrder/ports": [{"name": "3"}, {"name": "1"}, {"name": "2"}],
                        "ports": [{"name": "3", "port": 3}]}})
    assert [p["name"] for p in got["spec"]["ports"]] == ["3", "1", "2"]
    assert got["spec"]["ports"][1] == {"name": "1", "other": "a"}


def test_set_element_order_keeps_live_only_items_in_place() -> None:
    # upstream "add map and delete map from merging list with conflict": live-only 4 first
    got = smp(spec(ports=[{"name": "1", "other": "a"}, {"name": "4", "other": "c"}]),
              {"spec": {"$setElementOrder/ports": [{"name": "2"}, {"name": "3"}],
                        "ports": [{"name": "2"}, {"name": "3"},
                                  {"name": "1", "$patch": "delete"}]}})
    assert got["spec"]["ports"] == [{"name": "4", "other": "c"}, {"name": "2"}, {"name": "3"}]
    # upstream's RawExtension case: live-only 3 stays after the named ones around it
    got = smp(spec(ports=[{"name": "1"}, {"name": "3"}]),
              {"spec": {"$setElementOrder/ports": [{"name": "1"}, {"name": "2"}],
                        "ports": [{"name": "2"}]}})
    assert [p["name"] for p in got["spec"]["ports"]] == ["1", "2", "3"]


def test_set_element_order_alone_reorders() -> None:
    got = smp(spec(ports=[{"name": "c"}, {"name": "d"}]),
              {"spec": {"$setElementOrder/ports": [{"name": "d"}, {"name": "c"}]}})
    assert got["spec"]["ports"] == [{"name": "d"}, {"name": "c"}]
    got = smp(spec(tags=["1", "2", "3"]),
              {"spec": {"$setElementOrder/tags": ["2", "1"],
                        "$deleteFromPrimitiveList/tags": ["3"]}})
    assert got["spec"]["tags"] == ["2", "1"]


def test_retain_keys_clears_other_fields() -> None:
    got = smp(spec(children=[{"name": "a", "value": "v", "other": "o"}]),
              spec(children=[{"name": "a", "$retainKeys": ["name", "other"], "other": "p"}]))
    assert got["spec"]["children"] == [{"name": "a", "other": "p"}]


def test_retain_keys_must_cover_the_patch() -> None:
    with pytest.raises(StatusError) as err:
        smp(spec(), {"spec": {"$retainKeys": ["size"], "reference": "x"}})
    assert err.value.code == 422
    assert err.value.message == "patch content doesn't match retainKeys list"


def test_merge_key_is_required() -> None:
    with pytest.raises(StatusError) as err:
        smp(spec(ports=[{"name": "a"}]), spec(ports=[{"port": 1}]))
    assert err.value.message == "map: map[port:1] does not contain declared merge key: name"


def test_directives_are_stripped_from_new_values() -> None:
    got = smp({}, spec(ports=[{"name": "a"}, {"name": "b", "$patch": "delete"}],
                       selector={"$patch": "merge", "a": "1"}))
    assert got == spec(ports=[{"name": "a"}], selector={"a": "1"})


def test_object_meta_owner_references_and_finalizers() -> None:
    original = {"metadata": {
        "name": "x", "finalizers": ["a"], "labels": {"k": "v"},
        "ownerReferences": [{"apiVersion": "v1", "kind": "C", "name": "o", "uid": "1"}]}}
    got = smp(original, {"metadata": {
        "finalizers": ["b"], "labels": {"l": "w"},
        "ownerReferences": [{"apiVersion": "v1", "kind": "C", "name": "p", "uid": "2"}]}})
    meta = got["metadata"]
    assert meta["finalizers"] == ["a", "b"]
    assert meta["labels"] == {"k": "v", "l": "w"}
    assert [r["uid"] for r in meta["ownerReferences"]] == ["1", "2"]
    got = smp(got, {"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"],
                                 "ownerReferences": [{"uid": "1", "$patch": "delete"}]}})
    assert got["metadata"]["finalizers"] == ["b"]
    assert [r["uid"] for r in got["metadata"]["ownerReferences"]] == ["2"]


def test_free_form_values_merge_like_a_merge_patch() -> None:
    got = smp(spec(blob={"a": {"b": 1, "c": [1, 2]}}), spec(blob={"a": {"c": [3], "b": None}}))
    assert got["spec"]["blob"] == {"a": {"c": [3]}}


def test_a_patch_must_be_an_object() -> None:
    with pytest.raises(StatusError) as err:
        smp({}, [1])
    assert err.value.code == 400
