"""custom.metrics.k8s.io and external.metrics.k8s.io through the whole app: routes, shapes of
both versions, 404 texts, discovery (never empty), routing by metric, authorization
attributes as upstream's request info gives them."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from k8s_aggapi.custommetrics import metrics_groups
from k8s_aggapi.discovery import V2_MEDIA_TYPE
from k8s_aggapi.testing import FakeAuthorizer, build_test_app
from tests.unit.custommetrics.fakes import NamespaceMetric, PodRequests, Queue

CM = "/apis/custom.metrics.k8s.io"
EM = "/apis/external.metrics.k8s.io/v1beta1"


@pytest.fixture
def pods() -> PodRequests:
    return PodRequests()


@pytest.fixture
def authz() -> FakeAuthorizer:
    return FakeAuthorizer()


@pytest.fixture
def client(pods: PodRequests, authz: FakeAuthorizer) -> Any:
    groups = metrics_groups(custom=[pods, NamespaceMetric()], external=[Queue(), Queue("lag", 7)])
    with TestClient(build_test_app(groups, authorizer=authz)) as c:
        yield c


def test_wildcard_with_label_selector_v1beta2(client: TestClient, pods: PodRequests) -> None:
    r = client.get(f"{CM}/v1beta2/namespaces/demo/pods/%2A/http_requests_per_second",
                   params={"labelSelector": "app=web"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "MetricValueList"
    assert body["apiVersion"] == "custom.metrics.k8s.io/v1beta2"
    assert body["metadata"] == {}
    first = body["items"][0]
    assert list(first) == ["describedObject", "metric", "timestamp", "windowSeconds", "value"]
    assert first["describedObject"] == {"kind": "Pod", "namespace": "demo", "name": "web-1",
                                        "apiVersion": "/v1"}
    assert first["metric"] == {"name": "http_requests_per_second", "selector": None}
    assert [i["value"] for i in body["items"]] == ["1500m", "2500m"]
    assert pods.calls == [("selector", "demo", "app=web")]


def test_by_name_v1beta1_shape(client: TestClient) -> None:
    r = client.get(f"{CM}/v1beta1/namespaces/demo/pods/db-1/http_requests_per_second",
                   params={"metricLabelSelector": "verb=GET"})
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert list(item) == ["describedObject", "metricName", "timestamp", "window", "value",
                          "selector"]
    assert item["metricName"] == "http_requests_per_second"
    assert item["window"] == 60
    assert item["value"] == "500m"
    assert item["selector"] == {"matchLabels": {"x": "y"}}
    assert r.json()["apiVersion"] == "custom.metrics.k8s.io/v1beta1"


def test_metric_of_a_namespace(client: TestClient) -> None:
    r = client.get(f"{CM}/v1beta2/namespaces/demo/metrics/pods_running")
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert item["describedObject"] == {"kind": "Namespace", "name": "demo", "apiVersion": "/v1"}
    assert item["value"] == "3"


def test_unknown_object_is_upstreams_404(client: TestClient) -> None:
    r = client.get(f"{CM}/v1beta2/namespaces/demo/pods/nope/http_requests_per_second")
    assert r.status_code == 404
    assert r.json()["message"] == (
        "the server could not find the metric http_requests_per_second for pods nope")
    assert r.json()["reason"] == "NotFound"


def test_unlisted_metric_with_several_providers_is_404(client: TestClient) -> None:
    r = client.get(f"{CM}/v1beta2/namespaces/demo/deployments.apps/web/replicas")
    assert r.status_code == 404
    assert r.json()["message"] == (
        "the server could not find the metric replicas for deployments.apps")


@pytest.mark.parametrize("path", [
    f"{CM}/v1beta2/namespaces/demo/pods", f"{CM}/v1beta2/namespaces/demo/pods/x",
    f"{CM}/v1beta2/pods/x/y/z", f"{EM}/queue_depth", f"{EM}/namespaces/demo/a/b",
])
def test_other_paths_are_404(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 404


def test_bad_selector_is_400(client: TestClient) -> None:
    r = client.get(f"{CM}/v1beta2/namespaces/demo/pods/*/http_requests_per_second",
                   params={"labelSelector": "app in ("})
    assert r.status_code == 400


def test_only_get(client: TestClient) -> None:
    r = client.post(f"{CM}/v1beta2/namespaces/demo/pods/web-1/http_requests_per_second")
    assert r.status_code == 405


def test_external_metric_routed_by_name(client: TestClient) -> None:
    r = client.get(f"{EM}/namespaces/demo/lag", params={"labelSelector": "queue=jobs"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["kind"] == "ExternalMetricValueList"
    assert body["apiVersion"] == "external.metrics.k8s.io/v1beta1"
    (item,) = body["items"]
    assert list(item) == ["metricName", "metricLabels", "timestamp", "value"]
    assert item["metricLabels"] == {"queue": "jobs"}
    assert item["value"] == "7"
    r = client.get(f"{EM}/namespaces/demo/queue_depth")
    assert r.json()["items"][0]["value"] == "42"


def test_external_unknown_metric(client: TestClient) -> None:
    r = client.get(f"{EM}/namespaces/default/nothing")
    assert r.status_code == 404
    assert r.json()["message"] == "the server could not find the metric nothing for namespaces"


def test_discovery_lists_every_providers_metrics(client: TestClient) -> None:
    for version in ("v1beta2", "v1beta1"):
        body = client.get(f"{CM}/{version}").json()
        assert body["groupVersion"] == f"custom.metrics.k8s.io/{version}"
        assert body["resources"] == [
            {"name": "pods/http_requests_per_second", "singularName": "", "namespaced": True,
             "kind": "MetricValueList", "verbs": ["get"]},
            {"name": "namespaces/pods_running", "singularName": "", "namespaced": False,
             "kind": "MetricValueList", "verbs": ["get"]},
        ]
    names = [r["name"] for r in client.get(EM).json()["resources"]]
    assert names == ["queue_depth", "lag"]
    group = client.get("/apis/custom.metrics.k8s.io").json()
    assert group["preferredVersion"]["version"] == "v1beta2"
    assert [v["version"] for v in group["versions"]] == ["v1beta2", "v1beta1"]


def test_aggregated_discovery_follows_the_providers(client: TestClient,
                                                    pods: PodRequests) -> None:
    first = client.get("/apis", headers={"Accept": V2_MEDIA_TYPE})
    groups = {g["metadata"]["name"]: g for g in first.json()["items"]}
    v2 = groups["custom.metrics.k8s.io"]["versions"][0]
    assert v2["version"] == "v1beta2"
    pods_entry = next(r for r in v2["resources"] if r["resource"] == "pods")
    assert pods_entry["subresources"][0]["subresource"] == "http_requests_per_second"
    same = client.get("/apis", headers={"Accept": V2_MEDIA_TYPE,
                                        "If-None-Match": first.headers["etag"]})
    assert same.status_code == 304
    pods.metric = "other_metric"
    changed = client.get("/apis", headers={"Accept": V2_MEDIA_TYPE,
                                           "If-None-Match": first.headers["etag"]})
    assert changed.status_code == 200
    assert b"other_metric" in changed.content


def test_discovery_is_never_empty() -> None:
    class Nothing:
        async def list_all_metrics(self) -> list[Any]:
            return []

        async def list_all_external_metrics(self) -> list[Any]:
            return []

    app = build_test_app(metrics_groups(custom=[Nothing()], external=[Nothing()]))  # type: ignore[list-item]
    with TestClient(app) as c:
        assert [r["name"] for r in c.get(f"{CM}/v1beta2").json()["resources"]] == [
            "custommetrics/custommetrics"]
        assert [r["name"] for r in c.get(EM).json()["resources"]] == ["externalmetrics"]


def test_authorization_sees_upstreams_attributes(client: TestClient,
                                                 authz: FakeAuthorizer) -> None:
    client.get(f"{CM}/v1beta2/namespaces/demo/pods/%2A/http_requests_per_second",
               params={"labelSelector": "app=web"})
    client.get(f"{EM}/namespaces/demo/queue_depth", params={"labelSelector": "queue=jobs"})
    client.get(f"{CM}/v1beta2/namespaces/demo/metrics/pods_running")
    seen = [(a.verb, a.api_group, a.namespace, a.resource, a.subresource, a.name)
            for a in authz.seen if a.resource_request]
    assert seen == [
        ("get", "custom.metrics.k8s.io", "demo", "pods", "http_requests_per_second", "*"),
        ("list", "external.metrics.k8s.io", "demo", "queue_depth", "", ""),
        ("get", "custom.metrics.k8s.io", "demo", "metrics", "", "pods_running"),
    ]


def test_denied_is_403(pods: PodRequests) -> None:
    authz = FakeAuthorizer(allow=lambda a: not a.resource_request)
    with TestClient(build_test_app(metrics_groups(custom=[pods]), authorizer=authz)) as c:
        r = c.get(f"{CM}/v1beta2/namespaces/demo/pods/web-1/http_requests_per_second")
    assert r.status_code == 403
    assert pods.calls == []


def test_single_provider_gets_unlisted_metrics(pods: PodRequests) -> None:
    with TestClient(build_test_app(metrics_groups(custom=[pods]))) as c:
        r = c.get(f"{CM}/v1beta2/namespaces/demo/pods/web-1/unlisted")
    assert r.status_code == 404
    assert r.json()["message"] == "the server could not find the metric unlisted for pods web-1"
    assert pods.calls == [("name", "demo", "web-1")]
