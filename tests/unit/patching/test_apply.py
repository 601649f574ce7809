"""Server-side apply and update tracking on plain dicts."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_aggapi.errors import StatusError
from k8s_aggapi.patching import managedfields
from k8s_aggapi.patching.apply import apply
from k8s_aggapi.patching.schema import of_model
from tests.unit.patching.models import Thing

SCHEMA = of_model(Thing)
V = "wardle.example.com/v1alpha1"
T1, T2 = "2026-01-01T00:00:00Z", "2026-01-01T00:01:00Z"


def obj(**spec: Any) -> dict[str, Any]:
    return {"apiVersion": V, "kind": "Thing", "metadata": {"name": "x"}, "spec": spec}


def entries(o: dict[str, Any]) -> dict[tuple[str, str], Any]:
    return {(e["manager"], e["operation"]): e["fieldsV1"]
            for e in o["metadata"].get("managedFields", [])}


def created(manager: str = "kubectl-create", **spec: Any) -> dict[str, Any]:
    o = obj(**spec)
    o["metadata"]["managedFields"] = managedfields.track_update(None, o, manager, V, T1, SCHEMA)
    return o


def test_create_records_every_field_for_its_manager() -> None:
    o = created(reference="r", ports=[{"name": "a", "port": 1}])
    (entry,) = o["metadata"]["managedFields"]
    assert entry == {"manager": "kubectl-create", "operation": "Update", "apiVersion": V,
                     "time": T1, "fieldsType": "FieldsV1", "fieldsV1": {"f:spec": {
                         # spec is optional (a pointer in Go): added, so a member itself
                         ".": {}, "f:ports": {
                             ".": {}, 'k:{"name":"a"}': {".": {}, "f:name": {}, "f:port": {}}},
                         "f:reference": {}}}}


def test_update_moves_changed_fields_to_the_writer() -> None:
    old = created(reference="r", size=1)
    new = obj(reference="s", size=1)
    new["metadata"]["managedFields"] = old["metadata"]["managedFields"]
    managed = managedfields.track_update(old, new, "kubectl-edit", V, T2, SCHEMA)
    got = {e["manager"]: e["fieldsV1"] for e in managed or []}
    assert got == {"kubectl-create": {"f:spec": {".": {}, "f:size": {}}},
                   "kubectl-edit": {"f:spec": {"f:reference": {}}}}


def test_removed_fields_leave_every_set_and_empty_entries_go() -> None:
    old = created(reference="r")
    new = obj()
    del new["spec"]
    managed = managedfields.track_update(old, new, "kubectl-edit", V, T2, SCHEMA)
    assert managed == []


def test_managed_fields_reset_and_empty_list() -> None:
    old = created(reference="r")
    new = obj(reference="r")
    new["metadata"]["managedFields"] = [{}]
    assert managedfields.track_update(old, new, "m", V, T2, SCHEMA) is None
    new["metadata"]["managedFields"] = []
    assert managedfields.track_update(old, new, "m", V, T2, SCHEMA) == old["metadata"][
        "managedFields"]


def test_apply_creates_and_owns_exactly_its_configuration() -> None:
    o = apply(None, obj(reference="r", ports=[{"name": "a"}]), "alice", V, T1, SCHEMA)
    assert o["spec"] == {"reference": "r", "ports": [{"name": "a"}]}
    (entry,) = o["metadata"]["managedFields"]
    assert entry["operation"] == "Apply" and entry["manager"] == "alice"
    assert entry["fieldsV1"] == {"f:spec": {"f:ports": {'k:{"name":"a"}': {".": {}, "f:name": {}}},
                                            "f:reference": {}}}


def test_conflict_with_an_update_manager_in_upstream_words() -> None:
    live = created("kubectl-client-side-apply", reference="r")
    with pytest.raises(StatusError) as err:
        apply(live, obj(reference="other"), "alice", V, T2, SCHEMA)
    assert err.value.code == 409 and err.value.reason == "Conflict"
    assert err.value.message == ('Apply failed with 1 conflict: conflict with '
                                 f'"kubectl-client-side-apply" using {V}: .spec.reference')
    assert err.value.details == {"causes": [{
        "reason": "FieldManagerConflict", "field": ".spec.reference",
        "message": f'conflict with "kubectl-client-side-apply" using {V}'}]}


def test_same_value_is_shared_not_a_conflict() -> None:
    live = created("kubectl-create", reference="r")
    o = apply(live, obj(reference="r"), "alice", V, T2, SCHEMA)
    assert entries(o) == {("kubectl-create", "Update"): {"f:spec": {".": {}, "f:reference": {}}},
                          ("alice", "Apply"): {"f:spec": {"f:reference": {}}}}


def test_two_conflicts_and_force() -> None:
    live = apply(None, obj(reference="r", size=1), "bob", V, T1, SCHEMA)
    with pytest.raises(StatusError) as err:
        apply(live, obj(reference="s", size=2), "alice", V, T2, SCHEMA)
    assert err.value.message == ('Apply failed with 2 conflicts: conflicts with "bob":\n'
                                 "- .spec.reference\n- .spec.size")
    o = apply(live, obj(reference="s", size=2), "alice", V, T2, SCHEMA, force=True)
    assert o["spec"] == {"reference": "s", "size": 2}
    assert entries(o) == {("alice", "Apply"): {"f:spec": {"f:reference": {}, "f:size": {}}}}


def test_fields_no_longer_applied_are_removed_unless_someone_else_owns_them() -> None:
    live = apply(None, obj(reference="r", size=1, ports=[{"name": "a", "port": 1}]),
                 "alice", V, T1, SCHEMA)
    live = apply(live, obj(size=1), "bob", V, T1, SCHEMA)  # bob shares size
    o = apply(live, obj(ports=[{"name": "a"}]), "alice", V, T2, SCHEMA)
    assert o["spec"] == {"size": 1, "ports": [{"name": "a"}]}


def test_items_merge_by_key_and_sets_by_value() -> None:
    live = apply(None, obj(ports=[{"name": "a", "port": 1}], tags=["x"]), "alice", V, T1, SCHEMA)
    o = apply(live, obj(ports=[{"name": "b", "port": 2}], tags=["y"]), "bob", V, T2, SCHEMA)
    assert o["spec"]["ports"] == [{"name": "a", "port": 1}, {"name": "b", "port": 2}]
    assert o["spec"]["tags"] == ["x", "y"]
    # alice drops her item: it goes, bob's stays
    o = apply(o, obj(tags=["x"]), "alice", V, T2, SCHEMA)
    assert o["spec"]["ports"] == [{"name": "b", "port": 2}]


def test_an_item_another_manager_changed_is_not_lost() -> None:
    live = apply(None, obj(ports=[{"name": "a", "port": 1}]), "alice", V, T1, SCHEMA)
    edited = obj(ports=[{"name": "a", "port": 1, "other": "o"}])
    edited["metadata"]["managedFields"] = managedfields.track_update(
        live, {**edited, "metadata": {**edited["metadata"],
                                      "managedFields": live["metadata"]["managedFields"]}},
        "editor", V, T2, SCHEMA)
    o = apply(edited, obj(reference="r"), "alice", V, T2, SCHEMA)
    assert o["spec"]["ports"] == [{"name": "a", "other": "o"}]


def test_reapplying_the_same_configuration_changes_nothing() -> None:
    live = apply(None, obj(reference="r"), "alice", V, T1, SCHEMA)
    assert apply(live, obj(reference="r"), "alice", V, T2, SCHEMA) == live


def test_atomic_values_are_replaced() -> None:
    live = apply(None, obj(args=["a", "b"], whole={"name": "w", "port": 1}), "alice", V, T1,
                 SCHEMA)
    o = apply(live, obj(args=["c"], whole={"name": "v"}), "alice", V, T2, SCHEMA)
    assert o["spec"] == {"args": ["c"], "whole": {"name": "v"}}


def test_a_map_emptied_by_removal_goes() -> None:
    live = apply(None, obj(selector={"a": "1"}, reference="r"), "alice", V, T1, SCHEMA)
    o = apply(live, obj(reference="r"), "alice", V, T2, SCHEMA)
    assert o["spec"] == {"reference": "r"}


def test_a_create_is_compared_with_the_zero_object_of_its_type() -> None:
    # a field the type always has (a Go struct that is no pointer) is not added by a create
    o = obj(reference="r")
    got = managedfields.track_update(None, o, "m", V, T1, SCHEMA, zero={"spec": {}})
    assert got is not None and got[0]["fieldsV1"] == {"f:spec": {"f:reference": {}}}


def test_owner_references_are_atomic_items() -> None:
    ref = {"apiVersion": "v1", "kind": "C", "name": "o", "uid": "u"}
    o = {"metadata": {"name": "x", "ownerReferences": [ref]}}
    got = managedfields.track_update(None, o, "m", V, T1, SCHEMA)
    assert got is not None
    assert got[0]["fieldsV1"] == {"f:metadata": {"f:ownerReferences": {
        ".": {}, 'k:{"uid":"u"}': {}}}}
