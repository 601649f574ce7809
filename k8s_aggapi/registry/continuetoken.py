"""Continue tokens for paginated lists: unpadded base64url JSON of the list revision and the
next key, checked as k8s.io/apiserver pkg/storage/continue.go checks them.

Keys are stored relative to the list prefix, so a token only resumes the list it came from.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

import orjson

from k8s_aggapi.errors import BadRequest
from k8s_aggapi.request.gojson import syntax_error

VERSION = "meta.k8s.io/v1"
LATEST = "-1"  # the revision of the token a 410 hands out: continue at the latest one
_ALPHABET = re.compile(r"[^A-Za-z0-9_-]")
_INT64 = (-(2**63), 2**63 - 1)
_JSON_TYPES = {str: "string", bool: "bool", list: "array", dict: "object", int: "number",
               float: "number"}


def encode(next_key: str, resource_version: str, prefix: str = "") -> str:
    start = next_key[len(prefix):] if prefix and next_key.startswith(prefix) else next_key
    raw = orjson.dumps({"v": VERSION, "rv": int(resource_version), "start": start})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _invalid(detail: str = "") -> BadRequest:
    return BadRequest(f"invalid continue token: continue key is not valid{detail}")


def _field(data: dict[str, Any], name: str, kind: type) -> Any:
    value = data.get(name)
    if value is None:  # absent or null: Go leaves the zero value
        return kind()
    if kind is int and isinstance(value, int) and not isinstance(value, bool):
        if _INT64[0] <= value <= _INT64[1]:
            return value
    elif isinstance(value, kind) and not isinstance(value, bool):
        return value
    shown = _JSON_TYPES.get(type(value), "value")
    if shown == "number":
        shown = f"number {value}"
    go_type = "int64" if kind is int else "string"
    raise _invalid(f": json: cannot unmarshal {shown} into Go struct field continueToken.{name} "
                   f"of type {go_type}")


def _clean(path: str) -> str:
    """Go's path.Clean for a rooted path."""
    parts: list[str] = []
    for segment in path.split("/"):
        if segment in ("", "."):
            continue
        if segment == "..":
            if parts:
                parts.pop()
            continue
        parts.append(segment)
    return "/" + "/".join(parts)


def decode(token: str, prefix: str) -> tuple[str, int]:
    """(start key, resource version) of a token; 400 when it is not one of ours. A negative
    resource version means the latest revision (an inconsistent continue, after a 410)."""
    bad = _ALPHABET.search(token)
    if bad is not None or len(token) % 4 == 1:
        at = bad.start() if bad is not None else len(token) - 1
        raise _invalid(f": illegal base64 data at input byte {at}")
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except binascii.Error as exc:
        raise _invalid(f": {str(exc).split(':')[0].lower()}") from None
    problem = syntax_error(raw)  # Go's json.Unmarshal checks the syntax first, in its words
    if problem:
        raise _invalid(f": {problem}")
    try:  # Go reads bytes that are no UTF-8 as U+FFFD
        data = orjson.loads(raw.decode(errors="replace"))
    except orjson.JSONDecodeError as exc:
        raise _invalid(f": {str(exc).split(':')[0].lower()}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        shown = _JSON_TYPES.get(type(data), "value")
        raise _invalid(f": json: cannot unmarshal {shown} into Go value of type "
                       "storage.continueToken")
    version, rv, start = _field(data, "v", str), _field(data, "rv", int), _field(data, "start", str)
    if version != VERSION:
        raise _invalid(f": server does not recognize this encoded version {version}")
    # upstream refuses only 0: a negative rv (the token of a 410) asks for the latest revision
    if rv == 0:
        raise _invalid(f": incorrect encoded start resourceVersion (version {VERSION})")
    if not start:
        raise _invalid(f": encoded start key empty (version {VERSION})")
    key = start if start.startswith("/") else "/" + start
    cleaned = _clean(key)
    if cleaned != key:
        raise _invalid(f": {start}")
    return prefix + cleaned[1:], rv
