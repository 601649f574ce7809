"""Legacy discovery shapes (apiserver-wire.md §2.1) and aggregated discovery v2 negotiation."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Sequence
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.testclient import TestClient

from k8s_aggapi.api import APIGroup, ResourceInfo
from k8s_aggapi.discovery import V2_MEDIA_TYPE, discovery_routes
from k8s_aggapi.errors import StatusError
from k8s_aggapi.registry import rest
from k8s_aggapi.registry.rest import DeleteOptions, ListOptions, ObjectList, RequestContext

Obj = dict[str, Any]
Objs = list[Obj]  # a module-level name: `list` is a method name below
V2BETA1 = "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList"
CLIENT_GO_ACCEPT = f"{V2_MEDIA_TYPE},application/json"
ALL_VERBS = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]


class ReadOnlyStorage(rest.Getter, rest.Lister, rest.TableConvertor):
    """Getter + Lister + TableConvertor: served as get and list only."""

    async def get(self, ctx: RequestContext, name: str, options: object = None) -> Obj:
        return {}

    async def list(self, ctx: RequestContext, options: ListOptions) -> ObjectList:
        return ObjectList([])

    def convert_to_table(self, objects: Sequence[Obj], options: rest.TableOptions) -> rest.Table:
        return rest.Table(None, [])


class CrudStorage(
    ReadOnlyStorage, rest.Creater, rest.Updater, rest.Deleter, rest.CollectionDeleter,
    rest.Watcher,
):
    """Every verb capability."""

    async def create(self, ctx: RequestContext, obj: Obj) -> Obj:
        return obj

    async def update(
        self, ctx: RequestContext, name: str, update: rest.ObjectUpdate
    ) -> tuple[Obj, bool]:
        return update.compute({}), False

    async def delete(
        self, ctx: RequestContext, name: str, options: DeleteOptions
    ) -> tuple[Obj, bool]:
        return {}, True

    async def delete_collection(
        self, ctx: RequestContext, options: DeleteOptions, list_options: ListOptions
    ) -> ObjectList:
        return ObjectList([])

    async def watch(
        self, ctx: RequestContext, options: ListOptions
    ) -> AsyncIterator[rest.WatchEvent]:
        yield rest.WatchEvent("BOOKMARK", {})


FLUNDER = ResourceInfo("Flunder", "flunders")
FISCHER = ResourceInfo("Fischer", "fischers", namespaced=False)


def sample_groups() -> list[APIGroup]:
    """The sample-apiserver: v1beta1 preferred, storage version v1alpha1 (§2.1)."""
    wardle = APIGroup("wardle.example.com")
    served = {"v1beta1": [FLUNDER], "v1alpha1": [FISCHER, FLUNDER]}
    for name, infos in served.items():
        version = wardle.version(name)
        for info in infos:
            version.add_rest(info, CrudStorage(), storage_version="v1alpha1")
    metrics = APIGroup("metrics.example.io")
    node_metrics = ResourceInfo(
        "NodeMetrics", "nodes", namespaced=False, short_names=("nm",), categories=("all",)
    )
    metrics.version("v1").add_rest(node_metrics, ReadOnlyStorage())
    return [wardle, metrics]


async def _status_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StatusError)
    return Response(orjson.dumps(exc.to_status()), exc.code, media_type="application/json")


@pytest.fixture
def client() -> TestClient:
    app = Starlette(
        routes=discovery_routes(sample_groups()),
        exception_handlers={StatusError: _status_error},
    )
    return TestClient(app)


WARDLE_VERSIONS = [
    {"groupVersion": "wardle.example.com/v1beta1", "version": "v1beta1"},
    {"groupVersion": "wardle.example.com/v1alpha1", "version": "v1alpha1"},
]
WARDLE_PREFERRED = {"groupVersion": "wardle.example.com/v1beta1", "version": "v1beta1"}


def test_apis_is_an_api_group_list_without_api_version(client: TestClient) -> None:
    r = client.get("/apis")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    body = r.json()
    assert list(body) == ["kind", "groups"]
    assert body["groups"][0] == {
        "name": "wardle.example.com",
        "versions": WARDLE_VERSIONS,
        "preferredVersion": WARDLE_PREFERRED,
    }
    assert [g["name"] for g in body["groups"]] == ["wardle.example.com", "metrics.example.io"]


def test_api_group(client: TestClient) -> None:
    for path in ("/apis/wardle.example.com", "/apis/wardle.example.com/"):
        assert client.get(path).json() == {
            "kind": "APIGroup",
            "apiVersion": "v1",
            "name": "wardle.example.com",
            "versions": WARDLE_VERSIONS,
            "preferredVersion": WARDLE_PREFERRED,
        }


def test_api_resource_list_matches_the_sample_apiserver(client: TestClient) -> None:
    for path in ("/apis/wardle.example.com/v1alpha1", "/apis/wardle.example.com/v1alpha1/"):
        r = client.get(path)
        assert r.status_code == 200
        assert r.headers["content-type"] == "application/json"
        assert r.json() == {
            "kind": "APIResourceList",
            "apiVersion": "v1",
            "groupVersion": "wardle.example.com/v1alpha1",
            "resources": [
                {
                    "name": "fischers",
                    "singularName": "fischer",
                    "namespaced": False,
                    "kind": "Fischer",
                    "verbs": ALL_VERBS,
                    "storageVersionHash": "YS5qRiSxzNM=",
                },
                {
                    "name": "flunders",
                    "singularName": "flunder",
                    "namespaced": True,
                    "kind": "Flunder",
                    "verbs": ALL_VERBS,
                    "storageVersionHash": "UHqNx5H3K7A=",
                },
            ],
        }


def test_resource_verbs_short_names_and_categories(client: TestClient) -> None:
    (entry,) = client.get("/apis/metrics.example.io/v1").json()["resources"]
    assert entry["verbs"] == ["get", "list"]
    assert entry["shortNames"] == ["nm"]
    assert entry["categories"] == ["all"]
    assert list(entry) == [
        "name",
        "singularName",
        "namespaced",
        "kind",
        "verbs",
        "shortNames",
        "categories",
        "storageVersionHash",
    ]


@pytest.mark.parametrize(
    "path", ["/apis/nope.example.com", "/apis/wardle.example.com/v9", "/apis/nope/v1/"]
)
def test_unknown_group_or_version_is_a_404_status(client: TestClient, path: str) -> None:
    r = client.get(path)
    assert r.status_code == 404
    assert r.json()["kind"] == "Status"
    assert r.json()["reason"] == "NotFound"


def _v2(client: TestClient, accept: str = CLIENT_GO_ACCEPT, **headers: str) -> Any:
    return client.get("/apis", headers={"Accept": accept, **headers})


def test_aggregated_discovery_v2_headers(client: TestClient) -> None:
    r = _v2(client)
    assert r.status_code == 200
    assert r.headers["content-type"] == V2_MEDIA_TYPE
    assert r.headers["etag"] == f'"{hashlib.sha512(r.content).hexdigest().upper()}"'
    assert r.headers["vary"] == "Accept"
    assert r.headers["cache-control"] == "public"


def test_aggregated_discovery_v2_document(client: TestClient) -> None:
    body = _v2(client).json()
    assert body["kind"] == "APIGroupDiscoveryList"
    assert body["apiVersion"] == "apidiscovery.k8s.io/v2"
    assert body["metadata"] == {}
    wardle, metrics = body["items"]
    assert wardle["metadata"] == {"name": "wardle.example.com", "creationTimestamp": None}
    assert [v["version"] for v in wardle["versions"]] == ["v1beta1", "v1alpha1"]
    v1alpha1 = wardle["versions"][1]
    assert v1alpha1["freshness"] == "Current"
    assert v1alpha1["resources"] == [
        {
            "resource": "fischers",
            "responseKind": {
                "group": "wardle.example.com",
                "version": "v1alpha1",
                "kind": "Fischer",
            },
            "scope": "Cluster",
            "singularResource": "fischer",
            "verbs": ALL_VERBS,
        },
        {
            "resource": "flunders",
            "responseKind": {
                "group": "wardle.example.com",
                "version": "v1alpha1",
                "kind": "Flunder",
            },
            "scope": "Namespaced",
            "singularResource": "flunder",
            "verbs": ALL_VERBS,
        },
    ]
    (nodes,) = metrics["versions"][0]["resources"]
    assert nodes["shortNames"] == ["nm"]
    assert nodes["categories"] == ["all"]
    assert nodes["verbs"] == ["get", "list"]


def test_aggregated_discovery_304_on_matching_etag(client: TestClient) -> None:
    etag = _v2(client).headers["etag"]
    r = _v2(client, **{"If-None-Match": etag})
    assert r.status_code == 304
    assert r.content == b""
    assert r.headers["etag"] == etag
    assert _v2(client, **{"If-None-Match": '"stale"'}).status_code == 200


@pytest.mark.parametrize(
    ("accept", "v2"),
    [
        (CLIENT_GO_ACCEPT, True),
        (V2_MEDIA_TYPE, True),
        (f"{V2_MEDIA_TYPE};profile=nopeer", True),
        ("application/json", False),
        ("", False),
        ("*/*", False),
        ("application/*", False),
        (f"{V2BETA1},application/json", False),
        (f"application/json;q=0.5,{V2_MEDIA_TYPE}", True),
        (f"{V2_MEDIA_TYPE};q=0.5,application/json", False),
        (f"{V2_MEDIA_TYPE};q=0,application/json", False),
        (f"*/*,{V2_MEDIA_TYPE}", True),  # concrete types before wildcards at equal q
        ("application/vnd.kubernetes.protobuf,application/json", False),
    ],
)
def test_negotiation_picks_v2_or_legacy(client: TestClient, accept: str, v2: bool) -> None:
    r = _v2(client, accept)
    assert r.status_code == 200
    assert r.json()["kind"] == ("APIGroupDiscoveryList" if v2 else "APIGroupList")
    assert ("etag" in r.headers) is v2


@pytest.mark.parametrize(
    "accept",
    [
        V2BETA1,
        "application/yaml",
        "application/vnd.kubernetes.protobuf",
        "application/vnd.kubernetes.protobuf;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList",
        "application/json;q=0",
        "application/json;as=Table;v=v1;g=meta.k8s.io",
    ],
)
def test_unacceptable_is_406(client: TestClient, accept: str) -> None:
    r = _v2(client, accept)
    assert r.status_code == 406
    assert r.json()["reason"] == "NotAcceptable"


def test_group_version_endpoints_only_speak_legacy_json(client: TestClient) -> None:
    path = "/apis/wardle.example.com/v1alpha1"
    assert client.get(path, headers={"Accept": CLIENT_GO_ACCEPT}).json()["kind"] == (
        "APIResourceList"
    )
    assert client.get(path, headers={"Accept": V2_MEDIA_TYPE}).status_code == 406
