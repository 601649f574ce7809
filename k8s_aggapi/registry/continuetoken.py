"""Continue tokens for paginated lists: base64 JSON of the list revision and the next key.

Keys are stored relative to the list prefix, so a token only resumes the list it came from.
"""

from __future__ import annotations

import base64
import binascii

import orjson

from k8s_aggapi.errors import BadRequest


def encode(next_key: str, resource_version: str, prefix: str = "") -> str:
    start = next_key[len(prefix):] if prefix and next_key.startswith(prefix) else next_key
    raw = orjson.dumps({"v": "meta.k8s.io/v1", "rv": int(resource_version), "start": start})
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(token: str, prefix: str) -> tuple[str, str]:
    """(start key, resource version) of a token; 400 when it is not one of ours."""
    try:
        padded = token + "=" * (-len(token) % 4)
        data = orjson.loads(base64.urlsafe_b64decode(padded))
        start, rv = str(data["start"]), str(int(data["rv"]))
        if data.get("v") != "meta.k8s.io/v1":
            raise ValueError("unknown version")
    except (binascii.Error, ValueError, KeyError, TypeError, orjson.JSONDecodeError) as exc:
        raise BadRequest(f"continue key is not valid: {exc}") from None
    if start.startswith("/"):
        return start, rv
    return prefix + start, rv
