"""The OpenAPI v2 document as protobuf (gnostic's `openapi.v2.Document`), which client-go asks
`/openapi/v2` for (`Accept: application/com.github.proto-openapi.spec.v2@v1.0+protobuf`).

kubectl's strict client-side validation checks, for a kind it does not find in OpenAPI v3,
whether the server's v2 PATCH operations of that kind take `fieldValidation`; without a v2
document it fails with "failed to download openapi" instead of its "no matches for kind".
What is encoded is what that check reads: `swagger`, `info` and every path with its
operations (tags, ids, media types, non-body parameters, vendor extensions such as
`x-kubernetes-group-version-kind`); definitions and responses stay in the JSON document.
Field numbers are those of gnostic's OpenAPIv2.proto.
"""

from __future__ import annotations

from typing import Any

import orjson

PROTOBUF_TYPES = (
    "application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
    "application/com.github.proto-openapi.spec.v2.v1.0+protobuf",
)
CONTENT_TYPE = PROTOBUF_TYPES[1]
_OPERATIONS = {"get": 2, "put": 3, "post": 4, "delete": 5, "options": 6, "head": 7, "patch": 8}


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte = n & 0x7F
        n >>= 7
        if n:
            out.append(byte | 0x80)
        else:
            out.append(byte)
            return bytes(out)


def _bytes(number: int, payload: bytes) -> bytes:
    """A length-delimited field (wire type 2): a string or an embedded message."""
    return _varint(number << 3 | 2) + _varint(len(payload)) + payload


def _str(number: int, value: Any) -> bytes:
    return _bytes(number, str(value).encode()) if value else b""


def _strs(number: int, values: Any) -> bytes:
    return b"".join(_str(number, v) for v in values or ())


def _bool(number: int, value: Any) -> bytes:
    return _varint(number << 3) + b"\x01" if value is True else b""


def _extensions(number: int, node: dict[str, Any]) -> bytes:
    """NamedAny{name, value: Any{yaml}}; JSON is YAML, which is what gnostic keeps there."""
    return b"".join(
        _bytes(number, _str(1, key) + _bytes(2, _str(2, orjson.dumps(value).decode())))
        for key, value in node.items() if key.startswith("x-"))


def _parameter(param: dict[str, Any]) -> bytes:
    where = param.get("in")
    if where == "body":  # BodyParameter: description, name, in, required
        body = (_str(1, param.get("description")) + _str(2, param.get("name")) + _str(3, where)
                + _bool(4, param.get("required")))
        return _bytes(1, _bytes(1, body))
    common = (_bool(1, param.get("required")) + _str(2, where)
              + _str(3, param.get("description")) + _str(4, param.get("name")))
    if where == "path":  # PathParameterSubSchema: type 5, unique_items 19
        sub = _bytes(4, common + _str(5, param.get("type")) + _bool(19, param.get("uniqueItems")))
    elif where == "header":  # HeaderParameterSubSchema: type 5, unique_items 19
        sub = _bytes(1, common + _str(5, param.get("type")) + _bool(19, param.get("uniqueItems")))
    else:  # QueryParameterSubSchema: type 6, unique_items 20
        sub = _bytes(3, common + _str(6, param.get("type")) + _bool(20, param.get("uniqueItems")))
    return _bytes(1, _bytes(2, sub))  # ParametersItem.parameter -> Parameter.non_body_parameter


def _operation(op: dict[str, Any]) -> bytes:
    return (_strs(1, op.get("tags")) + _str(3, op.get("description"))
            + _str(5, op.get("operationId")) + _strs(6, op.get("produces"))
            + _strs(7, op.get("consumes"))
            + b"".join(_bytes(8, _parameter(p)) for p in op.get("parameters", ())
                       if isinstance(p, dict) and "$ref" not in p)
            + _strs(10, op.get("schemes")) + _bool(11, op.get("deprecated"))
            + _extensions(13, op))


def _path_item(item: dict[str, Any]) -> bytes:
    out = b""
    for method, number in _OPERATIONS.items():
        if isinstance(item.get(method), dict):
            out += _bytes(number, _operation(item[method]))
    out += b"".join(_bytes(9, _parameter(p)) for p in item.get("parameters", ())
                    if isinstance(p, dict) and "$ref" not in p)
    return out + _extensions(10, item)


def encode_v2(doc: dict[str, Any]) -> bytes:
    info = doc.get("info") or {}
    paths = b"".join(_bytes(2, _str(1, name) + _bytes(2, _path_item(item)))
                     for name, item in (doc.get("paths") or {}).items())
    return (_str(1, doc.get("swagger", "2.0"))
            + _bytes(2, _str(1, info.get("title")) + _str(2, info.get("version")))
            + _bytes(8, paths))
