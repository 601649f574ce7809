"""The model-guided decode (Go's types, null fields, unknown field paths) and the duplicate
key scan, without a server."""

import orjson
import pytest
from pydantic import Field

from examples.sample_apiserver.v1alpha1 import Flunder
from k8s_aggapi.models import KubeModel, KubeObject
from k8s_aggapi.registry import fieldvalidation as fv


class Item(KubeModel):
    name: str
    weight: float | None = None


class Spec(KubeModel):
    items: list[Item] = Field(default_factory=list)
    by_name: dict[str, Item] | None = None
    free: dict[str, object] | None = None
    count: int = 0
    on: bool = False


class Thing(KubeObject):
    spec: Spec = Field(default_factory=Spec)


def test_unknown_fields_have_upstream_paths():
    body = {"apiVersion": "x/v1", "kind": "Thing", "metadata": {"name": "a", "foo": 1},
            "spec": {"items": [{"name": "i"}, {"name": "j", "bar": 2}],
                     "byName": {"k": {"name": "k", "baz": 3}}, "free": {"any": {"thing": 1}},
                     "qux": 4}, "top": 5}
    assert fv.decode(Thing, body) == [
        "metadata.foo", "spec.items[1].bar", "spec.byName.k.baz", "spec.qux", "top"]


def test_python_names_are_no_wire_names_but_aliases_are():
    assert fv.decode(Thing, {"spec": {"byName": {}}}) == []
    assert "by_name" in fv.fields_of(Spec)  # validate_by_name: the model accepts it too


@pytest.mark.parametrize(("spec", "message"), [
    ({"count": "5"}, "string into Go struct field Spec.spec.count of type int64"),
    ({"count": 1.5}, "number 1.5 into Go struct field Spec.spec.count of type int64"),
    ({"on": "true"}, "string into Go struct field Spec.spec.on of type bool"),
    ({"on": 1}, "number into Go struct field Spec.spec.on of type bool"),
    ({"items": {}}, "object into Go struct field Spec.spec.items of type []test_fieldvalidation"
                    ".Item"),
    ({"items": [{"weight": "x"}]}, "string into Go struct field Item.spec.items.weight of type "
                                   "float64"),
    ({"byName": {"k": 1}}, "number into Go struct field Spec.spec.byName of type "
                           "test_fieldvalidation.Item"),
])
def test_wrong_types_are_refused_in_go_words(spec, message):
    with pytest.raises(fv.DecodeError) as caught:
        fv.decode(Thing, {"spec": spec})
    assert str(caught.value) == "json: cannot unmarshal " + message


def test_floats_take_json_integers_and_nulls_are_zero_values():
    body = {"metadata": None, "spec": {"items": [None, {"name": "n", "weight": 2}],
                                       "count": None, "free": {"x": None}}}
    assert fv.decode(Thing, body) == []
    assert body == {"spec": {"items": [{}, {"name": "n", "weight": 2}], "free": {"x": None}}}


def test_the_meta_models_are_package_v1():
    with pytest.raises(fv.DecodeError, match=r"of type v1\.ObjectMeta"):
        fv.decode(Flunder, {"metadata": []})


@pytest.mark.parametrize(("raw", "expected"), [
    (b'{"a":1,"b":{"c":"x:y","d":[{"e":1}]}}', []),
    (b'{"a":1,"a":2}', ["a"]),
    (b'{"a":{"b":1,"b":2},"l":[{"c":1,"c":1}]}', ["a.b", "l[0].c"]),
    (b'{"a":"\\u003a","b":1,"b":2}', ["b"]),  # an escaped colon cannot hide a duplicate
    (b'{"a:b":"c:d", "a:b" : "e"}', ["a:b"]),
    (b'[{"op":"add","op":"remove"}]', ["[0].op"]),
])
def test_duplicate_fields(raw, expected):
    assert fv.duplicate_fields(raw, orjson.loads(raw)) == expected


def test_json_patch_operation_fields():
    ops = [{"op": "add", "path": "/a", "value": 1}, {"op": "move", "from": "/a", "x": 1}]
    assert fv.json_patch_fields(ops) == ["[1].x"]
    assert fv.json_patch_fields({"not": "a list"}) == []


def test_model_refusals_are_in_kubernetes_words():
    from pydantic import ValidationError, field_validator

    from k8s_aggapi.registry.store import pydantic_causes

    class Limited(KubeModel):
        size: int = Field(default=1, ge=1)
        tags: dict[str, str] | None = None
        name: str

        @field_validator("tags")
        @classmethod
        def no_empty(cls, value):
            if value == {}:
                raise ValueError("must not be empty")
            return value

    with pytest.raises(ValidationError) as caught:
        Limited.model_validate({"size": 0, "tags": {}, "spec": None})
    messages = [(c.field, c.message) for c in pydantic_causes(caught.value)]
    assert messages == [
        ("size", "Invalid value: 0: must be greater than or equal to 1"),
        ("tags", "Invalid value: {}: must not be empty"),
        ("name", "Required value"),
    ]
    with pytest.raises(ValidationError) as caught:
        Limited.model_validate({"name": None, "tags": ["x"]})
    assert [c.message for c in pydantic_causes(caught.value)] == [
        "Invalid value: [\"x\"]: must be an object", "Invalid value: null: must be a string"]
