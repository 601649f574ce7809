"""Structural checks shared by the OpenAPI tests: refs resolve, no JSON Schema 2020 leftovers."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

# Keys pydantic emits that neither Swagger 2.0 nor OpenAPI 3.0 schema objects know.
FOREIGN = {"$defs", "anyOf", "oneOf", "const", "title", "prefixItems", "examples", "discriminator"}


def walk(node: Any, path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    if isinstance(node, dict):
        yield path, node
        for key, value in node.items():
            yield from walk(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, f"{path}/{i}")


def refs(node: Any) -> list[str]:
    return [d["$ref"] for _, d in walk(node) if isinstance(d.get("$ref"), str)]


def assert_refs_resolve(doc: dict[str, Any], prefix: str, definitions: dict[str, Any]) -> None:
    found = refs(doc)
    assert found, "a document without refs is suspicious"
    for ref in found:
        assert ref.startswith(prefix), ref
        assert ref[len(prefix) :] in definitions, f"dangling {ref}"


def assert_no_foreign_schema_keys(definitions: dict[str, Any]) -> None:
    for name, schema in definitions.items():
        for path, node in walk(schema):
            if path.endswith("/properties"):
                continue  # property names are data, not keywords
            bad = FOREIGN & set(node)
            assert not bad, f"{name}{path}: {bad}"
            for bound in ("exclusiveMinimum", "exclusiveMaximum"):
                assert isinstance(node.get(bound, True), bool), f"{name}{path}: {bound}"


def operations(paths: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in paths.items():
        for method, op in item.items():
            if method != "parameters":
                yield path, method, op
