"""The demo workload `make cluster` runs: kwok pods whose CPU and memory come from the
annotations `kwok.x-k8s.io/usage-cpu` / `usage-memory`, so `kubectl top` has something to show.

Namespace `demo`: Deployments `web` (3 pods, 250m and 96Mi each), `worker` (2 pods of two
containers, 600m and 200Mi per container) and `idle` (1 pod, 5m and 16Mi); nothing else
is needed: the scheduler places them on the kwok node, kwok runs them and serves their usage.
"""

from __future__ import annotations

from typing import Any

from k8s_aggapi.envtest.kwok import USAGE_CPU_ANNOTATION, USAGE_MEMORY_ANNOTATION

DEMO_NAMESPACE = "demo"
# name -> (replicas, containers, cpu per container, memory per container)
DEMO_DEPLOYMENTS: dict[str, tuple[int, tuple[str, ...], str, str]] = {
    "web": (3, ("nginx",), "250m", "96Mi"),
    "worker": (2, ("worker", "log-shipper"), "600m", "200Mi"),
    "idle": (1, ("app",), "5m", "16Mi"),
}


def deployment(name: str, replicas: int, containers: tuple[str, ...], cpu: str,
               memory: str, namespace: str = DEMO_NAMESPACE) -> dict[str, Any]:
    labels = {"app": name}
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name, "namespace": namespace, "labels": labels},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels}, "template": {
            "metadata": {"labels": labels, "annotations": {
                USAGE_CPU_ANNOTATION: cpu, USAGE_MEMORY_ANNOTATION: memory}},
            "spec": {"containers": [
                {"name": c, "image": "fake", "resources": {"requests": {
                    "cpu": "100m", "memory": "64Mi"}}} for c in containers]}}},
    }


def demo_manifests() -> list[dict[str, Any]]:
    """The namespace first, then the Deployments."""
    ns = {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": DEMO_NAMESPACE}}
    return [ns, *(deployment(name, *spec) for name, spec in DEMO_DEPLOYMENTS.items())]
