"""The metrics server's manifests: what upstream's components.yaml and its high-availability
variant deploy, in effect; and the checked-in deploy/ folders are what `make manifests` writes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8s_aggapi.cli import main

ROOT = Path(__file__).parents[3]
DEPLOY = ROOT / "examples" / "metrics_server" / "deploy"


def manifests_args() -> list[str]:
    found = re.search(r"^METRICS_MANIFESTS := (.+)$", (ROOT / "Makefile").read_text(), re.M)
    assert found, "Makefile lost METRICS_MANIFESTS"
    return found.group(1).split()


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    try:
        code = main(list(argv))
    except SystemExit as e:
        code = int(e.code or 0)
    out, err = capsys.readouterr()
    assert code == 0, err
    return out


def objects(text: str) -> dict[tuple[str, str], dict[str, Any]]:
    return {(o["kind"], o["metadata"]["name"]): o for o in yaml.safe_load_all(text) if o}


@pytest.mark.parametrize(("folder", "extra"), [("default", []),
                                               ("high-availability", ["--replicas", "2"])])
def test_checked_in_deploy_folders_are_fresh(capsys: pytest.CaptureFixture[str],
                                             tmp_path: Path, folder: str,
                                             extra: list[str]) -> None:
    run(capsys, "manifests", *manifests_args(), *extra, "--output-dir", str(tmp_path))
    fresh = {p.name: p.read_text() for p in sorted(tmp_path.iterdir())}
    checked_in = {p.name: p.read_text() for p in sorted((DEPLOY / folder).iterdir())}
    assert checked_in == fresh, f"{DEPLOY / folder} is stale: run `make manifests`"


def test_components_yaml_in_effect(capsys: pytest.CaptureFixture[str]) -> None:
    got = objects(run(capsys, "manifests", *manifests_args()))
    assert ("ServiceAccount", "metrics-server") in got
    own = got["ClusterRole", "system:metrics-server"]["rules"]
    assert {"apiGroups": [""], "resources": ["nodes/metrics"], "verbs": ["get"]} in own
    assert {"apiGroups": [""], "resources": ["pods", "nodes"],
            "verbs": ["get", "list", "watch"]} in own
    reader = got["ClusterRole", "system:aggregated-metrics-reader"]
    for role in ("view", "edit", "admin"):
        assert reader["metadata"]["labels"][f"rbac.authorization.k8s.io/aggregate-to-{role}"]
    assert reader["rules"] == [{"apiGroups": ["metrics.k8s.io"], "resources": ["nodes", "pods"],
                                "verbs": ["get", "list"]}]
    assert got["ClusterRoleBinding", "metrics-server:system:auth-delegator"][
        "roleRef"]["name"] == "system:auth-delegator"
    reader_binding = got["RoleBinding", "metrics-server-auth-reader"]
    assert reader_binding["metadata"]["namespace"] == "kube-system"
    assert reader_binding["roleRef"]["name"] == "extension-apiserver-authentication-reader"
    apiservice = got["APIService", "v1beta1.metrics.k8s.io"]["spec"]
    assert apiservice["groupPriorityMinimum"] == 100 and apiservice["versionPriority"] == 100
    assert apiservice["service"] == {"name": "metrics-server", "namespace": "kube-system",
                                     "port": 443}
    assert apiservice["insecureSkipTLSVerify"] is True
    service = got["Service", "metrics-server"]["spec"]
    assert service["ports"][0]["port"] == 443 and service["ports"][0]["targetPort"] == "https"
    deployment = got["Deployment", "metrics-server"]["spec"]
    assert deployment["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    pod = deployment["template"]["spec"]
    assert pod["serviceAccountName"] == "metrics-server"
    assert pod["priorityClassName"] == "system-cluster-critical"
    container = pod["containers"][0]
    assert container["ports"][0] == {"name": "https", "containerPort": 10250, "protocol": "TCP"}
    for flag in ("--secure-port=10250", "--cert-dir=/tmp", "--kubelet-use-node-status-port",
                 "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
                 "--metric-resolution=15s"):
        assert flag in container["args"]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["resources"] == {"requests": {"cpu": "100m", "memory": "200Mi"}}
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] and security["runAsNonRoot"]
    assert not security["allowPrivilegeEscalation"]
    assert security["capabilities"] == {"drop": ["ALL"]}
    assert ("PodDisruptionBudget", "metrics-server") not in got


def test_high_availability_in_effect(capsys: pytest.CaptureFixture[str]) -> None:
    got = objects(run(capsys, "manifests", *manifests_args(), "--replicas", "2"))
    deployment = got["Deployment", "metrics-server"]["spec"]
    assert deployment["replicas"] == 2
    assert deployment["strategy"]["rollingUpdate"]["maxUnavailable"] == 1
    assert "podAntiAffinity" in deployment["template"]["spec"]["affinity"]
    assert got["PodDisruptionBudget", "metrics-server"]["spec"]["minAvailable"] == 1


def test_the_deployment_args_start_this_server() -> None:
    from examples.metrics_server.options import add_flags, options_from
    from k8s_aggapi.options import build_parser

    container = yaml.safe_load((DEPLOY / "default" / "deployment.yaml").read_text().split(
        "---", 1)[1])["spec"]["template"]["spec"]["containers"][0]
    parser = build_parser()
    add_flags(parser)
    options = options_from(parser.parse_args(container["args"]))
    assert options.kubelet.use_node_status_port
