"""Our metrics server against the real control plane: kube-apiserver's aggregator, kwok's
kubelets over HTTPS (verified with the kubelets' CA), the real kubectl `top`.

metrics-b's suite compares ours with upstream's metrics-server case by case; this is the
short proof that ours serves `kubectl top` from kwok's usage annotations."""

from __future__ import annotations

import json
import re
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from k8s_aggapi.envtest.aggregated import AggregatedServer, start_aggregated_server
from k8s_aggapi.envtest.controlplane import ControlPlane
from k8s_aggapi.envtest.demo import deployment

BASE = "/apis/metrics.k8s.io/v1beta1"


@pytest.fixture
def metrics_server(control_plane: ControlPlane) -> Iterator[AggregatedServer]:
    command = [sys.executable, "-m", "examples.metrics_server", "--metric-resolution=10s",
               "--kubelet-request-timeout=5s", "--kubelet-use-node-status-port",
               "--kubelet-preferred-address-types=InternalIP,Hostname",
               f"--kubelet-certificate-authority={control_plane.kubelet_ca}"]
    server = start_aggregated_server(command, "metrics.k8s.io/v1beta1",
                                     control_plane=control_plane, service="metrics-server",
                                     namespace="kube-system", timeout=120)
    try:
        yield server
    finally:
        server.close()


def poll(what: str, probe: Callable[[], Any], timeout: float = 120.0) -> Any:
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(2)
    raise AssertionError(f"{what}: not within {timeout}s (last: {last!r})")


def millicores(text: str) -> float:
    return float(text[:-1]) if text.endswith("m") else float(text) * 1000


def test_kubectl_top_shows_the_usage_kwok_reports(
        control_plane: ControlPlane, namespace: str, metrics_server: AggregatedServer) -> None:
    kubectl = control_plane.kubectl
    control_plane.apply(deployment("busy", 2, ("app", "sidecar"), "300m", "50Mi",
                                   namespace=namespace))

    def top_pods() -> list[list[str]] | None:
        res = kubectl("top", "pod", "-n", namespace, "--containers", "--no-headers",
                      check=False)
        rows = [line.split() for line in res.stdout.splitlines() if line.strip()]
        return rows if res.returncode == 0 and len(rows) == 4 else None

    try:
        rows = poll("kubectl top pod --containers", top_pods)
    except AssertionError as e:
        last = kubectl("top", "pod", "-n", namespace, "--containers", check=False)
        raise AssertionError(f"{e}\n{last.stdout}{last.stderr}\nserver log:\n"
                             f"{metrics_server.process.tail()}") from None
    assert sorted(r[1] for r in rows) == ["app", "app", "sidecar", "sidecar"]
    for _pod, _container, cpu, memory in rows:
        assert 250 <= millicores(cpu) <= 350, rows
        assert memory == "50Mi"

    res = kubectl("top", "pod", "-n", namespace, "-l", "app=busy", "--sort-by=cpu",
                  "--no-headers")
    assert len(res.stdout.splitlines()) == 2

    nodes = poll("kubectl top node", lambda: kubectl("top", "node", "--no-headers",
                                                     check=False).stdout.split())
    assert re.fullmatch(r"\d+m", nodes[1]), nodes

    pod = rows[0][0]
    obj = json.loads(kubectl("get", "--raw", f"{BASE}/namespaces/{namespace}/pods/{pod}").stdout)
    assert obj["kind"] == "PodMetrics" and obj["metadata"]["labels"]["app"] == "busy"
    assert [c["name"] for c in obj["containers"]] == ["app", "sidecar"]
    assert obj["containers"][0]["usage"]["memory"] == "50Mi"
    assert re.fullmatch(r"\d+(\.\d+)?s", obj["window"]), obj["window"]

    missing = kubectl("get", "--raw", f"{BASE}/namespaces/{namespace}/pods/nosuch",
                      check=False)
    assert missing.returncode != 0 and "NotFound" in missing.stderr + missing.stdout

    table = kubectl("get", "podmetrics", "-n", namespace).stdout.splitlines()
    assert table[0].split() == ["NAME", "CPU", "MEMORY", "WINDOW"]
    assert len(table) == 3

    readyz = kubectl("get", "--raw", "/apis/metrics.k8s.io/v1beta1", check=False)
    assert readyz.returncode == 0
