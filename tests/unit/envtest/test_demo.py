"""`make cluster`'s demo workload and the `{kubelet_ca}` placeholder of its server specs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from k8s_aggapi.envtest.cluster import expand_spec
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
