"""Command lines of the control-plane processes, as pure functions of ports and file paths.

Everything listens on 127.0.0.1 on ports chosen at start, so control planes can run side by
side. The flags follow control-plane.md §1.7, §3, §5 and §6, as corrected by running them.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, fields
from pathlib import Path

from k8s_aggapi.envtest.pki import (
    FRONT_PROXY_CLIENT,
    KUBELET_SERVING,
    PKI,
    SERVICE_CLUSTER_IP_RANGE,
)

KWOK_NODE_SELECTOR = "kwok.x-k8s.io/node=fake"


@dataclass(frozen=True)
class Ports:
    """The loopback ports of one control plane."""

    etcd: int
    etcd_peer: int
    apiserver: int
    controller_manager: int
    scheduler: int
    kwok: int

    @classmethod
    def allocate(cls) -> Ports:
        """Distinct free ports: all sockets stay bound until every port is picked."""
        socks = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in fields(cls)]
        try:
            for s in socks:
                s.bind(("127.0.0.1", 0))
            return cls(*(int(s.getsockname()[1]) for s in socks))
        finally:
            for s in socks:
                s.close()


def etcd_args(binary: Path, data_dir: Path, ports: Ports) -> list[str]:
    client, peer = f"http://127.0.0.1:{ports.etcd}", f"http://127.0.0.1:{ports.etcd_peer}"
    return [
        str(binary), "--name=envtest", f"--data-dir={data_dir}",
        f"--listen-client-urls={client}", f"--advertise-client-urls={client}",
        f"--listen-peer-urls={peer}", f"--initial-advertise-peer-urls={peer}",
        f"--initial-cluster=envtest={peer}", "--unsafe-no-fsync", "--log-level=warn",
    ]


def apiserver_args(binary: Path, pki: PKI, ports: Ports) -> list[str]:
    return [
        str(binary),
        f"--etcd-servers=http://127.0.0.1:{ports.etcd}",
        "--bind-address=127.0.0.1", f"--secure-port={ports.apiserver}",
        "--advertise-address=127.0.0.1", "--endpoint-reconciler-type=none",
        f"--tls-cert-file={pki.crt('apiserver')}", f"--tls-private-key-file={pki.key('apiserver')}",
        f"--client-ca-file={pki.crt('ca')}",
        "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
        f"--service-account-key-file={pki.sa_pub}",
        f"--service-account-signing-key-file={pki.sa_key}",
        "--authorization-mode=Node,RBAC",
        f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
        f"--requestheader-client-ca-file={pki.crt('front-proxy-ca')}",
        f"--requestheader-allowed-names={FRONT_PROXY_CLIENT}",
        "--requestheader-username-headers=X-Remote-User",
        "--requestheader-group-headers=X-Remote-Group",
        "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        "--requestheader-uid-headers=X-Remote-Uid",
        f"--proxy-client-cert-file={pki.crt(FRONT_PROXY_CLIENT)}",
        f"--proxy-client-key-file={pki.key(FRONT_PROXY_CLIENT)}",
        "--enable-aggregator-routing=false",
        "--profiling=false", "--v=1",
    ]


def controller_manager_args(binary: Path, pki: PKI, kubeconfig: Path, ports: Ports) -> list[str]:
    return [
        str(binary),
        f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1", f"--secure-port={ports.controller_manager}",
        "--leader-elect=false", "--controllers=*", "--use-service-account-credentials=false",
        f"--service-account-private-key-file={pki.sa_key}", f"--root-ca-file={pki.crt('ca')}",
        f"--cluster-signing-cert-file={pki.crt('ca')}",
        f"--cluster-signing-key-file={pki.key('ca')}",
        "--horizontal-pod-autoscaler-sync-period=5s",
        "--horizontal-pod-autoscaler-downscale-stabilization=30s",
        "--horizontal-pod-autoscaler-cpu-initialization-period=10s",
        "--horizontal-pod-autoscaler-initial-readiness-delay=5s",
        "--profiling=false", "--v=1",
    ]


def scheduler_args(binary: Path, kubeconfig: Path, ports: Ports) -> list[str]:
    return [
        str(binary),
        f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        "--bind-address=127.0.0.1", f"--secure-port={ports.scheduler}",
        "--leader-elect=false", "--profiling=false",
    ]


def kwok_args(
    binary: Path, kubeconfig: Path, config: Path, pki: PKI, ports: Ports,
) -> list[str]:
    """kwok serves the fake kubelets' endpoints (and its /healthz) over HTTPS with a serving
    cert from the cluster CA, as kubelets do; nodes get `Hostname` localhost and `InternalIP`
    127.0.0.1 (both in the cert), and the kwok port as their kubelet endpoint."""
    return [
        str(binary), f"--kubeconfig={kubeconfig}", f"--config={config}",
        "--manage-all-nodes=false", f"--manage-nodes-with-annotation-selector={KWOK_NODE_SELECTOR}",
        "--node-name=localhost", "--node-ip=127.0.0.1", f"--node-port={ports.kwok}",
        f"--server-address=127.0.0.1:{ports.kwok}",
        f"--tls-cert-file={pki.crt(KUBELET_SERVING)}",
        f"--tls-private-key-file={pki.key(KUBELET_SERVING)}",
        "--node-lease-duration-seconds=40", "--cidr=10.244.0.1/24",
    ]
