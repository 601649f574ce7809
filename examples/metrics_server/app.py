"""The metrics server's server object: what `python -m examples.metrics_server`, `aggapi run`
and `aggapi manifests examples.metrics_server.app:server` read.

Its deployment is upstream's components.yaml in effect: ServiceAccount `metrics-server`,
ClusterRole `system:metrics-server` (nodes/metrics get; pods, nodes get/list/watch), the
aggregated `system:aggregated-metrics-reader`, delegated auth bindings, port 10250 named
https, upstream's flags, and the APIService `v1beta1.metrics.k8s.io` at priorities 100/100.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from k8s_aggapi.application import Application, PolicyRule


def _groups() -> list:  # type: ignore[type-arg]
    from examples.metrics_server.server import default_groups

    return default_groups()


@dataclass(frozen=True)
class MetricsServerApplication(Application):
    """An Application whose `main` also takes metrics-server's own flags."""

    def main(self, argv: Sequence[str] | None = None, *, prog: str | None = None) -> None:
        from examples.metrics_server.server import main

        main(argv, prog=prog or self.prog)


server = MetricsServerApplication(
    name="metrics-server",
    groups=_groups,
    title="Kubernetes metrics-server",
    prog="python -m examples.metrics_server",
    command=("python", "-m", "examples.metrics_server"),
    args=("--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
          "--kubelet-use-node-status-port", "--metric-resolution=15s"),
    rules=(PolicyRule(("",), ("nodes/metrics",), ("get",)),
           PolicyRule(("",), ("pods", "nodes"), ("get", "list", "watch"))),
    port=10250,
    group_priority_minimum=100,
    version_priority=100,
    reader_role="system:aggregated-metrics-reader",
    priority_class="system-cluster-critical",
    requests=(("cpu", "100m"), ("memory", "200Mi")),
    memory_limit="",
)
