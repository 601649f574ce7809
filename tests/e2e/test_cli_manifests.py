"""`aggapi certs` + `aggapi manifests` + `aggapi run` against the real kube-apiserver.

Every object of the sample's checked-in deploy/ (and of an HA, etcd, TLS variant) passes a
server-side dry run; the local ExternalName variant, with the cert `aggapi certs` wrote and
the sample started by `aggapi run`, makes its APIService Available and serves kubectl.
"""

from __future__ import annotations

import base64
import json
import os
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from k8s_aggapi.envtest.apiservice import wait_apiservice_available
from k8s_aggapi.envtest.controlplane import NO_PROXY, ControlPlane
from k8s_aggapi.envtest.processes import ManagedProcess, free_port, wait_for

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]
DEPLOY = ROOT / "examples" / "sample_apiserver" / "deploy"
SAMPLE = "examples.sample_apiserver.app:server"
AGGAPI = str(Path(sys.executable).parent / "aggapi")
APISERVICE = "v1alpha1.wardle.example.com"
FLUNDER = "apiVersion: wardle.example.com/v1alpha1\nkind: Flunder\nmetadata: {name: by-editor}\n"


def aggapi(*args: str) -> str:
    import subprocess

    res = subprocess.run([AGGAPI, *args], cwd=ROOT, capture_output=True, text=True,
                         timeout=120)
    assert res.returncode == 0, res.stderr
    return res.stdout


def dry_run_lines(kubectl: object, *args: str) -> list[str]:
    out = kubectl("apply", "--dry-run=server", *args).stdout  # type: ignore[operator]
    return [line for line in out.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def wardle_namespace(control_plane: ControlPlane) -> str:
    control_plane.kubectl("create", "namespace", "wardle", check=False)
    return "wardle"


def test_checked_in_deploy_passes_a_server_side_dry_run(wardle_namespace: str,
                                                        kubectl: object) -> None:
    lines = dry_run_lines(kubectl, "-k", str(DEPLOY))
    kustomization = yaml.safe_load((DEPLOY / "kustomization.yaml").read_text())
    expected = sum(1 for f in kustomization["resources"]
                   for d in yaml.safe_load_all((DEPLOY / f).read_text()) if d)
    assert len(lines) == expected, lines
    assert all(line.endswith("(server dry run)") for line in lines), lines
    assert "deployment.apps/wardle-server created (server dry run)" in lines
    assert f"apiservice.apiregistration.k8s.io/{APISERVICE} created (server dry run)" in lines


def test_tls_ha_etcd_variant_passes_a_server_side_dry_run(
        tmp_path: Path, kubectl: object, namespace: str) -> None:
    aggapi("certs", "--service", "wardle-server", "--namespace", namespace,
           "--out", str(tmp_path / "certs"))
    aggapi("manifests", SAMPLE, "--namespace", namespace, "--image", "wardle:dev",
           "--ca-bundle", str(tmp_path / "certs" / "ca.crt"), "--replicas", "3",
           "--storage", "etcd", "--output-dir", str(tmp_path / "deploy"))
    lines = dry_run_lines(kubectl, "-k", str(tmp_path / "deploy"))
    for expected in ("secret/wardle-server-serving-cert created",
                     "poddisruptionbudget.policy/wardle-server created",
                     "statefulset.apps/wardle-server-etcd created",
                     "service/wardle-server-etcd created",
                     "deployment.apps/wardle-server created"):
        assert f"{expected} (server dry run)" in lines, lines


IDENTITY = ("serviceaccount.yaml", "clusterrole.yaml", "clusterrolebinding.yaml",
            "rolebinding.yaml")


def service_account_kubeconfig(cp: ControlPlane, path: Path) -> Path:
    """A kubeconfig with a token of the checked-in ServiceAccount (what a pod would have)."""
    token = cp.kubectl("create", "token", "wardle-server", "-n", "wardle",
                       "--duration=1h").stdout.strip()
    ca = base64.b64encode(cp.pki.crt("ca").read_bytes()).decode()
    path.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "sa",
        "clusters": [{"name": "c", "cluster": {"server": cp.server,
                                               "certificate-authority-data": ca}}],
        "users": [{"name": "sa", "user": {"token": token}}],
        "contexts": [{"name": "sa", "context": {"cluster": "c", "user": "sa"}}]}))
    return path


@pytest.fixture
def sample_by_aggapi_run(control_plane: ControlPlane, tmp_path: Path,
                         wardle_namespace: str) -> Iterator[tuple[int, Path]]:
    """The sample started by `aggapi run`, with the cert of `aggapi certs`, as the checked-in
    ServiceAccount with only the checked-in RBAC (applied for real)."""
    for name in IDENTITY:
        control_plane.kubectl("apply", "-f", str(DEPLOY / name))
    certs = tmp_path / "certs"
    aggapi("certs", "--service", "wardle-server", "--namespace", wardle_namespace,
           "--out", str(certs))
    port = free_port()
    kc = service_account_kubeconfig(control_plane, tmp_path / "sa.kubeconfig")
    process = ManagedProcess("aggapi-run", [
        AGGAPI, "run", SAMPLE, f"--secure-port={port}", "--bind-address=127.0.0.1",
        f"--tls-cert-file={certs / 'tls.crt'}", f"--tls-private-key-file={certs / 'tls.key'}",
        f"--kubeconfig={kc}", f"--authentication-kubeconfig={kc}",
        f"--authorization-kubeconfig={kc}"], tmp_path / "aggapi-run.log", cwd=ROOT,
        env={**os.environ, "NO_PROXY": NO_PROXY, "no_proxy": NO_PROXY})
    process.start()
    try:
        def accepts() -> bool:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return True

        wait_for("aggapi run listening", accepts, process, timeout=60)
        yield port, certs
    finally:
        control_plane.kubectl("delete", "apiservice", APISERVICE, "--ignore-not-found",
                              check=False)
        process.stop()
        for name in IDENTITY[1:]:
            control_plane.kubectl("delete", "-f", str(DEPLOY / name), "--ignore-not-found",
                                  check=False)


def eventually_ok(kubectl: object, *args: str, user: str, input: str | None = None,
                  timeout: float = 60) -> str:
    """The clusterrole-aggregation controller fills view/edit a moment after they exist."""
    deadline = time.monotonic() + timeout
    while True:
        res = kubectl(*args, user=user, input=input, check=False)  # type: ignore[operator]
        if res.returncode == 0:
            return str(res.stdout)
        if time.monotonic() > deadline:
            pytest.fail(f"kubectl {' '.join(args)} as {user}: {res.stderr}")
        time.sleep(1)


def test_local_variant_is_available_with_the_cert_of_aggapi_certs(
        sample_by_aggapi_run: tuple[int, Path], control_plane: ControlPlane,
        kubectl: object, namespace: str) -> None:
    port, certs = sample_by_aggapi_run
    stream = aggapi("manifests", SAMPLE, "--namespace", "wardle", "--image", "wardle:dev",
                    "--ca-bundle", str(certs / "ca.crt"), "--local-port", str(port))
    objects = [d for d in yaml.safe_load_all(stream) if d]
    routing = [o for o in objects if o["kind"] in ("Service", "APIService")]
    # one Service, one APIService per served version (v1beta1 preferred, v1alpha1 as upstream)
    assert [o["kind"] for o in routing] == ["Service", "APIService", "APIService"]
    assert routing[0]["spec"] == {"type": "ExternalName", "externalName": "localhost"}
    checked_in = {d["metadata"]["name"]: d for d in
                  yaml.safe_load_all((DEPLOY / "apiservice.yaml").read_text()) if d}
    assert sorted(checked_in) == sorted(o["metadata"]["name"] for o in routing[1:])
    for apiservice in routing[1:]:
        spec = dict(apiservice["spec"])
        assert spec.pop("caBundle")
        assert spec.pop("service") == {"name": "wardle-server", "namespace": "wardle",
                                       "port": port}
        expected = dict(checked_in[apiservice["metadata"]["name"]]["spec"])
        del expected["insecureSkipTLSVerify"], expected["service"]
        assert spec == expected  # the same registration as deploy/, routed to localhost
    for obj in routing:
        control_plane.apply(obj)
    wait_apiservice_available(control_plane.api_client(), APISERVICE, timeout=90)
    kubectl("create", "-n", namespace, "-f", str(ROOT / "examples/sample_apiserver/flunder.yaml"))
    got = json.loads(kubectl("get", "flunders", "-n", namespace, "-o", "json").stdout)
    assert [f["metadata"]["name"] for f in got["items"]] == ["my-first-flunder"]

    # the aggregated roles: view reads, only edit writes (our server asks kube-apiserver)
    for user, role in (("viewer", "view"), ("editor", "edit")):
        kubectl("create", "rolebinding", f"{user}-{role}", f"--clusterrole={role}",
                f"--user={user}", "-n", namespace)
    eventually_ok(kubectl, "get", "flunders", "-n", namespace, user="viewer")
    denied = kubectl("create", "-n", namespace, "-f", "-", user="viewer", check=False,
                     input=FLUNDER)
    assert denied.returncode != 0
    assert ('flunders.wardle.example.com is forbidden: User "viewer" cannot create resource '
            '"flunders" in API group "wardle.example.com"') in denied.stderr
    out = eventually_ok(kubectl, "create", "-n", namespace, "-f", "-", user="editor",
                        input=FLUNDER)
    assert "flunder.wardle.example.com/by-editor created" in out



@pytest.mark.parametrize("variant", ["default", "high-availability"])
def test_checked_in_metrics_server_deploy_passes_a_server_side_dry_run(
        variant: str, own_control_plane: ControlPlane) -> None:
    """The metrics server's deploy/ (what `aggapi manifests` writes, as upstream's
    components.yaml and its HA variant) is accepted object by object by kube-apiserver.
    On a control plane of its own: while the metrics tests run, the session's holds their
    v1beta1.metrics.k8s.io with a caBundle, and a dry run that sets insecureSkipTLSVerify
    over it is refused (both may not be set)."""
    deploy = ROOT / "examples" / "metrics_server" / "deploy" / variant
    lines = dry_run_lines(own_control_plane.kubectl, "-k", str(deploy))
    kustomization = yaml.safe_load((deploy / "kustomization.yaml").read_text())
    expected = sum(1 for f in kustomization["resources"]
                   for d in yaml.safe_load_all((deploy / f).read_text()) if d)
    assert len(lines) == expected, lines
    assert all(line.endswith("(server dry run)") for line in lines), lines
    assert any(line.startswith("deployment.apps/metrics-server ") for line in lines), lines
    assert any(line.startswith("apiservice.apiregistration.k8s.io/v1beta1.metrics.k8s.io ")
               for line in lines), lines
    if variant == "high-availability":
        assert any(line.startswith("poddisruptionbudget.policy/metrics-server ")
                   for line in lines), lines
