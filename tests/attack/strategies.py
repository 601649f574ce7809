"""Hypothesis strategies built from the server's own OpenAPI v3 document: an operation (path,
method, parameters, body content types), then its path values, query, headers and body.

Bodies follow the schema often enough to pass decoding (the right apiVersion, kind and name)
and leave it just as often: wrong types, extra keys, huge or out-of-range numbers, odd text.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode

from hypothesis import strategies as st

NAMES = ("fuzz-a", "fuzz-b", "fuzz-c")
FRESH_NAMES = ("fuzz-x", "fuzz-y", "fuzz-z")  # not made beforehand: creates can succeed
NAMESPACES = ("default", "fuzz-ns")
PATCH_TYPES = ("application/json-patch+json", "application/merge-patch+json",
               "application/apply-patch+yaml", "application/strategic-merge-patch+json",
               "application/json", "text/plain")
ACCEPTS = ("application/json", "*/*", "application/json;as=Table;v=v1;g=meta.k8s.io",
           "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io",
           "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
           "application/vnd.kubernetes.protobuf", "application/cbor", "application/yaml",
           "text/html", ";;;", "application/json;as=Table;v=v9;g=nope")
ODD_TEXT = ("", " ", "..", ".", "/", "%", "%2F", "a/b", "\x00", "\ufffd", "\U0001f600",
            "A" * 300, "fuzz-a\t", "-", "a..b", "*", "\\", "\r\n", "'\"", "${x}", "null")


@dataclass(frozen=True)
class Operation:
    path: str
    method: str
    params: tuple[tuple[str, str, Mapping[str, Any]], ...]  # (name, in, schema)
    content_types: tuple[str, ...] = ()
    body_schema: Mapping[str, Any] = field(default_factory=dict)
    kind: str = ""


def operations(doc: Mapping[str, Any]) -> list[Operation]:
    ops = []
    for path, item in doc["paths"].items():
        shared = item.get("parameters", [])
        for method in ("get", "post", "put", "patch", "delete"):
            if method not in item:
                continue
            op = item[method]
            params = tuple((p["name"], p["in"], p.get("schema", {}))
                           for p in [*shared, *op.get("parameters", [])])
            content = (op.get("requestBody") or {}).get("content", {})
            schema = next(iter(content.values()), {}).get("schema", {})
            kind = op.get("x-kubernetes-group-version-kind", {}).get("kind", "")
            ops.append(Operation(path, method.upper(), params, tuple(content), schema, kind))
    return ops


def resolve(schema: Mapping[str, Any], components: Mapping[str, Any]) -> Mapping[str, Any]:
    for _ in range(10):
        if "$ref" in schema:
            schema = components[schema["$ref"].rsplit("/", 1)[1]]
        elif "allOf" in schema and len(schema["allOf"]) == 1:
            schema = {**{k: v for k, v in schema.items() if k != "allOf"},
                      **schema["allOf"][0]}
        else:
            return schema
    return schema


scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12), st.sampled_from(ODD_TEXT),
    st.sampled_from((2**63, -(2**63) - 1, 2**64, 10**30, -1, 0)),
)
any_json = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=12,
)
label_keys = st.one_of(st.sampled_from(("app", "a", "example.com/x", "a>1", "bad key!", "")),
                       st.from_regex(r"[a-z]([a-z0-9.-]{0,10}[a-z0-9])?(/[a-z]{1,8})?",
                                     fullmatch=True))
label_values = st.one_of(st.sampled_from(("", "1", "5", "v", "x" * 64, "a b")),
                         st.from_regex(r"[A-Za-z0-9]([A-Za-z0-9._-]{0,10})?", fullmatch=True))


def from_schema(schema: Mapping[str, Any], components: Mapping[str, Any],
                depth: int = 0) -> st.SearchStrategy[Any]:
    """Values shaped by `schema`, now and then anything at all."""
    schema = resolve(schema, components)
    if depth > 5:
        return any_json
    kind = schema.get("type")
    if kind == "object" and "properties" in schema:
        props = {k: from_schema(v, components, depth + 1)
                 for k, v in schema["properties"].items()}
        typed = st.fixed_dictionaries({}, optional=props)
    elif kind == "object":
        values = from_schema(schema.get("additionalProperties", {}), components, depth + 1)
        typed = st.dictionaries(label_keys, values, max_size=4)
    elif kind == "array":
        typed = st.lists(from_schema(schema.get("items", {}), components, depth + 1),
                         max_size=3)
    elif kind == "string":
        typed = st.one_of(st.text(max_size=16), st.sampled_from(ODD_TEXT), label_values)
    elif kind == "integer":
        typed = st.one_of(st.integers(-5, 100), st.integers(),
                          st.sampled_from((2**63 - 1, 2**63, -(2**63) - 1)))
    elif kind == "boolean":
        typed = st.booleans()
    else:
        return any_json
    return st.one_of(typed, typed, typed, any_json)


def dumps(value: Any) -> bytes:
    """JSON the way an attacker writes it: big integers as digits, NaN and Infinity bare."""
    return json.dumps(value, allow_nan=True, ensure_ascii=False).encode("utf-8",
                                                                         "surrogatepass")


def object_body(op: Operation, components: Mapping[str, Any],
                name: str) -> st.SearchStrategy[bytes]:
    """A Flunder/Fischer body: mostly well-formed envelope, fuzzed inside."""
    schema = resolve(op.body_schema, components)
    kind = op.kind or ("Flunder" if "flunders" in op.path else "Fischer")
    meta = st.fixed_dictionaries(
        {"name": st.one_of(st.just(name), st.sampled_from(NAMES), st.text(max_size=10))},
        optional={"labels": st.dictionaries(label_keys, label_values, max_size=5),
                  "annotations": st.dictionaries(label_keys, st.text(max_size=20), max_size=3),
                  "finalizers": st.lists(st.sampled_from(("a/b", "bad finalizer!", "x")),
                                         max_size=2),
                  "resourceVersion": st.sampled_from(("1", "abc", "-1", "")),
                  "namespace": st.sampled_from((*NAMESPACES, "other", "")),
                  "managedFields": from_schema(
                      {"type": "array", "items": {
                          "$ref": "#/components/schemas/"
                                  "io.k8s.apimachinery.pkg.apis.meta.v1.ManagedFieldsEntry"}},
                      components)},
    )
    shaped = st.fixed_dictionaries(
        {"apiVersion": st.sampled_from(("wardle.example.com/v1alpha1",) * 4 + ("v1", "")),
         "kind": st.sampled_from((kind,) * 4 + ("Fischer", "Pod", "")),
         "metadata": meta},
        optional={"spec": from_schema(schema.get("properties", {}).get("spec", {}),
                                      components),
                  "disallowedFlunders": st.lists(st.text(max_size=8), max_size=3)},
    )
    clean = st.fixed_dictionaries({
        "apiVersion": st.just("wardle.example.com/v1alpha1"), "kind": st.just(kind),
        "metadata": st.fixed_dictionaries({"name": st.just(name)}, optional={
            "labels": st.dictionaries(st.sampled_from(("a", "app", "x.io/y")),
                                      st.sampled_from(("1", "2", "v")), max_size=2)}),
    }, optional={"spec": st.fixed_dictionaries({}, optional={
        "reference": st.sampled_from(NAMES), "referenceType": st.sampled_from(
            ("Flunder", "Fischer", "Nope"))})})
    anything = from_schema(schema, components) if schema else any_json
    return st.one_of(clean, clean, shaped, shaped, shaped, anything).map(dumps)


json_pointers = st.one_of(
    st.sampled_from(("/spec", "/spec/reference", "/spec/referenceType", "/metadata/labels",
                     "/metadata/labels/a", "/metadata/name", "/metadata/namespace",
                     "/metadata/resourceVersion", "/kind", "/apiVersion", "", "/", "/-",
                     "/spec/x/y", "/metadata/finalizers/-", "/metadata/managedFields/0",
                     "spec", "/~2", "/metadata/labels/a~1b")),
    st.lists(st.text(max_size=5), max_size=4).map(lambda p: "".join("/" + s for s in p)),
)
json_patch = st.lists(
    st.fixed_dictionaries(
        {"op": st.sampled_from(("add", "remove", "replace", "move", "copy", "test", "bogus"))},
        optional={"path": json_pointers, "from": json_pointers, "value": any_json},
    ),
    max_size=6,
).map(dumps)


def patch_body(op: Operation, components: Mapping[str, Any],
               content_type: str, name: str) -> st.SearchStrategy[bytes]:
    if content_type == "application/json-patch+json":
        return st.one_of(json_patch, json_patch, any_json.map(dumps))
    merge = object_body(op, components, name)
    if content_type == "application/apply-patch+yaml":
        yaml_text = st.sampled_from((b"a: [", b"- x\n- y", b"kind: Flunder\nmetadata: {}",
                                     b"\t\tx", b"&a [*a, *a]", b"!!python/object:os.system x"))
        return st.one_of(merge, yaml_text)
    return merge


def path_value(kind: str) -> st.SearchStrategy[str]:
    pool = NAMESPACES if kind == "namespace" else NAMES
    odd = st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=12))
    encoded = odd.map(lambda s: quote(s, safe=""))
    traversal = st.sampled_from(("..", "%2e%2e", "fuzz-a%2F..%2Ffuzz-b", "fuzz-a/../fuzz-b",
                                 "FUZZ-A", "fuzz-a/", "fuzz-a%00", "fuzz-a;x", "fuzz-a?x=1"))
    return st.one_of(st.sampled_from(pool), st.sampled_from(pool), encoded, traversal)


def query_value(schema: Mapping[str, Any], name: str) -> st.SearchStrategy[str]:
    kind = schema.get("type")
    odd = st.one_of(st.sampled_from(ODD_TEXT), st.text(max_size=10))
    if kind == "boolean":
        return st.one_of(st.sampled_from(("true", "false", "1", "0", "True", "yes", "")), odd)
    if kind == "integer":
        return st.one_of(st.integers(-3, 5).map(str), st.integers().map(str),
                         st.sampled_from(("9" * 400, "1e3", "0x10", "-0", "1.5")), odd)
    if name == "labelSelector":
        term = st.tuples(label_keys, st.sampled_from(("=", "==", "!=", ">", "<", " in ",
                                                      " notin ", "")),
                         label_values).map(lambda t: "".join(t))
        return st.one_of(st.lists(term, min_size=1, max_size=3).map(",".join), odd)
    if name == "fieldSelector":
        term = st.tuples(st.sampled_from(("metadata.name", "metadata.namespace", "spec.x",
                                          "", "metadata.name==")),
                         st.sampled_from(("=", "==", "!=")),
                         st.sampled_from(NAMES + ODD_TEXT)).map(lambda t: "".join(t))
        return st.one_of(st.lists(term, min_size=1, max_size=3).map(",".join), odd)
    if name == "resourceVersion":
        return st.one_of(st.sampled_from(("0", "1", "", "abc", "-1", "99999999999999999999")),
                         odd)
    if name == "resourceVersionMatch":
        return st.sampled_from(("Exact", "NotOlderThan", "", "Bogus"))
    if name == "dryRun":
        return st.sampled_from(("All", "", "None", "all"))
    if name == "propagationPolicy":
        return st.sampled_from(("Orphan", "Background", "Foreground", "Bogus"))
    if name == "fieldValidation":
        return st.sampled_from(("Strict", "Warn", "Ignore", "Bogus"))
    return odd


@dataclass
class Request:
    method: str
    target: str
    headers: dict[str, str]
    body: bytes | None
    identity: str

    def describe(self) -> str:
        body = (self.body or b"")[:300]
        return f"{self.identity}: {self.method} {self.target[:300]} {self.headers} {body!r}"


@st.composite
def requests(draw: st.DrawFn, ops: list[Operation], components: Mapping[str, Any],
             identities: tuple[str, ...] = ("admin", "front-proxy")) -> Request:
    op = draw(st.sampled_from(ops))
    target, name = op.path, draw(st.sampled_from(NAMES + FRESH_NAMES))
    query: list[tuple[str, str]] = []
    for pname, where, schema in op.params:
        if where == "path":
            value = draw(path_value(pname))
            if pname == "name" and value in NAMES:
                name = value
            target = target.replace("{" + pname + "}", value)
        elif where == "query" and draw(st.integers(0, 3)) == 0:
            query.append((pname, draw(query_value(schema, pname))))
    if draw(st.integers(0, 9)) == 0:  # parameters the document does not list
        query.append((draw(st.sampled_from(("watch", "timeoutSeconds", "continue", "limit",
                                            "includeObject", "as", "x"))),
                      draw(st.sampled_from((*ODD_TEXT, "1", "true", "Object")))))
    if query:
        target += "?" + urlencode(query)
    headers: dict[str, str] = {}
    if draw(st.integers(0, 3)) == 0:
        headers["Accept"] = draw(st.sampled_from(ACCEPTS))
    body: bytes | None = None
    if op.method == "PATCH":
        content_type = draw(st.sampled_from(op.content_types + PATCH_TYPES))
        headers["Content-Type"] = content_type
        body = draw(patch_body(op, components, content_type, name))
    elif op.method in ("POST", "PUT"):
        headers["Content-Type"] = draw(st.sampled_from(
            ("application/json",) * 6 + ("application/yaml", "text/plain", "",
                                         "application/json; charset=latin1")))
        body = draw(object_body(op, components, name))
    elif op.method == "DELETE" and draw(st.booleans()):
        headers["Content-Type"] = "application/json"
        delete_options = resolve(op.body_schema, components) if op.body_schema else {}
        body = draw(from_schema(delete_options, components).map(dumps))
    if draw(st.integers(0, 4)) == 0:
        headers[draw(st.sampled_from(("X-Remote-User", "X-Remote-Group", "Impersonate-User",
                                      "X-Forwarded-For", "Content-Encoding", "X-Junk")))] = draw(
            st.sampled_from(("admin", "system:masters", "gzip", "\t",
                             "x" * 2000, "identity")))
    identity = draw(st.sampled_from(identities))
    return Request(op.method, target, headers, body, identity)
