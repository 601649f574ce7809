"""The HTTP contract of /openapi/v2, /openapi/v3 and /openapi/v3/apis/<g>/<v> (kube-openapi)."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

import orjson
import pytest
from starlette.testclient import TestClient

GV = "/openapi/v3/apis/wardle.example.com/v1alpha1"


def _hash(body: bytes) -> str:
    return hashlib.sha512(body).hexdigest().upper()


def test_v3_discovery_lists_each_group_version_with_its_hash(client: TestClient) -> None:
    r = client.get("/openapi/v3")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["etag"] == f'"{_hash(r.content)}"'
    paths = r.json()["paths"]
    assert set(paths) == {"apis/wardle.example.com/v1alpha1", "apis/metrics.k8s.io/v1beta1"}
    url = paths["apis/wardle.example.com/v1alpha1"]["serverRelativeURL"]
    body = client.get(GV).content
    assert url == f"{GV}?hash={_hash(body)}"
    assert client.get(url).content == body


def test_v3_group_version_without_hash(client: TestClient) -> None:
    r = client.get(GV, headers={"Accept": "application/json"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["etag"] == f'"{_hash(r.content)}"'
    assert r.headers["vary"] == "Accept"
    assert "cache-control" not in r.headers
    assert "expires" not in r.headers
    assert r.json()["openapi"] == "3.0.0"


def test_v3_matching_hash_is_immutable_for_a_year(client: TestClient) -> None:
    url = client.get("/openapi/v3").json()["paths"]["apis/wardle.example.com/v1alpha1"][
        "serverRelativeURL"
    ]
    r = client.get(url)
    assert r.status_code == 200
    assert r.headers["cache-control"] == "public, immutable"
    assert r.headers["vary"] == "Accept"
    expires = parsedate_to_datetime(r.headers["expires"])
    ahead = expires - datetime.now(UTC)
    assert timedelta(days=364) < ahead <= timedelta(days=366)


def test_v3_stale_hash_redirects_to_the_current_one(client: TestClient) -> None:
    current = client.get("/openapi/v3").json()["paths"]["apis/wardle.example.com/v1alpha1"]
    r = client.get(f"{GV}?hash=0123ABCD")
    assert r.status_code == 301
    assert r.headers["location"] == current["serverRelativeURL"]


def test_v3_if_none_match_gives_304(client: TestClient) -> None:
    etag = client.get(GV).headers["etag"]
    r = client.get(GV, headers={"If-None-Match": etag})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == etag
    assert client.get(GV, headers={"If-None-Match": '"other"'}).status_code == 200
    root_etag = client.get("/openapi/v3").headers["etag"]
    assert client.get("/openapi/v3", headers={"If-None-Match": root_etag}).status_code == 304


def test_if_modified_since_gives_304(client: TestClient) -> None:
    last_modified = client.get(GV).headers["last-modified"]
    assert client.get(GV, headers={"If-Modified-Since": last_modified}).status_code == 304


@pytest.mark.parametrize(
    "accept",
    [
        "application/yaml",
        "application/com.github.proto-openapi.spec.v3.v1.0+protobuf",
        "application/json;q=0",
        "text/html",
    ],
)
def test_v3_406_without_json(client: TestClient, accept: str) -> None:
    r = client.get(GV, headers={"Accept": accept})
    assert r.status_code == 406
    assert r.json()["reason"] == "NotAcceptable"


@pytest.mark.parametrize(
    "accept",
    [
        "*/*",
        "application/*",
        "application/com.github.proto-openapi.spec.v3.v1.0+protobuf, application/json",
        "application/yaml;q=0.9, */*;q=0.1",
    ],
)
def test_v3_json_is_acceptable(client: TestClient, accept: str) -> None:
    assert client.get(GV, headers={"Accept": accept}).status_code == 200


def test_v3_unknown_group_version_is_404(client: TestClient) -> None:
    r = client.get("/openapi/v3/apis/wardle.example.com/v9")
    assert r.status_code == 404
    assert r.json()["kind"] == "Status"


def test_v2(client: TestClient) -> None:
    r = client.get("/openapi/v2", headers={"Accept": "application/json"})
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    assert r.headers["vary"] == "Accept"
    assert r.json()["swagger"] == "2.0"
    assert r.json()["info"] == {"title": "wardle", "version": "v0.1"}
    etag = r.headers["etag"]
    assert etag == f'"{_hash(r.content)}"'
    assert client.get("/openapi/v2", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/openapi/v2", headers={"If-None-Match": f"W/{etag}"}).status_code == 304
    assert client.get("/openapi/v2", headers={"Accept": "text/html"}).status_code == 406


def _fields(data: bytes) -> list[tuple[int, bytes | int]]:
    """Decode one protobuf message level: (field number, payload or varint)."""
    out: list[tuple[int, bytes | int]] = []
    at = 0

    def varint() -> int:
        nonlocal at
        shift = value = 0
        while True:
            byte = data[at]
            at += 1
            value |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return value

    while at < len(data):
        key = varint()
        number, wire = key >> 3, key & 7
        if wire == 0:
            out.append((number, varint()))
        else:
            assert wire == 2
            size = varint()
            out.append((number, data[at:at + size]))
            at += size
    return out


def _one(fields: list[tuple[int, bytes | int]], number: int) -> bytes:
    (value,) = [v for n, v in fields if n == number]
    assert isinstance(value, bytes)
    return value


def test_v2_as_protobuf_for_client_go(client: TestClient) -> None:
    # client-go's OpenAPISchema() asks for gnostic protobuf only; kubectl's field validation
    # check reads each PATCH operation's GVK extension and query parameters
    for accept in ("application/com.github.proto-openapi.spec.v2@v1.0+protobuf",
                   "application/com.github.proto-openapi.spec.v2.v1.0+protobuf, */*"):
        r = client.get("/openapi/v2", headers={"Accept": accept})
        assert r.status_code == 200
        assert r.headers["content-type"] == (
            "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")
    doc = _fields(r.content)
    assert _one(doc, 1) == b"2.0"
    assert _fields(_one(doc, 2)) == [(1, b"wardle"), (2, b"v0.1")]
    paths = {_one(_fields(p), 1).decode(): _fields(_one(_fields(p), 2))
             for n, p in _fields(_one(doc, 8)) if n == 2 and isinstance(p, bytes)}
    item = paths["/apis/wardle.example.com/v1alpha1/namespaces/{namespace}/flunders/{name}"]
    patch = _fields(_one(item, 8))
    assert b"application/strategic-merge-patch+json" in [v for n, v in patch if n == 7]
    extensions = {_one(_fields(e), 1): _fields(_one(_fields(e), 2))
                  for n, e in patch if n == 13 and isinstance(e, bytes)}
    gvk = orjson.loads(_one(extensions[b"x-kubernetes-group-version-kind"], 2))
    assert gvk == {"group": "wardle.example.com", "version": "v1alpha1", "kind": "Flunder"}
    names = set()
    for n, item_bytes in patch:
        if n == 8 and isinstance(item_bytes, bytes):
            parameter = _fields(_one(_fields(item_bytes), 1))
            if parameter[0][0] != 2:  # the body parameter
                continue
            for kind, sub in _fields(_one(parameter, 2)):
                assert isinstance(sub, bytes)
                names.add((kind, _one(_fields(sub), 4)))
    assert (3, b"fieldValidation") in names and (3, b"fieldManager") in names
    etag = r.headers["etag"]
    cached = client.get("/openapi/v2", headers={"Accept": PROTOBUF, "If-None-Match": etag})
    assert cached.status_code == 304


PROTOBUF = "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
