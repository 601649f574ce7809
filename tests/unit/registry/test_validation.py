"""ObjectMeta validation with upstream's messages (apimachinery objectmeta.go, meta/v1
validation, api/validate/content) and field paths."""

import pytest

from k8s_aggapi.errors import go_quote
from k8s_aggapi.registry.objectmeta import validate_object_meta, validate_object_meta_update
from k8s_aggapi.registry.validation import (
    dns1123_label,
    label_value,
    path_segment_name,
    qualified_name,
)

LABEL_NAME = ("name part must consist of alphanumeric characters, '-', '_' or '.', and must "
              "start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or "
              "'123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?"
              "[A-Za-z0-9]')")
DNS_LABEL = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters or "
             "'-', and must start and end with an alphanumeric character (e.g. 'my-name',  or "
             "'123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')")


def meta(**fields):
    return {"name": "a", "namespace": "default", **fields}


def fields(causes):
    return [(c.field, c.reason) for c in causes]


def test_formats_speak_upstream():
    assert qualified_name("example.com/ok-1") == []
    assert qualified_name("bad key!") == [LABEL_NAME]
    assert qualified_name("a/b/c")[0].startswith("a valid label key must consist of")
    assert qualified_name("/x") == ["prefix part must be non-empty"]
    assert qualified_name("x" * 64) == ["name part must be no more than 63 bytes"]
    assert label_value("") == [] and label_value("v.1") == []
    assert label_value("v" * 100) == ["must be no more than 63 bytes"]
    assert dns1123_label("a.b") == ["must not contain dots"]
    assert dns1123_label("Bad_NS") == [DNS_LABEL]
    assert dns1123_label("x" * 300) == ["must be no more than 63 characters"]
    assert dns1123_label("\x00" * 64) == ["must be no more than 63 characters", DNS_LABEL]
    assert path_segment_name("..") == ["may not be '..'"]
    assert path_segment_name("a/b%c") == ["may not contain '/'", "may not contain '%'"]
    assert go_quote('a"\x00\t\ufffd\u00a0') == '"a\\"\\x00\\t\ufffd\\u00a0"'


def test_a_valid_object_meta_has_no_causes():
    ok = meta(labels={"app": "x", "example.com/tier": ""}, annotations={"A.b/c": "long " * 99},
              finalizers=["example.com/keep"], generation=1,
              ownerReferences=[{"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "u",
                                "controller": True}],
              managedFields=[{"manager": "kubectl", "operation": "Update",
                              "fieldsType": "FieldsV1", "fieldsV1": {}}])
    assert validate_object_meta(ok, namespaced=True) == []


def test_labels_annotations_and_finalizers():
    causes = validate_object_meta(meta(
        labels={"bad key!": "v" * 100}, annotations={"ok": "x" * (256 * 1024)},
        finalizers=["example.com/ok", "bad name!"]), namespaced=True)
    assert [(c.field, c.message) for c in causes] == [
        ("metadata.labels", f'Invalid value: "bad key!": {LABEL_NAME}'),
        ("metadata.labels", f'Invalid value: "{"v" * 100}": must be no more than 63 bytes'),
        ("metadata.annotations", "Too long: may not be more than 262144 bytes"),
        ("metadata.finalizers", f'Invalid value: "bad name!": {LABEL_NAME}'),
    ]
    assert [c.reason for c in causes] == ["FieldValueInvalid"] * 2 + [
        "FieldValueTooLong", "FieldValueInvalid"]
    both = validate_object_meta(meta(finalizers=["orphan", "foregroundDeletion"]), True)
    assert both[0].message.endswith("finalizer orphan and foregroundDeletion cannot be both set")


def test_annotation_size_counts_bytes_of_keys_and_values():
    at = {"k": "x" * (256 * 1024 - 1)}
    assert validate_object_meta(meta(annotations=at), True) == []
    over = {"k": "é" * (128 * 1024)}  # 2 bytes each
    assert fields(validate_object_meta(meta(annotations=over), True)) == [
        ("metadata.annotations", "FieldValueTooLong")]


def test_owner_references():
    refs = [{"apiVersion": "", "kind": "", "name": "", "uid": ""},
            {"apiVersion": "a/b/c", "kind": "K", "name": "n", "uid": "u", "controller": True},
            {"apiVersion": "v1", "kind": "Event", "name": "m", "uid": "u", "controller": True}]
    causes = validate_object_meta(meta(ownerReferences=refs), True)
    assert fields(causes) == [
        ("metadata.ownerReferences[0].apiVersion", "FieldValueRequired"),
        ("metadata.ownerReferences[0].kind", "FieldValueRequired"),
        ("metadata.ownerReferences[0].name", "FieldValueRequired"),
        ("metadata.ownerReferences[0].uid", "FieldValueRequired"),
        ("metadata.ownerReferences[1].apiVersion", "FieldValueInvalid"),
        ("metadata.ownerReferences[2]", "FieldValueInvalid"),
        ("metadata.ownerReferences", "FieldValueInvalid"),
    ]
    assert causes[3].message == "Required value: must not be empty"
    assert causes[4].message.endswith("must be <group>/<version> or <version>")
    assert causes[5].message.endswith("/v1, Kind=Event is disallowed from being an owner")
    assert causes[6].message.endswith(
        'Only one reference can have Controller set to true. Found "true" in references for '
        "K/n and Event/m")


def test_managed_fields_shape():
    entries = [{"operation": "", "manager": "m"}, {"operation": "Patch", "fieldsType": "X",
                                                   "manager": "x" * 129, "subresource": "s" * 257},
               {"operation": "Apply", "manager": "a\x07"}]
    causes = validate_object_meta(meta(managedFields=entries), True)
    assert [(c.field, c.message) for c in causes] == [
        ("metadata.managedFields[0].operation", "Required value: must not be empty"),
        ("metadata.managedFields[1].operation",
         'Unsupported value: "Patch": supported values: "Apply", "Update"'),
        ("metadata.managedFields[1].fieldsType", 'Invalid value: "X": must be `FieldsV1`'),
        ("metadata.managedFields[1].manager", "Too long: may not be more than 128 bytes"),
        ("metadata.managedFields[1].subresource", "Too long: may not be more than 256 bytes"),
        ("metadata.managedFields[2].manager",
         'Invalid value: "a\\a": invalid character U+0007 (at position 1)'),
    ]


def test_names_namespaces_and_types():
    assert fields(validate_object_meta({"namespace": "default"}, True)) == [
        ("metadata.name", "FieldValueRequired")]
    assert fields(validate_object_meta(meta(name="a/b", generateName="x/"), True)) == [
        ("metadata.generateName", "FieldValueInvalid"), ("metadata.name", "FieldValueInvalid")]
    assert fields(validate_object_meta(meta(namespace="Bad_NS"), True)) == [
        ("metadata.namespace", "FieldValueInvalid")]
    assert fields(validate_object_meta({"name": "a"}, True)) == [
        ("metadata.namespace", "FieldValueRequired")]
    assert fields(validate_object_meta(meta(), False)) == [
        ("metadata.namespace", "FieldValueForbidden")]
    assert fields(validate_object_meta(meta(generation=-1), True)) == [
        ("metadata.generation", "FieldValueInvalid")]
    # raw dicts (no model) may carry any JSON type: a cause, never a crash
    odd = meta(labels=["x"], annotations={"a": 5}, finalizers="f", ownerReferences=[3])
    assert [c.field for c in validate_object_meta(odd, True)] == [
        "metadata.labels", "metadata.annotations", "metadata.ownerReferences[0]",
        "metadata.finalizers"]


@pytest.mark.parametrize("deleting", [True, False])
def test_no_new_finalizers_while_deleting(deleting):
    old = meta(finalizers=["example.com/a"], deletionTimestamp="t" if deleting else None)
    new = meta(finalizers=["example.com/a", "example.com/b"])
    causes = validate_object_meta_update(new, old, True)
    if deleting:
        assert [(c.field, c.reason, c.message) for c in causes] == [(
            "metadata.finalizers", "FieldValueForbidden",
            "Forbidden: no new finalizers can be added if the object is being deleted, found "
            'new finalizers []string{"example.com/b"}')]
    else:
        assert causes == []
