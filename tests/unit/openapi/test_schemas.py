"""Pydantic models -> kube-style definitions."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from k8s_aggapi.models import KubeModel, KubeObject
from k8s_aggapi.openapi.meta import LIST_META, OBJECT_META, REF_PREFIX
from k8s_aggapi.openapi.schemas import (
    definition_prefix,
    list_schema,
    model_definitions,
    object_schema,
)
from tests.unit.openapi.conftest import Flunder, FlunderSpec
from tests.unit.openapi.structure import assert_no_foreign_schema_keys

PREFIX = "com.example.wardle.v1alpha1."


def test_definition_prefix_reverses_the_group() -> None:
    assert definition_prefix("wardle.example.com", "v1alpha1") == PREFIX
    assert definition_prefix("metrics.k8s.io", "v1beta1") == "io.k8s.metrics.v1beta1."
    assert definition_prefix("", "v1") == "io.k8s.api.core.v1."


def test_models_are_named_by_reversed_group_and_version() -> None:
    roots, defs = model_definitions([Flunder], PREFIX)
    assert roots == {Flunder: PREFIX + "Flunder"}
    assert set(defs) == {PREFIX + "Flunder", PREFIX + "FlunderSpec", PREFIX + "FlunderStatus"}
    assert_no_foreign_schema_keys(defs)


def test_field_descriptions_docstrings_and_nested_refs() -> None:
    _, defs = model_definitions([Flunder], PREFIX)
    flunder, spec = defs[PREFIX + "Flunder"], defs[PREFIX + "FlunderSpec"]
    assert flunder["description"] == "Flunder is an example type with a spec and a status."
    assert flunder["properties"]["spec"] == {
        "$ref": REF_PREFIX + PREFIX + "FlunderSpec",
        "description": "The desired state.",
    }
    assert spec["description"] == "FlunderSpec is the specification of a Flunder."
    assert spec["properties"]["reference"] == {
        "type": "string",
        "description": "A name of another flunder or fischer.",
    }


def test_meta_models_point_at_the_upstream_definitions() -> None:
    _, defs = model_definitions([Flunder], PREFIX)
    props = defs[PREFIX + "Flunder"]["properties"]
    assert props["metadata"] == {"$ref": REF_PREFIX + OBJECT_META}
    assert defs[PREFIX + "FlunderSpec"]["properties"]["owner"] == {
        "$ref": REF_PREFIX + OBJECT_META,
        "description": "Metadata of the owner.",
    }
    assert not any("ObjectMeta" in name for name in defs)


def test_json_schema_2020_is_narrowed_to_openapi() -> None:
    _, defs = model_definitions([FlunderSpec], PREFIX)
    props = defs[PREFIX + "FlunderSpec"]["properties"]
    assert props["referenceType"] == {
        "enum": ["Flunder", "Fischer"],
        "type": "string",
        "description": "The reference's type.",
    }
    assert props["replicas"] == {
        "default": 1,
        "description": "How many copies.",
        "minimum": 0,
        "exclusiveMinimum": True,
        "type": "integer",
    }
    assert props["port"] == {"type": "string", "format": "int-or-string"}
    assert props["extra"] == {"type": "object", "x-kubernetes-preserve-unknown-fields": True}


class Node(KubeModel):
    """A recursive model."""

    children: list[Node] = []
    value: Any = None


def test_recursive_models_reference_themselves() -> None:
    _, defs = model_definitions([Node], PREFIX)
    assert defs[PREFIX + "Node"]["properties"]["children"]["items"] == {
        "$ref": REF_PREFIX + PREFIX + "Node"
    }


def _same_name() -> type[BaseModel]:
    class FlunderSpec(KubeModel):  # a second class with the same name
        other: str = ""

    class Twin(KubeObject):
        spec: FlunderSpec

    return Twin


def test_same_class_names_stay_distinct() -> None:
    twin = _same_name()
    roots, defs = model_definitions([Flunder, twin], PREFIX)
    specs = [name for name in defs if name.endswith("FlunderSpec")]
    assert len(specs) == 2
    targets = {defs[roots[m]]["properties"]["spec"]["$ref"] for m in (Flunder, twin)}
    assert len(targets) == 2


def test_extra_schema_extensions_survive() -> None:
    class Tagged(KubeModel):
        tags: list[str] = Field(default=[], json_schema_extra={"x-kubernetes-list-type": "set"})

    _, defs = model_definitions([Tagged], PREFIX)
    assert defs[PREFIX + "Tagged"]["properties"]["tags"]["x-kubernetes-list-type"] == "set"


def test_object_schema_adds_type_meta_metadata_and_gvk() -> None:
    _, defs = model_definitions([Flunder], PREFIX)
    s = object_schema(defs[PREFIX + "Flunder"], "wardle.example.com", "v1alpha1", "Flunder")
    assert list(s["properties"])[:3] == ["apiVersion", "kind", "metadata"]
    assert s["properties"]["metadata"]["$ref"] == REF_PREFIX + OBJECT_META
    assert s["properties"]["apiVersion"]["description"].startswith("APIVersion defines")
    assert s["x-kubernetes-group-version-kind"] == [
        {"group": "wardle.example.com", "kind": "Flunder", "version": "v1alpha1"}
    ]


def test_a_kind_without_model_is_free_form() -> None:
    s = object_schema(None, "metrics.k8s.io", "v1beta1", "NodeMetrics")
    assert s["type"] == "object"
    assert s["x-kubernetes-preserve-unknown-fields"] is True
    assert set(s["properties"]) == {"apiVersion", "kind", "metadata"}


def test_list_schema() -> None:
    s = list_schema(PREFIX + "Flunder", "wardle.example.com", "v1alpha1", "Flunder", "flunders")
    assert s["required"] == ["items"]
    assert s["properties"]["items"]["items"]["$ref"] == REF_PREFIX + PREFIX + "Flunder"
    assert s["properties"]["metadata"]["$ref"] == REF_PREFIX + LIST_META
    assert s["x-kubernetes-group-version-kind"] == [
        {"group": "wardle.example.com", "kind": "FlunderList", "version": "v1alpha1"}
    ]


def test_merge_declarations_are_published_as_upstream_extensions() -> None:
    from k8s_aggapi.models.lists import list_map, list_set, map_atomic

    class Port(KubeModel):
        name: str
        protocol: str | None = None

    class Declared(KubeModel):
        ports: list[Port] | None = Field(default=None,
                                         json_schema_extra=list_map("name", "protocol"))
        tags: list[str] | None = Field(default=None, json_schema_extra=list_set())
        whole: Port | None = Field(default=None, json_schema_extra=map_atomic())

    _, defs = model_definitions([Declared], PREFIX)
    props = defs[PREFIX + "Declared"]["properties"]
    assert props["ports"]["x-kubernetes-list-type"] == "map"
    assert props["ports"]["x-kubernetes-list-map-keys"] == ["name", "protocol"]
    assert props["ports"]["x-kubernetes-patch-merge-key"] == "name"
    assert props["ports"]["x-kubernetes-patch-strategy"] == "merge"
    assert props["tags"]["x-kubernetes-list-type"] == "set"
    assert props["tags"]["x-kubernetes-patch-strategy"] == "merge"
    assert props["whole"]["x-kubernetes-map-type"] == "atomic"
