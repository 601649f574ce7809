"""NodeMetrics and PodMetrics over the whole in-process app: upstream's pkg/api test cases
(node_test, pod_test, table_test), 404 messages, selectors, Table, watch refused, discovery."""

from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from examples.metrics_server.informers import NodeInfo, PodInfo
from examples.metrics_server.manager import MetricsManager
from examples.metrics_server.options import MetricsOptions
from examples.metrics_server.points import MetricsPoint, NodeScrape
from examples.metrics_server.server import metrics_group
from k8s_aggapi.registry.selectors import LabelSelector
from k8s_aggapi.testing import build_test_app

S = 1_000_000_000
T0 = 1_633_253_800 * S
MI = 2**20
BASE = "/apis/metrics.k8s.io/v1beta1"


def pt(ts: int, cpu: float, mem: int) -> MetricsPoint:
    return MetricsPoint(timestamp=T0 + ts * S, cpu=int(cpu * S), memory=mem,
                        has_cpu=True, has_memory=True)


def manager(node_selector: str = "") -> MetricsManager:
    m = MetricsManager(MetricsOptions(node_selector=LabelSelector.parse(node_selector)))
    for i in (1, 2, 3):
        m.nodes[f"node{i}"] = NodeInfo(f"node{i}", {"zone": "a" if i < 3 else "b",
                                                    "skip": str(i == 3).lower()}, (), 0, "")
    m.nodes["node4"] = NodeInfo("node4", {}, (), 0, "")  # no metrics
    pods = {("ns1", "pod1"): {"app": "web"}, ("ns1", "pod2"): {"app": "db"},
            ("ns2", "pod3"): {"app": "web"}, ("ns2", "nometrics"): {}}
    for (ns, name), labels in pods.items():
        m.pods[ns, name] = PodInfo(ns, name, labels)
    for ts, cpu in ((10, 10), (20, 20)):
        scrapes = {f"node{i}": NodeScrape(node=pt(ts, cpu * i, 3 * MI)) for i in (2, 3)}
        scrapes["node1"] = NodeScrape(node=pt(ts, cpu, 3 * MI), pods={
            ("ns1", "pod1"): {"b": pt(ts, cpu, MI), "a": pt(ts, cpu / 2, 5 * MI)},
            ("ns1", "pod2"): {"c": pt(ts, cpu, 2 * MI)},
            ("ns2", "pod3"): {"c": pt(ts, cpu, 1000)},
        })
        m.storage.store(scrapes)
    return m


@pytest.fixture
def client() -> TestClient:
    return TestClient(build_test_app([metrics_group(manager())]))


def names(body: dict) -> list[str]:
    return [i["metadata"]["name"] for i in body["items"]]


def test_node_list_sorted_without_metricless_nodes(client: TestClient) -> None:
    r = client.get(f"{BASE}/nodes")
    assert r.status_code == 200
    body = r.json()
    assert body["kind"] == "NodeMetricsList" and body["apiVersion"] == "metrics.k8s.io/v1beta1"
    assert names(body) == ["node1", "node2", "node3"]
    item = body["items"][0]
    assert "kind" not in item
    assert item["timestamp"] == "2021-10-03T09:37:00Z"
    assert item["window"] == "10s"
    assert item["usage"] == {"cpu": "1", "memory": "3Mi"}
    assert item["metadata"]["labels"] == {"zone": "a", "skip": "false"}
    assert set(item["metadata"]) == {"name", "creationTimestamp", "labels"}


@pytest.mark.parametrize(("query", "expected"), [
    ("fieldSelector=metadata.name=node4", []),
    ("fieldSelector=metadata.name=node2", ["node2"]),
    ("labelSelector=zone=a", ["node1", "node2"]),
    ("labelSelector=zone=a&fieldSelector=metadata.name!=node1", ["node2"]),
    ("labelSelector=zone in (b)", ["node3"]),
    ("limit=1", ["node1", "node2", "node3"]),  # ignored, as upstream
])
def test_node_list_selectors(client: TestClient, query: str, expected: list[str]) -> None:
    assert names(client.get(f"{BASE}/nodes?{query}").json()) == expected


def test_node_selector_flag_narrows_lists() -> None:
    c = TestClient(build_test_app([metrics_group(manager("skip!=true"))]))
    assert names(c.get(f"{BASE}/nodes").json()) == ["node1", "node2"]


def test_node_get_and_its_404s(client: TestClient) -> None:
    r = client.get(f"{BASE}/nodes/node2")
    assert r.status_code == 200
    body = r.json()
    assert (body["kind"], body["apiVersion"]) == ("NodeMetrics", "metrics.k8s.io/v1beta1")
    assert body["usage"] == {"cpu": "2", "memory": "3Mi"}
    r = client.get(f"{BASE}/nodes/node4")
    assert r.status_code == 404
    assert r.json() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'nodemetrics.metrics.k8s.io "node4" not found', "reason": "NotFound",
        "details": {"name": "node4", "group": "metrics.k8s.io", "kind": "nodemetrics"},
        "code": 404}
    r = client.get(f"{BASE}/nodes/nosuch")
    assert r.status_code == 404
    assert r.json()["message"] == 'node "nosuch" not found'


def test_pod_list_all_namespaces_sorted(client: TestClient) -> None:
    body = client.get(f"{BASE}/pods").json()
    assert body["kind"] == "PodMetricsList"
    assert [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in body["items"]] == [
        ("ns1", "pod1"), ("ns1", "pod2"), ("ns2", "pod3")]
    pod1 = body["items"][0]
    assert pod1["window"] == "10s" and pod1["timestamp"] == "2021-10-03T09:37:00Z"
    assert pod1["containers"] == [  # name order (upstream: Go map order)
        {"name": "a", "usage": {"cpu": "500m", "memory": "5Mi"}},
        {"name": "b", "usage": {"cpu": "1", "memory": "1Mi"}}]
    assert pod1["metadata"]["labels"] == {"app": "web"}


@pytest.mark.parametrize(("path", "expected"), [
    ("namespaces/ns1/pods", ["pod1", "pod2"]),
    ("pods?fieldSelector=metadata.namespace=unknown", []),
    ("pods?fieldSelector=metadata.namespace=ns2", ["pod3"]),
    ("pods?labelSelector=app=web", ["pod1", "pod3"]),
    ("pods?labelSelector=app=web&fieldSelector=metadata.name=pod3", ["pod3"]),
    ("namespaces/ns2/pods?labelSelector=app=db", []),
])
def test_pod_list_selectors(client: TestClient, path: str, expected: list[str]) -> None:
    assert names(client.get(f"{BASE}/{path}").json()) == expected


def test_pod_get_and_its_404s(client: TestClient) -> None:
    body = client.get(f"{BASE}/namespaces/ns2/pods/pod3").json()
    assert body["kind"] == "PodMetrics"
    assert body["containers"] == [{"name": "c", "usage": {"cpu": "1", "memory": "1k"}}]
    r = client.get(f"{BASE}/namespaces/ns2/pods/nometrics")
    assert r.status_code == 404
    assert r.json()["message"] == 'podmetrics.metrics.k8s.io "ns2/nometrics" not found'
    assert r.json()["details"] == {"name": "ns2/nometrics", "group": "metrics.k8s.io",
                                   "kind": "podmetrics"}
    r = client.get(f"{BASE}/namespaces/ns1/pods/nosuch")
    assert r.status_code == 404
    assert r.json()["message"] == 'pods "nosuch" not found'


TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"


def test_node_table_has_upstreams_columns(client: TestClient) -> None:
    body = client.get(f"{BASE}/nodes", headers={"Accept": TABLE}).json()
    assert body["kind"] == "Table"
    assert [(c["name"], c["format"]) for c in body["columnDefinitions"]] == [
        ("Name", "name"), ("cpu", "quantity"), ("memory", "quantity"), ("Window", "duration")]
    assert body["rows"][0]["cells"] == ["node1", "1", "3Mi", "10s"]
    assert body["rows"][0]["object"]["kind"] == "PartialObjectMetadata"


def test_pod_table_sums_containers(client: TestClient) -> None:
    body = client.get(f"{BASE}/namespaces/ns1/pods?includeObject=Object",
                      headers={"Accept": TABLE}).json()
    assert body["rows"][0]["cells"] == ["pod1", "1500m", "6Mi", "10s"]
    assert body["rows"][0]["object"]["containers"][0]["name"] == "a"


def test_watch_is_refused(client: TestClient) -> None:
    r = client.get(f"{BASE}/pods?watch=true")
    assert r.status_code == 405
    assert r.json()["reason"] == "MethodNotAllowed"


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_writes_are_refused(client: TestClient, method: str) -> None:
    path = f"{BASE}/nodes" if method == "POST" else f"{BASE}/nodes/node1"
    assert client.request(method, path, content=b"{}").status_code == 405


def test_discovery_lists_get_and_list_only(client: TestClient) -> None:
    body = client.get(BASE).json()
    resources = {r["name"]: r for r in body["resources"]}
    assert resources["nodes"]["kind"] == "NodeMetrics"
    assert resources["nodes"]["namespaced"] is False
    assert resources["pods"]["kind"] == "PodMetrics"
    assert resources["pods"]["namespaced"] is True
    assert resources["nodes"]["verbs"] == ["get", "list"]
    assert resources["pods"]["verbs"] == ["get", "list"]


def test_openapi_describes_both_kinds(client: TestClient) -> None:
    body = client.get("/openapi/v2").json()
    assert any(k.endswith("NodeMetrics") for k in body["definitions"])
    assert any(k.endswith("PodMetrics") for k in body["definitions"])


def test_watch_is_refused_as_upstreams_list_handler_refuses_it(client: TestClient) -> None:
    r = client.get(f"{BASE}/nodes?watch=1")
    assert r.json() == {
        "kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": 'watch is not supported on resources of kind "nodes.metrics.k8s.io"',
        "reason": "MethodNotAllowed", "details": {"group": "metrics.k8s.io", "kind": "nodes"},
        "code": 405}


def test_lists_have_empty_metadata(client: TestClient) -> None:
    assert client.get(f"{BASE}/pods").json()["metadata"] == {}
