"""`make cluster`'s demo workloads and the placeholders of its server specs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from k8s_aggapi.envtest.cluster import expand_spec
from k8s_aggapi.envtest.cluster_metrics import (
    CONSUMER,
    DEFAULT_LOAD,
    DEFAULT_QUEUE_DEPTH,
    FRONTEND,
    hpa_demo_manifests,
)
from k8s_aggapi.envtest.demo import DEMO_NAMESPACE, demo_manifests
from k8s_aggapi.envtest.kwok import USAGE_CPU_ANNOTATION, USAGE_MEMORY_ANNOTATION


def test_demo_workload_is_a_namespace_then_deployments_with_usage_annotations() -> None:
    ns, *deployments = demo_manifests()
    assert (ns["kind"], ns["metadata"]["name"]) == ("Namespace", DEMO_NAMESPACE)
    assert {d["metadata"]["name"] for d in deployments} == {"web", "worker", "idle"}
    for d in deployments:
        assert d["kind"] == "Deployment" and d["metadata"]["namespace"] == DEMO_NAMESPACE
        template: dict[str, Any] = d["spec"]["template"]
        assert template["metadata"]["labels"] == d["spec"]["selector"]["matchLabels"]
        annotations = template["metadata"]["annotations"]
        assert {USAGE_CPU_ANNOTATION, USAGE_MEMORY_ANNOTATION} <= set(annotations)
        # requests, so that kubectl top and an HPA have a utilization to compute
        assert all(c["resources"]["requests"]["cpu"] for c in template["spec"]["containers"])


def test_expand_spec_fills_the_kubelet_ca() -> None:
    cp: Any = SimpleNamespace(kubelet_ca=Path("/run/pki/ca.crt"))
    assert expand_spec("ms --kubelet-certificate-authority={kubelet_ca} -v", cp) == (
        "ms --kubelet-certificate-authority=/run/pki/ca.crt -v")
    assert expand_spec("python -m examples.sample_apiserver", cp) == (
        "python -m examples.sample_apiserver")


def test_make_cluster_registers_the_metrics_server_with_the_demo_workload() -> None:
    makefile = (Path(__file__).parents[3] / "Makefile").read_text()
    assert '--server "metrics.k8s.io/v1beta1=$(METRICS_SERVER_CMD)" --demo-workload' in makefile
    assert "--kubelet-certificate-authority={kubelet_ca}" in makefile


def test_expand_spec_fills_the_control_plane_s_etcd() -> None:
    cp: Any = SimpleNamespace(kubelet_ca=Path("/ca"), etcd_url="http://127.0.0.1:2379")
    assert expand_spec("s --etcd-servers={etcd} --etcd-prefix=/wardle", cp) == (
        "s --etcd-servers=http://127.0.0.1:2379 --etcd-prefix=/wardle")


def test_expand_spec_fills_prometheus_only_when_there_is_one() -> None:
    cp: Any = SimpleNamespace(kubelet_ca=Path("/ca.crt"))
    assert expand_spec("a --prometheus-url={prometheus}", cp, "http://127.0.0.1:9") == (
        "a --prometheus-url=http://127.0.0.1:9")
    with pytest.raises(ValueError, match="--prometheus"):
        expand_spec("a --prometheus-url={prometheus}", cp)


def test_hpa_demo_scales_two_kwok_deployments_on_a_pods_and_an_external_metric() -> None:
    *deployments, pods_hpa, external_hpa = hpa_demo_manifests()
    assert [d["metadata"]["name"] for d in deployments] == [FRONTEND, CONSUMER]
    for hpa, target in ((pods_hpa, FRONTEND), (external_hpa, CONSUMER)):
        assert hpa["kind"] == "HorizontalPodAutoscaler"
        assert hpa["metadata"]["namespace"] == DEMO_NAMESPACE
        assert hpa["spec"]["scaleTargetRef"]["name"] == target
    [pods] = pods_hpa["spec"]["metrics"]
    assert (pods["type"], pods["pods"]["metric"]["name"]) == ("Pods", "http_requests_per_second")
    [external] = external_hpa["spec"]["metrics"]
    assert external["type"] == "External"
    assert external["external"]["metric"] == {
        "name": "queue_depth", "selector": {"matchLabels": {"queue": "jobs"}}}
    # the defaults give each HPA something to do: 3 replicas from 1
    assert DEFAULT_LOAD / float(pods["pods"]["target"]["averageValue"]) == 3
    assert DEFAULT_QUEUE_DEPTH / float(external["external"]["target"]["averageValue"]) > 2


def test_make_cluster_runs_the_whole_loop() -> None:
    """Prometheus with our rules, the sample's two versions and the adapter's three
    APIServices, its Prometheus URL filled in by the cluster command."""
    text = (Path(__file__).parents[3] / "Makefile").read_text().replace("\\\n", " ")
    recipe = text[text.index("\ncluster: "):text.index("\ncluster-metrics: ")]
    assert "--prometheus --prometheus-rules monitoring/rules.yaml" in recipe
    assert '"wardle.example.com/v1alpha1,v1beta1=' in recipe
    groups = "custom.metrics.k8s.io/v1beta2,v1beta1,external.metrics.k8s.io/v1beta1"
    assert f'--server "{groups}=$(ADAPTER_CMD)"' in recipe
    assert "--prometheus-url={prometheus}" in text
    assert "\ncluster-metrics: cluster\n" in text
