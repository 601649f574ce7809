"""metrics.k8s.io through kube-apiserver, for ours and for upstream metrics-server v0.8.0:
`kubectl top`, every endpoint by `kubectl get --raw`, and the Table `kubectl get` prints.

The workload (metrics_support.WORKLOAD) is kwok pods on a node of their own whose CPU and
memory come from the annotations kwok.x-k8s.io/usage-cpu / usage-memory; each test checks
the values they were given. The same expectations hold for both servers unless a test says
otherwise.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from metrics_support import (
    BASE,
    NODE,
    NODE_CPU_M,
    NODE_MEMORY_MI,
    NS_A,
    NS_B,
    RESOLUTION,
    WORKLOAD,
    MetricsServer,
    close_to,
    mebibytes,
    millicores,
    raw,
    raw_error,
    top_rows,
)

from k8s_aggapi.envtest import ControlPlane

pytestmark = pytest.mark.e2e

BY_NAME = {w.name: w for w in WORKLOAD}
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")  # metav1.Time: second precision
GO_SECONDS = re.compile(r"^(\d+)(\.\d+)?s$")  # Go Duration.String() of about 10 s
NANOCORES = re.compile(r"^(\d+)(n|u|m)?$")


def cpu_m(quantity: str) -> float:
    m = NANOCORES.match(quantity)
    assert m, f"not a canonical CPU quantity: {quantity!r}"
    return int(m.group(1)) * {None: 1000, "m": 1, "u": 1e-3, "n": 1e-6}[m.group(2)]


def window_s(window: str) -> float:
    m = GO_SECONDS.match(window)
    assert m, f"not a Go duration of seconds: {window!r}"
    return float(m.group(0)[:-1])


def names(items: list[dict[str, Any]]) -> list[str]:
    return [i["metadata"]["name"] for i in items]


def mine(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [i for i in items if i["metadata"].get("namespace") in (NS_A, NS_B)]


# ---- kubectl top ----------------------------------------------------------------------------

def test_top_node_shows_the_sum_of_its_pods(metrics_server: MetricsServer,
                                            control_plane: ControlPlane) -> None:
    out = control_plane.kubectl("top", "node", NODE, "--no-headers").stdout
    [[name, cpu, _cpu_pct, memory, _mem_pct]] = top_rows(out)
    assert name == NODE
    assert close_to(millicores(cpu), NODE_CPU_M), out
    assert mebibytes(memory) == NODE_MEMORY_MI, out


def test_top_pod_all_namespaces(metrics_server: MetricsServer,
                                control_plane: ControlPlane) -> None:
    out = control_plane.kubectl("top", "pod", "-A", "--no-headers").stdout
    rows = {(r[0], r[1]): r[2:] for r in top_rows(out)}
    for w in WORKLOAD:
        cpu, memory = rows[(w.namespace, w.name)]
        assert close_to(millicores(cpu), w.total_cpu_m), (w, cpu)
        assert mebibytes(memory) == w.total_memory_mi, (w, memory)


def test_top_pod_containers(metrics_server: MetricsServer, control_plane: ControlPlane) -> None:
    out = control_plane.kubectl("top", "pod", "-n", NS_A, "--containers", "--no-headers").stdout
    rows = {(r[0], r[1]): r[2:] for r in top_rows(out)}
    expected = {(w.name, c): w for w in WORKLOAD if w.namespace == NS_A for c in w.containers}
    assert set(rows) == set(expected)
    for key, w in expected.items():
        cpu, memory = rows[key]
        assert close_to(millicores(cpu), w.cpu_m), (key, cpu)
        assert mebibytes(memory) == w.memory_mi, (key, memory)


def test_top_pod_label_selector(metrics_server: MetricsServer,
                                control_plane: ControlPlane) -> None:
    out = control_plane.kubectl("top", "pod", "-n", NS_A, "-l", "app=web", "--no-headers").stdout
    assert sorted(r[0] for r in top_rows(out)) == ["web-1", "web-2"]
    out = control_plane.kubectl("top", "pod", "-n", NS_A, "-l", "tier!=front",
                                "--no-headers").stdout
    assert [r[0] for r in top_rows(out)] == ["db-0"]


def test_top_pod_sort_by_cpu(metrics_server: MetricsServer, control_plane: ControlPlane) -> None:
    out = control_plane.kubectl("top", "pod", "-n", NS_A, "--sort-by=cpu", "--no-headers").stdout
    assert [r[0] for r in top_rows(out)] == ["db-0", "web-1", "web-2"]  # 700m, 400m, 300m
    out = control_plane.kubectl("top", "pod", "-n", NS_A, "--sort-by=memory",
                                "--no-headers").stdout
    assert [r[0] for r in top_rows(out)] == ["db-0", "web-1", "web-2"]  # 256, 128, 96 Mi


def test_top_pod_by_name(metrics_server: MetricsServer, control_plane: ControlPlane) -> None:
    out = control_plane.kubectl("top", "pod", "job-0", "-n", NS_B, "--no-headers").stdout
    [[name, cpu, memory]] = top_rows(out)
    assert (name, mebibytes(memory)) == ("job-0", 32)
    assert close_to(millicores(cpu), 50)


# ---- kubectl get --raw: discovery and every endpoint ------------------------------------------

def test_discovery_lists_nodes_and_pods_get_and_list_only(
        metrics_server: MetricsServer, control_plane: ControlPlane) -> None:
    doc = raw(control_plane, BASE)
    assert (doc["kind"], doc["groupVersion"]) == ("APIResourceList", "metrics.k8s.io/v1beta1")
    resources = {r["name"]: r for r in doc["resources"]}
    assert set(resources) == {"nodes", "pods"}
    assert (resources["nodes"]["kind"], resources["nodes"]["namespaced"]) == ("NodeMetrics",
                                                                              False)
    assert (resources["pods"]["kind"], resources["pods"]["namespaced"]) == ("PodMetrics", True)
    for r in resources.values():
        assert sorted(r["verbs"]) == ["get", "list"]
    group = raw(control_plane, "/apis/metrics.k8s.io")
    assert group["preferredVersion"]["groupVersion"] == "metrics.k8s.io/v1beta1"


def check_node_metrics(item: dict[str, Any]) -> None:
    assert item["metadata"]["name"] == NODE
    assert item["metadata"]["labels"]["type"] == "kwok"  # labels copied from the Node
    assert item["metadata"]["labels"]["kubernetes.io/hostname"] == NODE
    assert TIMESTAMP.match(item["timestamp"]), item
    assert TIMESTAMP.match(item["metadata"]["creationTimestamp"]), item
    assert RESOLUTION * 0.5 <= window_s(item["window"]) <= RESOLUTION * 3, item
    assert close_to(round(cpu_m(item["usage"]["cpu"])), NODE_CPU_M), item
    assert item["usage"]["memory"] == f"{NODE_MEMORY_MI}Mi", item


def test_list_nodes(metrics_server: MetricsServer, control_plane: ControlPlane) -> None:
    doc = raw(control_plane, f"{BASE}/nodes")
    assert (doc["kind"], doc["apiVersion"]) == ("NodeMetricsList", "metrics.k8s.io/v1beta1")
    assert names(doc["items"]) == sorted(names(doc["items"]))  # sorted by name
    [item] = [i for i in doc["items"] if i["metadata"]["name"] == NODE]
    check_node_metrics(item)


def test_get_node(metrics_server: MetricsServer, control_plane: ControlPlane) -> None:
    item = raw(control_plane, f"{BASE}/nodes/{NODE}")
    assert (item["kind"], item["apiVersion"]) == ("NodeMetrics", "metrics.k8s.io/v1beta1")
    check_node_metrics(item)


def test_node_selectors(metrics_server: MetricsServer, control_plane: ControlPlane) -> None:
    by_field = raw(control_plane, f"{BASE}/nodes?fieldSelector=metadata.name%3D{NODE}")
    assert names(by_field["items"]) == [NODE]
    by_label = raw(control_plane, f"{BASE}/nodes?labelSelector=kubernetes.io%2Fhostname%3D{NODE}")
    assert names(by_label["items"]) == [NODE]
    none = raw(control_plane, f"{BASE}/nodes?labelSelector=type%3Dno-such-type")
    assert none["items"] == []


def check_pod_metrics(item: dict[str, Any]) -> None:
    w = BY_NAME[item["metadata"]["name"]]
    assert item["metadata"]["namespace"] == w.namespace
    assert item["metadata"]["labels"] == w.labels  # labels copied from the Pod
    assert TIMESTAMP.match(item["timestamp"]), item
    assert RESOLUTION * 0.5 <= window_s(item["window"]) <= RESOLUTION * 3, item
    assert sorted(c["name"] for c in item["containers"]) == sorted(w.containers)
    for c in item["containers"]:
        assert close_to(round(cpu_m(c["usage"]["cpu"])), w.cpu_m), item
        assert c["usage"]["memory"] == f"{w.memory_mi}Mi", item


def test_list_pods_all_namespaces(metrics_server: MetricsServer,
                                  control_plane: ControlPlane) -> None:
    doc = raw(control_plane, f"{BASE}/pods")
    assert (doc["kind"], doc["apiVersion"]) == ("PodMetricsList", "metrics.k8s.io/v1beta1")
    keys = [(i["metadata"]["namespace"], i["metadata"]["name"]) for i in doc["items"]]
    assert keys == sorted(keys)  # sorted by namespace, then name
    items = mine(doc["items"])
    assert sorted(names(items)) == sorted(BY_NAME)
    for item in items:
        check_pod_metrics(item)


def test_list_pods_in_a_namespace(metrics_server: MetricsServer,
                                  control_plane: ControlPlane) -> None:
    doc = raw(control_plane, f"{BASE}/namespaces/{NS_A}/pods")
    assert names(doc["items"]) == ["db-0", "web-1", "web-2"]
    for item in doc["items"]:
        check_pod_metrics(item)


def test_get_pod(metrics_server: MetricsServer, control_plane: ControlPlane) -> None:
    item = raw(control_plane, f"{BASE}/namespaces/{NS_A}/pods/web-1")
    assert (item["kind"], item["apiVersion"]) == ("PodMetrics", "metrics.k8s.io/v1beta1")
    check_pod_metrics(item)
    if metrics_server.ours:  # deliberately better: deterministic, in the pod spec's order
        assert [c["name"] for c in item["containers"]] == ["app", "sidecar"]


def test_pod_selectors(metrics_server: MetricsServer, control_plane: ControlPlane) -> None:
    ns = f"{BASE}/namespaces/{NS_A}/pods"
    assert names(raw(control_plane, f"{ns}?labelSelector=app%3Dweb")["items"]) == [
        "web-1", "web-2"]
    assert names(raw(control_plane, f"{ns}?labelSelector=tier%21%3Dfront")["items"]) == ["db-0"]
    assert names(raw(control_plane, f"{ns}?fieldSelector=metadata.name%3Dweb-2")["items"]) == [
        "web-2"]
    both = f"{ns}?labelSelector=app%3Dweb&fieldSelector=metadata.name%3Dweb-1"
    assert names(raw(control_plane, both)["items"]) == ["web-1"]
    across = raw(control_plane, f"{BASE}/pods?fieldSelector=metadata.namespace%3D{NS_B}")
    assert names(across["items"]) == ["job-0"]
    assert raw(control_plane, f"{BASE}/pods?fieldSelector=metadata.namespace%3Dnope")[
        "items"] == []


def test_unknown_node_and_pod_are_404_with_upstreams_messages(
        metrics_server: MetricsServer, control_plane: ControlPlane) -> None:
    err = raw_error(control_plane, f"{BASE}/nodes/no-such-node")
    assert "NotFound" in err and '"no-such-node" not found' in err, err
    err = raw_error(control_plane, f"{BASE}/namespaces/{NS_A}/pods/no-such-pod")
    assert "NotFound" in err and '"no-such-pod" not found' in err, err


def test_watch_is_refused(metrics_server: MetricsServer, control_plane: ControlPlane) -> None:
    for path in (f"{BASE}/nodes?watch=true", f"{BASE}/namespaces/{NS_A}/pods?watch=1"):
        err = raw_error(control_plane, path)
        assert "MethodNotAllowed" in err or "method not allowed" in err.lower(), err


# ---- the Table kubectl get prints -------------------------------------------------------------

def test_kubectl_get_nodemetrics_table(metrics_server: MetricsServer,
                                       control_plane: ControlPlane) -> None:
    out = control_plane.kubectl("get", "nodemetrics", NODE).stdout
    header, *rows = top_rows(out)
    assert header == ["NAME", "CPU", "MEMORY", "WINDOW"]
    [[name, cpu, memory, window]] = rows
    assert name == NODE
    assert close_to(round(cpu_m(cpu)), NODE_CPU_M), out
    assert memory == f"{NODE_MEMORY_MI}Mi"
    assert GO_SECONDS.match(window), out


def test_kubectl_get_podmetrics_table(metrics_server: MetricsServer,
                                      control_plane: ControlPlane) -> None:
    out = control_plane.kubectl("get", "podmetrics", "-n", NS_A).stdout
    header, *rows = top_rows(out)
    assert header == ["NAME", "CPU", "MEMORY", "WINDOW"]
    assert [r[0] for r in rows] == ["db-0", "web-1", "web-2"]
    for name, cpu, memory, window in rows:
        w = BY_NAME[name]
        assert close_to(round(cpu_m(cpu)), w.total_cpu_m), out  # summed over containers
        assert memory == f"{w.total_memory_mi}Mi", out
        assert GO_SECONDS.match(window), out


def test_kubectl_get_podmetrics_as_json(metrics_server: MetricsServer,
                                        control_plane: ControlPlane) -> None:
    import json

    doc = json.loads(control_plane.kubectl("get", "podmetrics", "-n", NS_B, "-o",
                                           "json").stdout)
    [item] = doc["items"]
    check_pod_metrics(item)
