"""Command lines of the control-plane processes: loopback only, ports and files wired right."""

from __future__ import annotations

from dataclasses import astuple
from pathlib import Path

import yaml

from k8s_aggapi.envtest import flags
from k8s_aggapi.envtest.kwok import KWOK_CONFIG, node_manifest, resource_metrics_path
from k8s_aggapi.envtest.pki import PKI

PORTS = flags.Ports(etcd=2379, etcd_peer=2380, apiserver=6443, controller_manager=10257,
                    scheduler=10259, kwok=10247)
PKI_DIR = PKI(Path("/run/pki"), None)  # type: ignore[arg-type]  # paths only, no CA needed


def as_dict(argv: list[str]) -> dict[str, str]:
    return dict(a.removeprefix("--").partition("=")[::2] for a in argv[1:])


def test_ports_are_distinct_and_free() -> None:
    ports = astuple(flags.Ports.allocate())
    assert len(set(ports)) == len(ports)
    assert all(1024 < p < 65536 for p in ports)


def test_etcd_listens_on_loopback_with_a_fresh_data_dir() -> None:
    args = as_dict(flags.etcd_args(Path("/bin/etcd"), Path("/run/etcd"), PORTS))
    assert args["listen-client-urls"] == "http://127.0.0.1:2379"
    assert args["initial-cluster"] == "envtest=http://127.0.0.1:2380"
    assert args["data-dir"] == "/run/etcd"
    assert "unsafe-no-fsync" in args


def test_apiserver_flags() -> None:
    argv = flags.apiserver_args(Path("/bin/kube-apiserver"), PKI_DIR, PORTS)
    args = as_dict(argv)
    assert argv[0] == "/bin/kube-apiserver"
    assert args["etcd-servers"] == "http://127.0.0.1:2379"
    assert args["secure-port"] == "6443"
    assert args["bind-address"] == args["advertise-address"] == "127.0.0.1"
    assert args["requestheader-client-ca-file"] == "/run/pki/front-proxy-ca.crt"
    assert args["client-ca-file"] == "/run/pki/ca.crt"
    assert args["requestheader-allowed-names"] == "front-proxy-client"
    assert args["proxy-client-cert-file"] == "/run/pki/front-proxy-client.crt"
    assert args["service-account-signing-key-file"] == "/run/pki/sa.key"
    assert args["enable-aggregator-routing"] == "false"
    assert args["authorization-mode"] == "Node,RBAC"


def test_controller_manager_runs_every_controller_with_fast_hpa() -> None:
    args = as_dict(flags.controller_manager_args(
        Path("/bin/kcm"), PKI_DIR, Path("/run/kcm.kubeconfig"), PORTS))
    assert args["controllers"] == "*"
    assert args["kubeconfig"] == "/run/kcm.kubeconfig"
    assert args["bind-address"] == "127.0.0.1"
    assert args["secure-port"] == "10257"
    assert args["horizontal-pod-autoscaler-sync-period"] == "5s"
    assert args["cluster-signing-key-file"] == "/run/pki/ca.key"


def test_scheduler_and_kwok_bind_loopback() -> None:
    sched = as_dict(flags.scheduler_args(Path("/bin/s"), Path("/run/admin"), PORTS))
    assert (sched["bind-address"], sched["secure-port"]) == ("127.0.0.1", "10259")
    kwok = as_dict(flags.kwok_args(Path("/bin/kwok"), Path("/run/admin"), Path("/run/k.yaml"),
                                   PKI_DIR, PORTS))
    assert kwok["server-address"] == "127.0.0.1:10247"  # else kwok binds 0.0.0.0
    assert kwok["node-port"] == "10247"
    assert kwok["node-ip"] == "127.0.0.1"  # the nodes' InternalIP, in the serving cert
    assert kwok["manage-nodes-with-annotation-selector"] == flags.KWOK_NODE_SELECTOR


def test_kwok_serves_kubelet_endpoints_over_https_with_a_cluster_ca_cert() -> None:
    kwok = as_dict(flags.kwok_args(Path("/bin/kwok"), Path("/run/admin"), Path("/run/k.yaml"),
                                   PKI_DIR, PORTS))
    assert kwok["tls-cert-file"] == "/run/pki/kubelet.crt"
    assert kwok["tls-private-key-file"] == "/run/pki/kubelet.key"


def test_kwok_config_has_the_metric_and_the_usage() -> None:
    docs = list(yaml.safe_load_all(KWOK_CONFIG))
    assert [d["kind"] for d in docs] == ["Metric", "ClusterResourceUsage"]
    metric = docs[0]["spec"]
    assert metric["path"] == "/metrics/nodes/{nodeName}/metrics/resource"
    assert {m["name"] for m in metric["metrics"]} >= {
        "container_cpu_usage_seconds_total", "container_memory_working_set_bytes",
        "node_cpu_usage_seconds_total", "node_memory_working_set_bytes", "scrape_error"}
    usage = docs[1]["spec"]["usages"][0]["usage"]
    assert "kwok.x-k8s.io/usage-cpu" in usage["cpu"]["expression"]


def test_node_is_adopted_by_kwok_and_points_at_its_metrics() -> None:
    node = node_manifest("n1")
    key, value = flags.KWOK_NODE_SELECTOR.split("=")
    assert node["metadata"]["annotations"][key] == value
    assert node["metadata"]["annotations"]["metrics.k8s.io/resource-metrics-path"] == (
        resource_metrics_path("n1"))
    assert "taints" not in node["spec"]  # ordinary pods get scheduled on it
