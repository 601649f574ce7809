"""The HPA on Prometheus data through our adapter, in the real control plane.

kwok runs a Deployment's pods; an exporter on loopback publishes `http_requests_total` for each
of those pods (a total load the test sets, shared among the pods that exist) and a
`queue_depth` gauge; Debian's Prometheus scrapes it; `examples.prometheus_adapter` is
registered as v1beta2 and v1beta1.custom.metrics.k8s.io and v1beta1.external.metrics.k8s.io.
An autoscaling/v2 HPA on a `Pods` metric and one on an `External` metric scale their
Deployments up and down; `kubectl get --raw` reads discovery and values through the
aggregator; RBAC decides who may read them (SubjectAccessReview in our server).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from k8s_aggapi.custommetrics import GROUP_PRIORITY_MINIMUM, VERSION_PRIORITIES
from k8s_aggapi.envtest import ControlPlane, KubectlError
from k8s_aggapi.envtest.aggregated import AggregatedServer, start_aggregated_server
from k8s_aggapi.envtest.exporter import Exporter, PodLoad
from k8s_aggapi.envtest.prometheus import Prometheus

RULES = """
rules:
- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources:
    overrides:
      namespace: {resource: "namespace"}
      pod: {resource: "pod"}
  name: {matches: "^(.*)_total$", as: "${1}_per_second"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[10s])) by (<<.GroupBy>>)'
externalRules:
- seriesQuery: 'queue_depth{queue!=""}'
  resources:
    overrides:
      namespace: {resource: "namespace"}
  metricsQuery: 'sum(<<.Series>>{<<.LabelMatchers>>}) by (queue)'
"""


def deployment(name: str) -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "app", "image": "fake"}]}}},
    }


def hpa(name: str, metric: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
            "minReplicas": 1, "maxReplicas": 6, "metrics": [metric],
            "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}},
        },
    }


def kubectl_json(cp: ControlPlane, *args: str, user: str | None = None) -> Any:
    return json.loads(cp.kubectl(*args, user=user).stdout)


def replicas(cp: ControlPlane, ns: str, name: str) -> int:
    scale = kubectl_json(cp, "get", "--raw",
                         f"/apis/apps/v1/namespaces/{ns}/deployments/{name}/scale")
    return int(scale["spec"].get("replicas", 0))


def wait_replicas(cp: ControlPlane, ns: str, name: str, want: int, timeout: float = 240) -> None:
    deadline = time.monotonic() + timeout
    while True:
        got = replicas(cp, ns, name)
        if got == want:
            return
        if time.monotonic() > deadline:
            status = cp.kubectl("describe", "hpa", name, "-n", ns, check=False).stdout
            raise AssertionError(f"{name}: {got} replicas, not {want}, within {timeout:.0f}s\n"
                                 f"{status}")
        time.sleep(2)


@pytest.fixture(scope="module")
def exporter() -> Iterator[Exporter]:
    with Exporter() as e:
        yield e


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory, exporter: Exporter,
               prometheus_binary: Path) -> Iterator[Prometheus]:
    with Prometheus(tmp_path_factory.mktemp("prometheus"), {"exporter": [exporter.target]}) as p:
        yield p


@pytest.fixture(scope="module")
def adapter(control_plane: ControlPlane, prometheus: Prometheus, exporter: Exporter,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[AggregatedServer]:
    rules = tmp_path_factory.mktemp("adapter") / "rules.yaml"
    rules.write_text(RULES)
    # a series to find before the first relist, so discovery has the metrics at once
    exporter.set_rate("http_requests_total", {"namespace": "default", "pod": "seed"}, 0)
    exporter.set_gauge("queue_depth", {"namespace": "default", "queue": "seed"}, 0)
    prometheus.wait_for('queue_depth{queue="seed"}')
    server = start_aggregated_server(
        f"python -m examples.prometheus_adapter --config={rules} "
        f"--prometheus-url={prometheus.url} --metrics-relist-interval=2s --v=3",
        ["custom.metrics.k8s.io/v1beta2,v1beta1", "external.metrics.k8s.io/v1beta1"],
        control_plane=control_plane, timeout=120)
    with server:
        for (group, version), priority in VERSION_PRIORITIES.items():
            control_plane.register_apiservice(
                group, version, server.port, service=server.service,
                namespace=server.namespace, group_priority_minimum=GROUP_PRIORITY_MINIMUM,
                version_priority=priority)
        yield server


def test_deploy_manifests_pass_the_api_server(control_plane: ControlPlane) -> None:
    """examples/prometheus_adapter/deploy/adapter.yaml, validated strictly by kube-apiserver
    (a server-side dry run; only its Namespace is really made, so the rest can be checked).
    First in the module: before the adapter's own APIServices exist."""
    deploy = Path(__file__).parents[2] / "examples" / "prometheus_adapter" / "deploy"
    control_plane.kubectl("create", "namespace", "custom-metrics", check=False)
    result = control_plane.kubectl("apply", "--dry-run=server", "--validate=strict",
                                   "-f", str(deploy / "adapter.yaml"))
    assert "deployment.apps/prometheus-adapter created (server dry run)" in result.stdout
    assert "apiservice.apiregistration.k8s.io/v1beta1.external.metrics.k8s.io" in result.stdout


def test_discovery_through_the_aggregator(control_plane: ControlPlane,
                                          adapter: AggregatedServer) -> None:
    cp = control_plane
    group = kubectl_json(cp, "get", "--raw", "/apis/custom.metrics.k8s.io")
    assert group["preferredVersion"]["version"] == "v1beta2"
    for version in ("v1beta2", "v1beta1"):
        listed = kubectl_json(cp, "get", "--raw", f"/apis/custom.metrics.k8s.io/{version}")
        names = {r["name"] for r in listed["resources"]}
        assert "pods/http_requests_per_second" in names, listed
        pods = next(r for r in listed["resources"]
                    if r["name"] == "pods/http_requests_per_second")
        assert pods == {"name": "pods/http_requests_per_second", "singularName": "",
                        "namespaced": True, "kind": "MetricValueList", "verbs": ["get"]}
    external = kubectl_json(cp, "get", "--raw", "/apis/external.metrics.k8s.io/v1beta1")
    assert [r["name"] for r in external["resources"]] == ["queue_depth"]
    assert "custom.metrics.k8s.io/v1beta2" in cp.kubectl("api-versions").stdout


def test_rbac_decides_who_reads_metrics(control_plane: ControlPlane, namespace: str,
                                        adapter: AggregatedServer) -> None:
    cp = control_plane
    cp.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
              "metadata": {"name": "custom-metrics-reader"},
              "rules": [{"apiGroups": ["custom.metrics.k8s.io", "external.metrics.k8s.io"],
                         "resources": ["*"], "verbs": ["get", "list"]}]})
    cp.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
              "metadata": {"name": "metrics-reader-alice"},
              "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                          "name": "custom-metrics-reader"},
              "subjects": [{"kind": "User", "name": "alice",
                            "apiGroup": "rbac.authorization.k8s.io"}]})
    path = f"/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/queue_depth"
    deadline = time.monotonic() + 30
    while True:  # RBAC's cache catches up with the new binding
        try:
            body = kubectl_json(cp, "get", "--raw", path, user="alice")
            break
        except KubectlError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)
    assert body["kind"] == "ExternalMetricValueList"
    with pytest.raises(KubectlError, match="forbidden"):
        cp.kubectl("get", "--raw", path, user="bob")


def test_hpa_scales_on_a_pods_metric(control_plane: ControlPlane, namespace: str,
                                     exporter: Exporter, adapter: AggregatedServer) -> None:
    cp = control_plane
    cp.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(deployment("web")))
    with PodLoad(cp.admin_kubeconfig, exporter, namespace, "web") as load:
        load.total = 0.5
        cp.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(hpa("web", {
            "type": "Pods", "pods": {"metric": {"name": "http_requests_per_second"},
                                     "target": {"type": "AverageValue", "averageValue": "1"}},
        })))
        path = (f"/apis/custom.metrics.k8s.io/v1beta2/namespaces/{namespace}/pods/*/"
                f"http_requests_per_second?labelSelector=app%3Dweb")
        deadline = time.monotonic() + 90
        while True:
            body = kubectl_json(cp, "get", "--raw", path)
            if body["items"]:
                break
            assert time.monotonic() < deadline, body
            time.sleep(1)
        (item,) = body["items"]
        assert body["apiVersion"] == "custom.metrics.k8s.io/v1beta2"
        assert item["describedObject"]["kind"] == "Pod"
        assert item["describedObject"]["apiVersion"] == "/v1"
        assert item["metric"] == {"name": "http_requests_per_second", "selector": None}
        v1beta1 = kubectl_json(cp, "get", "--raw", path.replace("v1beta2", "v1beta1"))
        assert v1beta1["items"][0]["metricName"] == "http_requests_per_second"

        load.total = 4.0  # 4 requests/s against 1 per pod: 4 pods
        wait_replicas(cp, namespace, "web", 4)
        load.total = 0.5
        wait_replicas(cp, namespace, "web", 1)


def test_hpa_scales_on_an_external_metric(control_plane: ControlPlane, namespace: str,
                                          exporter: Exporter,
                                          adapter: AggregatedServer) -> None:
    cp = control_plane
    labels = {"namespace": namespace, "queue": "jobs"}
    exporter.set_gauge("queue_depth", labels, 0)
    cp.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(deployment("worker")))
    cp.kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(hpa("worker", {
        "type": "External",
        "external": {"metric": {"name": "queue_depth",
                                "selector": {"matchLabels": {"queue": "jobs"}}},
                     "target": {"type": "AverageValue", "averageValue": "10"}},
    })))
    exporter.set_gauge("queue_depth", labels, 30)  # 30 jobs at 10 per worker: 3 workers
    wait_replicas(cp, namespace, "worker", 3)
    body = kubectl_json(cp, "get", "--raw",
                        f"/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/"
                        "queue_depth?labelSelector=queue%3Djobs")
    assert [(i["metricLabels"], i["value"]) for i in body["items"]] == [({"queue": "jobs"}, "30")]
    exporter.set_gauge("queue_depth", labels, 0)
    wait_replicas(cp, namespace, "worker", 1)


def test_unknown_metric_is_upstreams_404(control_plane: ControlPlane, namespace: str,
                                         adapter: AggregatedServer) -> None:
    with pytest.raises(KubectlError) as err:
        control_plane.kubectl("get", "--raw", f"/apis/custom.metrics.k8s.io/v1beta2/namespaces/"
                              f"{namespace}/pods/*/no_such_metric")
    assert "the server could not find the metric no_such_metric for pods" in str(err.value)

