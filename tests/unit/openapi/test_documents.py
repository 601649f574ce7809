"""Whole documents: structure, refs, GVK extensions, the operations each storage serves."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_aggapi.api import APIGroup
from k8s_aggapi.openapi import build_v2, build_v3
from k8s_aggapi.openapi.meta import definitions as meta_definitions
from tests.unit.openapi.structure import (
    assert_no_foreign_schema_keys,
    assert_refs_resolve,
    operations,
    walk,
)

W = "com.example.wardle.v1alpha1."
META = "io.k8s.apimachinery.pkg.apis.meta.v1."
V3_REF = "#/components/schemas/"
BASE = "/apis/wardle.example.com/v1alpha1"
SMP = "application/strategic-merge-patch+json"


def v3(groups: list[APIGroup], group: str = "wardle.example.com", version: str = "v1alpha1") -> Any:
    return build_v3(groups, group, version, title="wardle", info_version="v0.1")


def test_v3_document_is_structurally_sound(groups: list[APIGroup]) -> None:
    doc = v3(groups)
    assert doc["openapi"] == "3.0.0"
    assert doc["info"] == {"title": "wardle", "version": "v0.1"}
    schemas = doc["components"]["schemas"]
    assert_refs_resolve(doc, V3_REF, schemas)
    assert_no_foreign_schema_keys(schemas)
    for name, schema in schemas.items():  # builder3 style: a $ref never has siblings
        for path, node in walk(schema):
            assert "$ref" not in node or len(node) == 1, f"{name}{path}"


def test_v3_only_holds_reachable_definitions(groups: list[APIGroup]) -> None:
    schemas = v3(groups)["components"]["schemas"]
    assert {
        W + "Flunder",
        W + "FlunderList",
        W + "FlunderSpec",
        W + "FlunderStatus",
        W + "Fischer",
        W + "FischerList",
    } <= set(schemas)
    assert {
        META + n
        for n in (
            "ObjectMeta",
            "ListMeta",
            "Patch",
            "APIResourceList",
            "ManagedFieldsEntry",
            "OwnerReference",
            "Time",
        )
    } <= set(schemas)
    # nothing here deletes or watches
    assert META + "Status" not in schemas
    assert META + "DeleteOptions" not in schemas
    assert META + "WatchEvent" not in schemas
    assert not any(name.startswith("io.k8s.metrics") for name in schemas)


def test_v3_wraps_refs_with_siblings_in_all_of(groups: list[APIGroup]) -> None:
    flunder = v3(groups)["components"]["schemas"][W + "Flunder"]
    assert flunder["properties"]["spec"] == {
        "description": "The desired state.",
        "allOf": [{"$ref": V3_REF + W + "FlunderSpec"}],
    }
    assert flunder["properties"]["metadata"]["allOf"] == [{"$ref": V3_REF + META + "ObjectMeta"}]


def test_gvk_extensions_on_objects_lists_and_operations(groups: list[APIGroup]) -> None:
    doc = v3(groups)
    schemas = doc["components"]["schemas"]
    gvk = {"group": "wardle.example.com", "version": "v1alpha1"}
    assert schemas[W + "Flunder"]["x-kubernetes-group-version-kind"] == [{**gvk, "kind": "Flunder"}]
    assert schemas[W + "FlunderList"]["x-kubernetes-group-version-kind"] == [
        {**gvk, "kind": "FlunderList"}
    ]
    for path, method, op in operations(doc["paths"]):
        if path == BASE + "/":
            assert "x-kubernetes-action" not in op
            continue
        kind = "Fischer" if "fischers" in path else "Flunder"
        assert op["x-kubernetes-group-version-kind"] == {**gvk, "kind": kind}, (path, method)


def test_operations_follow_the_storage_verbs(groups: list[APIGroup]) -> None:
    paths = v3(groups)["paths"]
    actions = {
        (path, method): op["x-kubernetes-action"]
        for path, method, op in operations(paths)
        if "x-kubernetes-action" in op
    }
    assert actions == {
        (f"{BASE}/namespaces/{{namespace}}/flunders", "get"): "list",
        (f"{BASE}/namespaces/{{namespace}}/flunders", "post"): "post",
        (f"{BASE}/namespaces/{{namespace}}/flunders/{{name}}", "get"): "get",
        (f"{BASE}/namespaces/{{namespace}}/flunders/{{name}}", "put"): "put",
        (f"{BASE}/namespaces/{{namespace}}/flunders/{{name}}", "patch"): "patch",
        (f"{BASE}/flunders", "get"): "list",
        (f"{BASE}/fischers", "get"): "list",
        (f"{BASE}/fischers/{{name}}", "get"): "get",
    }
    ops = {(p, m): op["operationId"] for p, m, op in operations(paths)}
    assert ops[(f"{BASE}/namespaces/{{namespace}}/flunders", "get")] == (
        "listWardleExampleComV1alpha1NamespacedFlunder"
    )
    assert ops[(f"{BASE}/flunders", "get")] == "listWardleExampleComV1alpha1FlunderForAllNamespaces"
    assert ops[(f"{BASE}/fischers/{{name}}", "get")] == "readWardleExampleComV1alpha1Fischer"
    assert ops[(f"{BASE}/", "get")] == "getWardleExampleComV1alpha1APIResources"


def test_parameters_like_upstream(groups: list[APIGroup]) -> None:
    paths = v3(groups)["paths"]
    item = paths[f"{BASE}/namespaces/{{namespace}}/flunders/{{name}}"]
    assert [p["name"] for p in item["parameters"]] == ["namespace", "name", "pretty"]
    assert all(p["required"] for p in item["parameters"][:2])
    assert [p["name"] for p in item["patch"]["parameters"]] == [
        "dryRun",
        "fieldManager",
        "fieldValidation",
        "force",
    ]
    listing = paths[f"{BASE}/namespaces/{{namespace}}/flunders"]["get"]
    names = [p["name"] for p in listing["parameters"]]
    assert {
        "labelSelector",
        "fieldSelector",
        "limit",
        "continue",
        "watch",
        "resourceVersion",
        "timeoutSeconds",
    } <= set(names)
    assert listing["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": V3_REF + W + "FlunderList"
    }


def test_patch_offers_every_patch_type(groups: list[APIGroup]) -> None:
    # strategic merge patch listed: kubectl's client-side apply then sends one
    patch = v3(groups)["paths"][f"{BASE}/namespaces/{{namespace}}/flunders/{{name}}"]["patch"]
    content = patch["requestBody"]["content"]
    assert set(content) == {
        "application/json-patch+json",
        "application/merge-patch+json",
        SMP,
        "application/apply-patch+yaml",
    }
    v2_patch = build_v2(groups, title="t", info_version="v")["paths"][
        f"{BASE}/namespaces/{{namespace}}/flunders/{{name}}"
    ]["patch"]
    assert SMP in v2_patch["consumes"]


def test_full_crud_storage_gets_delete_and_watch(groups: list[APIGroup]) -> None:
    from tests.unit.test_discovery import sample_groups

    doc = build_v3(sample_groups(), "wardle.example.com", "v1alpha1", title="t", info_version="v")
    paths, schemas = doc["paths"], doc["components"]["schemas"]
    assert_refs_resolve(doc, V3_REF, schemas)
    item = paths[f"{BASE}/namespaces/{{namespace}}/flunders/{{name}}"]
    assert item["delete"]["x-kubernetes-action"] == "delete"
    assert paths[f"{BASE}/namespaces/{{namespace}}/flunders"]["delete"]["x-kubernetes-action"] == (
        "deletecollection"
    )
    assert (
        paths[f"{BASE}/watch/namespaces/{{namespace}}/flunders"]["get"]["x-kubernetes-action"]
        == "watchlist"
    )
    assert paths[f"{BASE}/watch/fischers/{{name}}"]["get"]["x-kubernetes-action"] == "watch"
    # free-form kinds (no model) still get object and list definitions
    assert schemas["com.example.wardle.v1alpha1.Flunder"]["x-kubernetes-preserve-unknown-fields"]
    assert schemas[META + "Status"]["x-kubernetes-group-version-kind"] == [
        {"group": "", "kind": "Status", "version": "v1"}
    ]
    # meta types registered in every served group version, as the generic scheme does
    gvks = schemas[META + "DeleteOptions"]["x-kubernetes-group-version-kind"]
    assert gvks == [
        {"group": "", "kind": "DeleteOptions", "version": "v1"},
        {"group": "metrics.example.io", "kind": "DeleteOptions", "version": "v1"},
        {"group": "wardle.example.com", "kind": "DeleteOptions", "version": "v1alpha1"},
        {"group": "wardle.example.com", "kind": "DeleteOptions", "version": "v1beta1"},
    ]


def test_meta_definitions_are_upstream(groups: list[APIGroup]) -> None:
    doc = build_v2(groups, title="t", info_version="v")
    upstream = meta_definitions()
    for name in ("ObjectMeta", "ListMeta", "ManagedFieldsEntry", "OwnerReference", "Patch"):
        assert doc["definitions"][META + name] == upstream[META + name]
    assert "selfLink" in doc["definitions"][META + "ObjectMeta"]["properties"]


def test_v2_document_is_structurally_sound(groups: list[APIGroup]) -> None:
    doc = build_v2(groups, title="wardle", info_version="v0.1")
    assert doc["swagger"] == "2.0"
    assert doc["security"] == [{"BearerToken": []}]
    assert_refs_resolve(doc, "#/definitions/", doc["definitions"])
    assert_no_foreign_schema_keys(doc["definitions"])
    assert {W + "Flunder", "io.k8s.metrics.v1beta1.NodeMetrics"} <= set(doc["definitions"])
    for path, method, op in operations(doc["paths"]):
        assert op["schemes"] == ["https"], (path, method)
        assert op["responses"]["401"] == {"description": "Unauthorized"}
        for param in op.get("parameters", []):
            assert ("schema" in param) is (param["in"] == "body")
    post = doc["paths"][f"{BASE}/namespaces/{{namespace}}/flunders"]["post"]
    assert post["parameters"][0] == {
        "name": "body",
        "in": "body",
        "required": True,
        "schema": {"$ref": "#/definitions/" + W + "Flunder"},
    }


@pytest.mark.parametrize(("group", "version"), [("wardle.example.com", "v9"), ("nope", "v1")])
def test_unknown_group_version(groups: list[APIGroup], group: str, version: str) -> None:
    with pytest.raises(KeyError):
        v3(groups, group, version)
