"""fieldValidation on create, update and patch, as k8s.io/apiserver's handlers apply it: Strict
refuses unknown and duplicate fields (400 on a body, 422 on a patch), Warn (the default) stores
the object and names them in `Warning` headers, Ignore drops them silently.
"""

from __future__ import annotations

from typing import Any

import orjson
from pydantic import BaseModel

from k8s_aggapi.errors import BadRequest, StatusError, go_quote
from k8s_aggapi.registry import fieldvalidation as fv
from k8s_aggapi.registry.fieldvalidation import DecodeError
from k8s_aggapi.request.gojson import go_value

STRICT, WARN, IGNORE = "Strict", "Warn", "Ignore"


def directive(value: str) -> str:
    """The server's default is Warn (kubectl sends Strict); the value is validated elsewhere."""
    return value or WARN


def warning_headers(problems: list[str]) -> list[tuple[bytes, bytes]]:
    """`Warning: 299 - "unknown field \\"spec.foo\\""`, one header per problem."""
    return [(b"warning", f"299 - {go_quote(p)}".encode()) for p in problems]


def strict_error(problems: list[str]) -> str:
    return "strict decoding error: " + ", ".join(problems)


def _problems(unknown: list[str], duplicates: list[str], prefix: str = "") -> list[str]:
    return ([f"{prefix}duplicate field {go_quote(p)}" for p in duplicates]
            + [f"{prefix}unknown field {go_quote(p)}" for p in unknown])[:fv.MAX_STRICT_ERRORS]


def _within(path: str, unknown: list[str]) -> bool:
    return any(path == u or path.startswith((u + ".", u + "[")) for u in unknown)


def decode_body(model: type[BaseModel] | None, body: dict[str, Any], raw: bytes, how: str,
                kind: str, version: str) -> list[tuple[bytes, bytes]]:
    """Check a create or update body (400 as upstream's transformDecodeError words it);
    the Warning headers to send."""
    def refused(detail: str) -> BadRequest:
        return BadRequest(f'{kind} in version "{version}" cannot be handled as a {kind}: '
                          f"{detail}")

    unknown: list[str] = []
    try:
        if model is not None:
            unknown = fv.decode(model, body)
    except DecodeError as exc:
        raise refused(str(exc)) from None
    if how == IGNORE:
        return []
    duplicates = fv.duplicate_fields(raw, body)
    if duplicates and unknown:  # Go skips an unknown field's value, and its repeats
        duplicates = [d for d in duplicates if not _within(d, unknown)]
    problems = _problems(unknown, duplicates)
    if problems and how == STRICT:
        raise refused(strict_error(problems))
    return warning_headers(problems)


def patch_problems(media: str, patch: Any, raw: bytes, how: str) -> list[str]:
    """What a strict decode of the patch itself finds: duplicate fields, and for a JSON patch
    unknown fields of its operations (named `json patch ...`, as upstream)."""
    if how == IGNORE:
        return []
    if media == "application/json-patch+json":
        return _problems(fv.json_patch_fields(patch), fv.duplicate_fields(raw, patch),
                         "json patch ")
    return _problems([], fv.duplicate_fields(raw, patch))


def _patch_invalid(patched: dict[str, Any], detail: str, patch: Any = None) -> StatusError:
    """Upstream's NewInvalid with no kind and no name, on field `patch`: the value is the
    patched object as JSON, or for a strategic merge patch (`patch`) the patch as Go prints
    its map (`map[spec:map[bogus:1]]`)."""
    shown = go_quote(go_value(patch) if patch is not None else
                     orjson.dumps(patched, option=orjson.OPT_SORT_KEYS).decode())
    message = f"Invalid value: {shown}: {detail}"
    return StatusError(f' "" is invalid: patch: {message}', 422, "Invalid", {
        "causes": [{"reason": "FieldValueInvalid", "message": message, "field": "patch"}]})


def check_apply_fields(model: type[BaseModel] | None, config: dict[str, Any],
                       api_version: str, kind: str) -> None:
    """An apply configuration with a field the schema does not declare: upstream's typed
    converter refuses it whatever fieldValidation says, with a 500 and no reason (what
    `kubectl apply --server-side` shows as `Error from server: failed to create typed patch
    object ...`)."""
    if model is None:
        return
    try:
        unknown = fv.decode(model, orjson.loads(orjson.dumps(config)))
    except DecodeError:
        return  # a value of the wrong type: the decoder words it, after the merge
    if not unknown:
        return
    given = config.get("metadata")
    meta: dict[str, Any] = given if isinstance(given, dict) else {}
    at = f"{meta.get('namespace') or ''}/{meta.get('name') or ''}"
    found = [f".{path}: field not declared in schema" for path in unknown]
    detail = found[0] if len(found) == 1 else "errors:\n  " + "\n  ".join(found)
    raise StatusError(f"failed to create typed patch object ({at}; {api_version}, Kind={kind}): "
                      f"{detail}", 500, "")


def decode_patched(model: type[BaseModel] | None, patched: dict[str, Any],
                   before: list[str], how: str, patch: Any = None) -> list[tuple[bytes, bytes]]:
    """Check a patched object (422 as upstream's jsonPatcher words it); the Warning headers."""
    unknown: list[str] = []
    try:
        if model is not None:
            unknown = fv.decode(model, patched)
    except DecodeError as exc:
        raise _patch_invalid(patched, str(exc), patch) from None
    if how == IGNORE:
        return []
    problems = (before + _problems(unknown, []))[:fv.MAX_STRICT_ERRORS]
    if problems and how == STRICT:
        raise _patch_invalid(patched, strict_error(problems), patch)
    return warning_headers(problems)
