"""Applying patches: JSON merge patch (RFC 7386) and JSON patch (RFC 6902).

Strategic merge patch needs Go struct tags and server-side apply needs managed fields; both
answer 415, and kubectl falls back to a JSON merge patch because our OpenAPI lists neither.
"""

from __future__ import annotations

import copy
from typing import Any

from k8s_aggapi.errors import BadRequest, StatusError

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH)


def merge_patch(target: Any, patch: Any) -> Any:
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    result = dict(target) if isinstance(target, dict) else {}
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        else:
            result[key] = merge_patch(result.get(key), value)
    return result


def _tokens(pointer: str) -> list[str]:
    if pointer == "":
        return []
    if not pointer.startswith("/"):
        raise BadRequest(f'invalid JSON pointer "{pointer}"')
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer[1:].split("/")]


def _parent(doc: Any, pointer: str) -> tuple[Any, str]:
    tokens = _tokens(pointer)
    if not tokens:
        raise BadRequest("the root of a document cannot be the target of this operation")
    node = doc
    for token in tokens[:-1]:
        node = _child(node, token, pointer)
    return node, tokens[-1]


def _child(node: Any, token: str, pointer: str) -> Any:
    if isinstance(node, dict) and token in node:
        return node[token]
    if isinstance(node, list) and token.isdigit() and int(token) < len(node):
        return node[int(token)]
    raise StatusError(f'doc is missing path: "{pointer}"', 422, "Invalid")


def _get(doc: Any, pointer: str) -> Any:
    node = doc
    for token in _tokens(pointer):
        node = _child(node, token, pointer)
    return node


def _add(doc: Any, pointer: str, value: Any) -> Any:
    if pointer == "":
        return value
    parent, token = _parent(doc, pointer)
    if isinstance(parent, dict):
        parent[token] = value
    elif isinstance(parent, list):
        index = len(parent) if token == "-" else int(token) if token.isdigit() else -1
        if not 0 <= index <= len(parent):
            raise StatusError(f'doc is missing path: "{pointer}"', 422, "Invalid")
        parent.insert(index, value)
    else:
        raise StatusError(f'doc is missing path: "{pointer}"', 422, "Invalid")
    return doc


def _remove(doc: Any, pointer: str) -> Any:
    parent, token = _parent(doc, pointer)
    _child(parent, token, pointer)
    if isinstance(parent, dict):
        del parent[token]
    else:
        del parent[int(token)]
    return doc


def json_patch(doc: Any, operations: Any) -> Any:
    if not isinstance(operations, list):
        raise BadRequest("a JSON patch must be a list of operations")
    doc = copy.deepcopy(doc)
    for op in operations:
        if not isinstance(op, dict) or not isinstance(op.get("path"), str):
            raise BadRequest(f"invalid JSON patch operation (a string path is required): {op}")
        if "from" in op and not isinstance(op["from"], str):
            raise BadRequest(f'invalid JSON patch operation ("from" must be a string): {op}')
        kind, path = op.get("op"), op["path"]
        if kind in ("add", "replace", "test") and "value" not in op:
            raise BadRequest(f'JSON patch operation "{kind}" needs a value')
        if kind == "add":
            doc = _add(doc, path, copy.deepcopy(op["value"]))
        elif kind == "remove":
            doc = _remove(doc, path)
        elif kind == "replace":
            _get(doc, path)
            value = copy.deepcopy(op["value"])
            doc = _add(_remove(doc, path), path, value) if path else value
        elif kind in ("move", "copy"):
            value = copy.deepcopy(_get(doc, op.get("from", "")))
            if kind == "move":
                doc = _remove(doc, op["from"])
            doc = _add(doc, path, value)
        elif kind == "test":
            if _get(doc, path) != op["value"]:
                raise StatusError(
                    f"testing value {path} failed: test failed", 422, "Invalid"
                )
        else:
            raise BadRequest(f'unexpected JSON patch operation "{kind}"')
    return doc


def apply_patch(content_type: str, original: dict[str, Any], patch: Any) -> dict[str, Any]:
    result = merge_patch(original, patch) if content_type == MERGE_PATCH else json_patch(
        original, patch
    )
    if not isinstance(result, dict):
        raise BadRequest("the patch must result in an object")
    return result
