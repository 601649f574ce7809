"""envtest: a real local Kubernetes control plane for testing aggregated API servers.

Binaries are built from pinned Go modules into a cache; `ControlPlane` runs them on loopback;
`start_aggregated_server` puts your server behind kube-apiserver; pytest fixtures wrap both.
`spawn` and `run` start any other child so that it dies with the test process (Linux).
"""

from k8s_aggapi.envtest.aggregated import AggregatedServer, start_aggregated_server
from k8s_aggapi.envtest.apiservice import (
    APIServiceUnavailable,
    grant_delegated_auth,
    namespace_for_group,
    register_apiservice,
    unregister_apiservice,
    wait_apiservice_available,
)
from k8s_aggapi.envtest.binaries import BinariesUnavailable, ensure_binaries, find_binary
from k8s_aggapi.envtest.controlplane import ControlPlane, KubectlError
from k8s_aggapi.envtest.lifetime import Leashed, alive, descendants, run, spawn
from k8s_aggapi.envtest.pki import PKI
from k8s_aggapi.envtest.processes import StartupError

__all__ = [
    "PKI",
    "APIServiceUnavailable",
    "AggregatedServer",
    "BinariesUnavailable",
    "ControlPlane",
    "KubectlError",
    "Leashed",
    "StartupError",
    "alive",
    "descendants",
    "ensure_binaries",
    "find_binary",
    "grant_delegated_auth",
    "namespace_for_group",
    "register_apiservice",
    "run",
    "spawn",
    "start_aggregated_server",
    "unregister_apiservice",
    "wait_apiservice_available",
]
