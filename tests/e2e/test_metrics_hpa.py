"""The HorizontalPodAutoscaler (real kube-controller-manager, autoscaling/v2, CPU utilization)
driven by ours and by upstream metrics-server: up when the pods' usage is high, back down
when it falls. envtest's KCM syncs HPAs every 5 s; the HPA asks for no downscale
stabilization window (its own `behavior`), so the scale-down follows the next sync.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from metrics_support import HPA_NODE, TAINT, MetricsServer, wait_until

from k8s_aggapi.envtest import ControlPlane
from k8s_aggapi.envtest.kwok import USAGE_CPU_ANNOTATION, USAGE_MEMORY_ANNOTATION

pytestmark = pytest.mark.e2e


@pytest.fixture
def hpa_namespace(control_plane: ControlPlane, metrics_server: MetricsServer) -> Iterator[str]:
    name = f"metrics-hpa-{metrics_server.which}"
    control_plane.kubectl("create", "namespace", name)
    control_plane.kubectl("wait", "--for=create", "serviceaccount/default", "-n", name,
                          "--timeout=60s")
    yield name
    control_plane.kubectl("delete", "namespace", name, "--wait=false", check=False)


def deployment(cpu: str) -> dict[str, Any]:
    labels = {"app": "busy"}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "busy"},
        "spec": {"replicas": 1, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels, "annotations": {
                USAGE_CPU_ANNOTATION: cpu, USAGE_MEMORY_ANNOTATION: "32Mi"}},
            "spec": {"nodeName": HPA_NODE, "tolerations": [{**TAINT, "operator": "Equal"}],
                     "containers": [{"name": "app", "image": "fake", "resources": {
                         "requests": {"cpu": "100m", "memory": "32Mi"}}}]}}},
    }


HPA = {
    "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "busy"},
    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "busy"},
        "minReplicas": 1, "maxReplicas": 3,
        "metrics": [{"type": "Resource", "resource": {
            "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}}],
        "behavior": {"scaleDown": {"stabilizationWindowSeconds": 0}},
    },
}


def hpa_status(control_plane: ControlPlane, ns: str) -> dict[str, Any]:
    hpa = json.loads(control_plane.kubectl("get", "hpa", "busy", "-n", ns, "-o", "json").stdout)
    return dict(hpa.get("status") or {})


def test_hpa_scales_up_on_high_cpu_and_down_when_it_falls(
        metrics_server: MetricsServer, control_plane: ControlPlane, hpa_namespace: str) -> None:
    ns = hpa_namespace
    control_plane.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(deployment("400m")))
    control_plane.kubectl("apply", "-n", ns, "-f", "-", input=json.dumps(HPA))

    # 400m used of 100m requested = 400% against a 50% target: as many replicas as allowed
    wait_until("the HPA to scale busy to 3", lambda: hpa_status(
        control_plane, ns).get("desiredReplicas") == 3, timeout=240, interval=3)
    status = hpa_status(control_plane, ns)
    [current] = status["currentMetrics"]
    assert current["resource"]["current"]["averageUtilization"] >= 300, status
    control_plane.kubectl("rollout", "status", "-n", ns, "deployment/busy", "--timeout=120s")

    # usage falls to 10m (10%) on every pod (kwok reads the annotation at each scrape)
    control_plane.kubectl("annotate", "pods", "-n", ns, "-l", "app=busy", "--overwrite",
                          f"{USAGE_CPU_ANNOTATION}=10m")
    wait_until("the HPA to scale busy back to 1", lambda: hpa_status(
        control_plane, ns).get("desiredReplicas") == 1, timeout=300, interval=3)
    status = hpa_status(control_plane, ns)
    [current] = status["currentMetrics"]
    assert current["resource"]["current"]["averageUtilization"] <= 20, status
