"""kwok's configuration and the fake Node it manages: pods on it run, and it serves kubelet metrics.

The Metric is kwok v0.7.0's `kustomize/metrics/resource/metrics-resource.yaml` (what kwokctl
loads); the ClusterResourceUsage reads usage from pod annotations `kwok.x-k8s.io/usage-*`.
"""

from __future__ import annotations

from typing import Any

USAGE_CPU_ANNOTATION = "kwok.x-k8s.io/usage-cpu"
USAGE_MEMORY_ANNOTATION = "kwok.x-k8s.io/usage-memory"
RESOURCE_METRICS_PATH_ANNOTATION = "metrics.k8s.io/resource-metrics-path"

_LABELS = """
    labels:
    - {name: container, value: 'container.name'}
    - {name: namespace, value: 'pod.metadata.namespace'}
    - {name: pod, value: 'pod.metadata.name'}"""
_POD_LABELS = """
    labels:
    - {name: namespace, value: 'pod.metadata.namespace'}
    - {name: pod, value: 'pod.metadata.name'}"""

KWOK_CONFIG = f"""\
kind: Metric
apiVersion: kwok.x-k8s.io/v1alpha1
metadata: {{name: metrics-resource}}
spec:
  path: "/metrics/nodes/{{nodeName}}/metrics/resource"
  metrics:
  - name: scrape_error
    dimension: node
    help: "[ALPHA] 1 if there was an error while getting metrics from the node, 0 otherwise"
    kind: gauge
    value: '0'
  - name: container_start_time_seconds
    dimension: container
    help: "[ALPHA] Start time of the container since unix epoch in seconds"
    kind: gauge{_LABELS}
    value: 'pod.SinceSecond()'
  - name: container_cpu_usage_seconds_total
    dimension: container
    help: "[ALPHA] Cumulative cpu time consumed by the container in core-seconds"
    kind: counter{_LABELS}
    value: 'pod.CumulativeUsage("cpu", container.name)'
  - name: container_memory_working_set_bytes
    dimension: container
    help: "[ALPHA] Current working set of the container in bytes"
    kind: gauge{_LABELS}
    value: 'pod.Usage("memory", container.name)'
  - name: pod_cpu_usage_seconds_total
    dimension: pod
    help: "[ALPHA] Cumulative cpu time consumed by the pod in core-seconds"
    kind: counter{_POD_LABELS}
    value: 'pod.CumulativeUsage("cpu")'
  - name: pod_memory_working_set_bytes
    dimension: pod
    help: "[ALPHA] Current working set of the pod in bytes"
    kind: gauge{_POD_LABELS}
    value: 'pod.Usage("memory")'
  - name: node_cpu_usage_seconds_total
    dimension: node
    help: "[ALPHA] Cumulative cpu time consumed by the node in core-seconds"
    kind: counter
    value: 'node.CumulativeUsage("cpu")'
  - name: node_memory_working_set_bytes
    dimension: node
    help: "[ALPHA] Current working set of the node in bytes"
    kind: gauge
    value: 'node.Usage("memory")'
---
apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterResourceUsage
metadata: {{name: usage-from-annotation}}
spec:
  usages:
  - usage:
      cpu:
        expression: |
          "{USAGE_CPU_ANNOTATION}" in pod.metadata.annotations
          ? Quantity(pod.metadata.annotations["{USAGE_CPU_ANNOTATION}"])
          : Quantity("1m")
      memory:
        expression: |
          "{USAGE_MEMORY_ANNOTATION}" in pod.metadata.annotations
          ? Quantity(pod.metadata.annotations["{USAGE_MEMORY_ANNOTATION}"])
          : Quantity("1Mi")
"""


def resource_metrics_path(node: str) -> str:
    return f"/metrics/nodes/{node}/metrics/resource"


def node_manifest(name: str, *, cpu: str = "32", memory: str = "256Gi") -> dict[str, Any]:
    """A Node that kwok adopts (annotation selector) and keeps Ready; untainted, so the
    scheduler places ordinary pods on it."""
    resources = {"cpu": cpu, "memory": memory, "pods": "110"}
    return {
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "name": name,
            "annotations": {
                "kwok.x-k8s.io/node": "fake",
                "node.alpha.kubernetes.io/ttl": "0",
                RESOURCE_METRICS_PATH_ANNOTATION: resource_metrics_path(name),
            },
            "labels": {
                "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                "kubernetes.io/arch": "amd64", "type": "kwok",
            },
        },
        "spec": {"providerID": f"kwok://{name}"},
        "status": {"allocatable": resources, "capacity": resources},
    }
