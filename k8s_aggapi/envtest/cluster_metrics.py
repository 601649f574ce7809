"""`make cluster`'s metrics loop: Prometheus beside the control plane, scraping kube-apiserver
and every aggregated server (TLS, the admin's client certificate) with the given rule files,
and the HPA demo fed by a loopback exporter.

The demo (namespace `demo`): Deployment `frontend` scaled by an HPA on the `Pods` metric
`http_requests_per_second` (the exporter's `http_requests_total` of its pods, a total load read
from `<state-dir>/load`), Deployment `consumer` scaled by an HPA on the `External` metric
`queue_depth{queue="jobs"}` (read from `<state-dir>/queue-depth`). Edit either file to watch
the HPAs follow.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from k8s_aggapi.envtest.aggregated import AggregatedServer
from k8s_aggapi.envtest.controlplane import ControlPlane
from k8s_aggapi.envtest.demo import DEMO_NAMESPACE, deployment
from k8s_aggapi.envtest.exporter import Exporter, PodLoad
from k8s_aggapi.envtest.prometheus import Prometheus, scrape_config

FRONTEND, CONSUMER = "frontend", "consumer"
QUEUE = {"namespace": DEMO_NAMESPACE, "queue": "jobs"}
DEFAULT_LOAD, DEFAULT_QUEUE_DEPTH = 6.0, 25.0  # 3 replicas each at the targets below
PODS_TARGET, QUEUE_TARGET = "2", "10"


def hpa(name: str, metric: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": name, "namespace": DEMO_NAMESPACE},
        "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": name},
                 "minReplicas": 1, "maxReplicas": 8, "metrics": [metric],
                 "behavior": {"scaleDown": {"stabilizationWindowSeconds": 30}}},
    }


def hpa_demo_manifests() -> list[dict[str, Any]]:
    """The two Deployments (kwok pods with usage, for `kubectl top` too) and their HPAs."""
    pods_metric = {"type": "Pods", "pods": {
        "metric": {"name": "http_requests_per_second"},
        "target": {"type": "AverageValue", "averageValue": PODS_TARGET}}}
    external_metric = {"type": "External", "external": {
        "metric": {"name": "queue_depth", "selector": {"matchLabels": {"queue": "jobs"}}},
        "target": {"type": "AverageValue", "averageValue": QUEUE_TARGET}}}
    return [deployment(FRONTEND, 1, ("app",), "120m", "48Mi"),
            deployment(CONSUMER, 1, ("app",), "80m", "32Mi"),
            hpa(FRONTEND, pods_metric), hpa(CONSUMER, external_metric)]


def server_job(server: AggregatedServer, cp: ControlPlane) -> dict[str, Any]:
    """A scrape job for an aggregated server, named after its first API group."""
    return {"job_name": server.group_versions[0][0], "scheme": "https",
            "tls_config": {**_admin_tls(cp),
                           "server_name": f"{server.service}.{server.namespace}.svc"},
            "static_configs": [{"targets": [f"127.0.0.1:{server.port}"]}]}


def _admin_tls(cp: ControlPlane) -> dict[str, str]:
    """The cluster CA and the admin's client certificate, as absolute paths (Prometheus
    resolves relative ones against its configuration file's directory)."""
    pki = cp.pki
    return {"ca_file": str(pki.crt("ca").resolve()), "cert_file": str(pki.crt("admin").resolve()),
            "key_file": str(pki.key("admin").resolve())}


def _read_number(path: Path, default: float) -> float:
    with contextlib.suppress(OSError, ValueError):
        return float(path.read_text().strip())
    return default


class MetricsLoop:
    """Prometheus + exporter (`start`), a scrape job per server (`scrape`), the HPA demo
    (`start_demo`), the load and queue depth files (`poll`, every second), `close`."""

    def __init__(self, cp: ControlPlane, run_dir: Path, state_dir: Path,
                 rule_files: Sequence[Path], *, interval: str = "5s") -> None:
        self.cp, self.state_dir = cp, state_dir
        self.load_file, self.queue_file = state_dir / "load", state_dir / "queue-depth"
        self.exporter = Exporter()
        self.config = scrape_config({}, interval=interval,
                                    rule_files=[p.resolve() for p in rule_files])
        self.prometheus = Prometheus(run_dir, config=self.config)  # installs it when missing
        self.jobs: list[dict[str, Any]] = []
        self.load: PodLoad | None = None
        self._serving = False  # an exporter that never served would block in stop()

    @property
    def url(self) -> str:
        return self.prometheus.url

    def _config(self) -> dict[str, Any]:
        admin = _admin_tls(self.cp)
        own = [{"job_name": "exporter", "static_configs": [{"targets": [self.exporter.target]}]},
               {"job_name": "prometheus",
                "static_configs": [{"targets": [f"127.0.0.1:{self.prometheus.port}"]}]},
               {"job_name": "kube-apiserver", "scheme": "https", "tls_config": admin,
                "static_configs": [{"targets": [self.cp.server.removeprefix("https://")]}]}]
        return {**self.config, "scrape_configs": [*own, *self.jobs]}

    def start(self) -> MetricsLoop:
        self.exporter.start()
        self._serving = True
        self.exporter.set_gauge("queue_depth", QUEUE,
                                _read_number(self.queue_file, DEFAULT_QUEUE_DEPTH))
        self.prometheus.config = self._config()
        self.prometheus.start()
        return self

    def scrape(self, server: AggregatedServer) -> None:
        self.jobs.append(server_job(server, self.cp))
        self.prometheus.reload(self._config())

    def start_demo(self) -> None:
        for path, default in ((self.load_file, DEFAULT_LOAD),
                              (self.queue_file, DEFAULT_QUEUE_DEPTH)):
            path.write_text(f"{default:g}\n")  # each run starts from the defaults
        for manifest in hpa_demo_manifests():
            self.cp.apply(manifest)
        self.load = PodLoad(self.cp.admin_kubeconfig, self.exporter, DEMO_NAMESPACE, FRONTEND)
        self.poll()
        self.load.start()

    def poll(self) -> None:
        if self.load is not None:
            self.load.total = _read_number(self.load_file, DEFAULT_LOAD)
            self.exporter.set_gauge("queue_depth", QUEUE,
                                    _read_number(self.queue_file, DEFAULT_QUEUE_DEPTH))

    def close(self) -> None:
        if self.load is not None:
            self.load.stop()
        self.prometheus.stop()
        if self._serving:
            self.exporter.stop()
