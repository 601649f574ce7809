"""Applying patches: JSON merge patch (RFC 7386), JSON patch (RFC 6902) and strategic merge
patch, with upstream's bounds; decoding a server-side apply configuration (YAML or JSON).

As k8s.io/apiserver's patch handler: at most `max_json_patch_operations` operations (413), `copy`
operations adding at most `json_patch_max_copy_bytes` in all (422, as evanphx/json-patch refuses
past AccumulatedCopySizeLimit), and a result no larger or deeper than a body may be. Strategic
merge patch follows the model's merge declarations (`k8s_aggapi.patching.strategic`); apply
itself is `k8s_aggapi.patching.apply`.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
import yaml

from k8s_aggapi.endpoints.depth import dump_within, effective_limit
from k8s_aggapi.errors import BadRequest, RequestEntityTooLarge, StatusError
from k8s_aggapi.limits import DEFAULT_LIMITS, ServerLimits
from k8s_aggapi.patching.schema import ANY, Schema
from k8s_aggapi.patching.strategic import strategic_merge_patch

MERGE_PATCH = "application/merge-patch+json"
JSON_PATCH = "application/json-patch+json"
STRATEGIC_MERGE_PATCH = "application/strategic-merge-patch+json"
APPLY_PATCH = "application/apply-patch+yaml"
PATCH_TYPES = (JSON_PATCH, MERGE_PATCH, STRATEGIC_MERGE_PATCH, APPLY_PATCH)
log = logging.getLogger("k8s_aggapi.patch")
UNDECODABLE_PATCH = "error decoding patch"  # how upstream begins a patch body it cannot read


class Unprocessable(StatusError):
    """What upstream answers when a JSON patch does not apply (NewGenericServerResponse 422):
    the detail is not in the answer (`"details": {}`); it is logged, and kept as `detail`."""

    def __init__(self, detail: str) -> None:
        super().__init__("the server rejected our request due to an error in our request", 422,
                         "Invalid", always_details=True)
        self.detail = detail


def unprocessable(detail: str) -> StatusError:
    log.info("JSON patch not applied: %s", detail)
    return Unprocessable(detail)


def merge_patch(target: Any, patch: Any) -> Any:
    """RFC 7386; the patch's values are fresh from the body, so they are used, not copied."""
    if not isinstance(patch, dict):
        return patch
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


def _child(node: Any, token: str) -> Any:
    """The child at `token`, or KeyError."""
    if isinstance(node, dict) and token in node:
        return node[token]
    if isinstance(node, list) and token.isdigit() and int(token) < len(node):
        return node[int(token)]
    raise KeyError(token)


def _find(doc: Any, pointer: str) -> tuple[Any, str] | None:
    """The container holding `pointer`'s last token and that token (None: no container)."""
    tokens = _tokens(pointer)
    if not tokens:
        return None
    node = doc
    try:
        for token in tokens[:-1]:
            node = _child(node, token)
    except KeyError:
        return None
    return (node, tokens[-1]) if isinstance(node, dict | list) else None


def _get(doc: Any, pointer: str) -> Any:
    """The value at `pointer`, or KeyError."""
    node = doc
    for token in _tokens(pointer):
        node = _child(node, token)
    return node


def _add(doc: Any, pointer: str, value: Any, verb: str = "add") -> Any:
    if pointer == "":
        return value
    found = _find(doc, pointer)
    if found is None:
        raise unprocessable(f'{verb} operation does not apply: doc is missing path: "{pointer}": '
                            "missing value")
    parent, token = found
    if isinstance(parent, dict):
        parent[token] = value
        return doc
    index = len(parent) if token == "-" else int(token) if token.isdigit() else -1
    if not 0 <= index <= len(parent):
        raise unprocessable(f"error in {verb} for path: '{pointer}': Unable to access invalid "
                            f"index: {token}: invalid index referenced")
    parent.insert(index, value)
    return doc


def _remove(doc: Any, pointer: str, verb: str = "remove") -> Any:
    """Take the value at `pointer` out of `doc` and return it."""
    found = _find(doc, pointer)
    if found is None:
        raise unprocessable(f'{verb} operation does not apply: doc is missing path: "{pointer}": '
                            "missing value")
    parent, token = found
    try:
        value = _child(parent, token)
    except KeyError:
        raise unprocessable(f"error in {verb} for path: '{pointer}': Unable to remove "
                            f"nonexistent key: {token}: missing value") from None
    if isinstance(parent, dict):
        del parent[token]
    else:
        del parent[int(token)]
    return value


def _check_op(op: Any) -> str:
    if not isinstance(op, dict) or not isinstance(op.get("path"), str):
        raise BadRequest(f"invalid JSON patch operation (a string path is required): {op}")
    if "from" in op and not isinstance(op["from"], str):
        raise BadRequest(f'invalid JSON patch operation ("from" must be a string): {op}')
    kind = op.get("op")
    if kind in ("add", "replace", "test") and "value" not in op:
        raise BadRequest(f'JSON patch operation "{kind}" needs a value')
    if kind not in ("add", "remove", "replace", "move", "copy", "test"):
        raise BadRequest(f'unexpected JSON patch operation "{kind}"')
    return str(kind)


def json_patch(doc: Any, operations: Any, limits: ServerLimits = DEFAULT_LIMITS) -> Any:
    """RFC 6902 on a copy of `doc`. Only `copy` duplicates data, and it is metered: the work is
    bounded by the body plus `json_patch_max_copy_bytes`, whatever the number of operations."""
    if not isinstance(operations, list):
        raise BadRequest("a JSON patch must be a list of operations")
    if len(operations) > limits.max_json_patch_operations:
        raise RequestEntityTooLarge(detail=(
            "The allowed maximum operations in a JSON patch is "
            f"{limits.max_json_patch_operations}, got {len(operations)}"))
    kinds = [_check_op(op) for op in operations]
    doc = orjson.loads(orjson.dumps(doc))
    copied = 0
    for kind, op in zip(kinds, operations, strict=True):
        path = op["path"]
        if kind == "add":
            doc = _add(doc, path, op["value"])
        elif kind == "remove":
            _remove(doc, path)
        elif kind == "replace":
            if path == "":
                doc = op["value"]
                continue
            found = _find(doc, path)
            if found is None or not _has(*found):
                raise unprocessable(f"replace operation does not apply: doc is missing key: {path}"
                                    ": missing value")
            _remove(doc, path)
            doc = _add(doc, path, op["value"], "replace")
        elif kind == "move":
            doc = _add(doc, path, _take(doc, op.get("from", ""), "move"), "move")
        elif kind == "copy":
            blob = orjson.dumps(_value_at(doc, op.get("from", ""), "copy"))
            copied += len(blob)
            if copied > limits.json_patch_max_copy_bytes:
                raise unprocessable(
                    "Unable to complete the copy, the accumulated size increase of copy is "
                    f"{copied}, exceeding the limit {limits.json_patch_max_copy_bytes}")
            doc = _add(doc, path, orjson.loads(blob), "copy")
        elif not json_equal(_value_at(doc, path, "test"), op["value"]):
            raise unprocessable(f"testing value {path} failed: test failed")
    return doc


def json_equal(a: Any, b: Any) -> bool:
    """Equality of JSON values: unlike Python's, `true` is not `1` (numbers compare by value)."""
    if isinstance(a, bool) or isinstance(b, bool):
        return a is b
    if isinstance(a, dict):
        return (isinstance(b, dict) and a.keys() == b.keys()
                and all(json_equal(a[k], b[k]) for k in a))
    if isinstance(a, list):
        return isinstance(b, list) and len(a) == len(b) and all(map(json_equal, a, b))
    return bool(a == b)  # strings, numbers (1 == 1.0, as Go's float64) and null


def _has(parent: Any, token: str) -> bool:
    try:
        _child(parent, token)
    except KeyError:
        return False
    return True


def _value_at(doc: Any, pointer: str, verb: str) -> Any:
    try:
        return _get(doc, pointer)
    except KeyError:
        where = "is missing path" if verb == "test" else "doc is missing from path"
        raise unprocessable(f"{verb} operation does not apply: {where}: {pointer}: "
                            "missing value") from None


def _take(doc: Any, pointer: str, verb: str) -> Any:
    _value_at(doc, pointer, verb)
    if pointer == "":
        raise unprocessable(f"{verb} operation does not apply: cannot {verb} the whole document")
    return _remove(doc, pointer, verb)


def check_result(result: Any, limits: ServerLimits) -> None:
    """A patched object is refused where a body carrying it would be: too large or too deep."""
    blob = dump_within(result, limits.max_nesting_depth)
    if blob is None:
        detail = f"exceeded max depth of {effective_limit(limits.max_nesting_depth)}"
        raise StatusError(
            f' "" is invalid: patch: Invalid value: "<value omitted>": {detail}', 422, "Invalid",
            {"causes": [{"reason": "FieldValueInvalid", "field": "patch",
                         "message": f'Invalid value: "<value omitted>": {detail}'}]},
        )
    if len(blob) > limits.max_body_bytes:
        raise RequestEntityTooLarge(limits.max_body_bytes)


def apply_patch(content_type: str, original: dict[str, Any], patch: Any,
                limits: ServerLimits = DEFAULT_LIMITS, schema: Schema = ANY) -> dict[str, Any]:
    if content_type == MERGE_PATCH:
        result = merge_patch(original, patch)
    elif content_type == STRATEGIC_MERGE_PATCH:
        result = strategic_merge_patch(original, patch, schema)
    else:
        result = json_patch(original, patch, limits)
    if not isinstance(result, dict):
        raise BadRequest("the patch must result in an object")
    check_result(result, limits)
    return result


class _ApplyLoader(yaml.SafeLoader):
    """YAML as sigs.k8s.io/yaml reads it into JSON: timestamps stay strings; no aliases (an
    alias could make a small body a huge object)."""

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            raise yaml.YAMLError("aliases are not supported")
        return super().compose_node(parent, index)


_ApplyLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _json_keys(value: Any) -> Any:
    """YAML may key a mapping by a number or a bool; JSON (and Go's converter) uses strings."""
    if isinstance(value, dict):
        return {(k if isinstance(k, str) else orjson.dumps(k).decode() if k is not None
                 else "null"): _json_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_json_keys(v) for v in value]
    return value


def parse_apply(raw: bytes, limits: ServerLimits = DEFAULT_LIMITS) -> dict[str, Any]:
    """An apply configuration: JSON (what kubectl sends) or YAML; 400 as upstream words it."""
    try:
        config = orjson.loads(raw)
    except orjson.JSONDecodeError:
        try:
            config = _json_keys(yaml.load(raw, Loader=_ApplyLoader))
        except (yaml.YAMLError, RecursionError, UnicodeDecodeError) as exc:
            raise BadRequest(f"error decoding YAML: {exc}") from None
    if not isinstance(config, dict):
        raise BadRequest("error decoding YAML: the apply configuration must be an object")
    if dump_within(config, limits.max_nesting_depth) is None:
        raise BadRequest("error decoding YAML: exceeded max depth of "
                         f"{effective_limit(limits.max_nesting_depth)}")
    return config
