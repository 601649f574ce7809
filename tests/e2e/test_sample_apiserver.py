"""The sample (wardle.example.com) behind the real kube-apiserver aggregator, used with kubectl.

Runs the sample as its own process, registered by an APIService with a real caBundle; every
check goes through kube-apiserver unless it says "straight to our server".
"""

from __future__ import annotations

import contextlib
import itertools
import json
import queue
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from k8s_aggapi.envtest import spawn
from k8s_aggapi.envtest.aggregated import AggregatedServer, start_aggregated_server
from k8s_aggapi.envtest.controlplane import ControlPlane
from k8s_aggapi.serving.certs import new_cert

pytestmark = pytest.mark.e2e

GV = "/apis/wardle.example.com/v1alpha1"
FLUNDER = """\
apiVersion: wardle.example.com/v1alpha1
kind: Flunder
metadata:
  name: {name}
  labels:
    sample-label: "true"
spec:
  reference: other
"""


@pytest.fixture(scope="module")
def wardle(control_plane: ControlPlane) -> Iterator[AggregatedServer]:
    server = start_aggregated_server(
        "python -m examples.sample_apiserver --v=3", "wardle.example.com/v1alpha1,v1beta1",
        control_plane=control_plane, timeout=90, wait_openapi=True,
    )
    with server:
        yield server


def straight(server: AggregatedServer, cp: ControlPlane, path: str, *,
             cert: tuple[Path, Path] | None = None,
             headers: dict[str, str] | None = None) -> tuple[int, dict[str, Any]]:
    """A request straight to our server (not through kube-apiserver)."""
    ctx = ssl.create_default_context(cafile=str(cp.pki.crt("ca")))
    if cert:
        ctx.load_cert_chain(*cert)
    req = urllib.request.Request(f"https://127.0.0.1:{server.port}{path}", headers=headers or {})
    try:
        with urllib.request.urlopen(req, context=ctx, timeout=15) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def client_cert(cp: ControlPlane, tmp: Path, user: str, *groups: str) -> tuple[Path, Path]:
    pair = new_cert(cp.pki.ca, user, organizations=groups, client=True)
    crt, key = tmp / f"{user}.crt", tmp / f"{user}.key"
    pair.write(crt, key)
    return crt, key


def eventually(check: Any, timeout: float = 30.0, interval: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            result = check()
            if result:
                return result
        except AssertionError:
            if time.monotonic() > deadline:
                raise
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s")
        time.sleep(interval)


def test_registered_and_discovered(wardle: AggregatedServer, kubectl: Any) -> None:
    conditions = json.loads(kubectl(
        "get", "apiservice", "v1alpha1.wardle.example.com", "-o", "json").stdout)["status"]
    available = next(c for c in conditions["conditions"] if c["type"] == "Available")
    assert available["status"] == "True"
    resources = kubectl("api-resources", "--api-group=wardle.example.com", "-o", "wide").stdout
    assert "flunders" in resources
    assert "fischers" in resources
    raw = json.loads(kubectl("get", "--raw", GV).stdout)
    assert raw["kind"] == "APIResourceList"
    assert {r["name"] for r in raw["resources"]} == {"flunders", "fischers"}


def test_kubectl_through_the_aggregator(wardle: AggregatedServer, kubectl: Any,
                                        namespace: str) -> None:
    out = kubectl("create", "-n", namespace, "-f", "-", input=FLUNDER.format(name="first"))
    assert "flunder.wardle.example.com/first created" in out.stdout
    assert kubectl("get", "flunder", "first", "-n", namespace).stdout.split()[:3] == [
        "NAME", "CREATED", "AT"]
    assert "first" in kubectl("get", "flunders", "-n", namespace, "-o", "wide").stdout
    as_yaml = kubectl("get", "flunder", "first", "-n", namespace, "-o", "yaml").stdout
    assert "referenceType: Flunder" in as_yaml
    everywhere = kubectl("get", "flunders", "-A").stdout
    assert namespace in everywhere
    assert "first" in everywhere
    explained = kubectl("explain", "flunder").stdout
    assert "KIND:       Flunder" in explained
    assert "spec" in explained
    assert "reference" in kubectl("explain", "flunder.spec").stdout
    invalid = kubectl("create", "-n", namespace, "-f", "-", check=False,
                      input=FLUNDER.format(name="bad").replace("reference: other",
                                                               "referenceType: Nope"))
    assert 'spec.referenceType: Invalid value: "Nope": must be Flunder or Fischer' in (
        invalid.stderr)
    kubectl("delete", "flunder", "first", "-n", namespace)
    assert "NotFound" in kubectl("get", "flunder", "first", "-n", namespace,
                                 check=False).stderr


def test_watch_sees_another_clients_create(wardle: AggregatedServer, control_plane: ControlPlane,
                                          kubectl: Any, namespace: str) -> None:
    """`kubectl get -w --watch-only` prints only events after the revision of its own list, so
    what it shows can only have come through the watch, never from the initial list."""
    kubectl("create", "-n", namespace, "-f", "-", input=FLUNDER.format(name="before"))
    argv = [str(control_plane.binaries["kubectl"]), f"--kubeconfig={control_plane.admin_kubeconfig}",
            "get", "flunders", "-n", namespace, "--watch-only", "--output-watch-events",
            "-o", "custom-columns=EVENT:.type,NAME:.object.metadata.name", "--no-headers",
            "--request-timeout=120s"]
    watcher = spawn(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()
    assert watcher.stdout is not None

    def read(out: Any) -> None:
        for line in out:
            lines.put(line)

    threading.Thread(target=read, args=(watcher.stdout,), daemon=True).start()
    try:
        seen: list[str] = []
        deadline = time.monotonic() + 90
        for i in itertools.count():  # until the watch is up: each round is a new create
            assert time.monotonic() < deadline, f"no watch event; printed {seen}"
            kubectl("create", "-n", namespace, "-f", "-", input=FLUNDER.format(name=f"w{i}"))
            with contextlib.suppress(queue.Empty):
                while True:
                    seen.append(lines.get(timeout=3).split()[-1])
            if any(name.startswith("w") for name in seen):
                break
        assert "before" not in seen  # made before the watch's revision: never an event
        first = min(int(name[1:]) for name in seen if name.startswith("w"))
        assert [n for n in seen if n.startswith("w")] == [f"w{j}" for j in range(first, i + 1)]
    finally:
        watcher.kill()
        watcher.communicate()


def test_delegated_authorization(wardle: AggregatedServer, control_plane: ControlPlane,
                                 kubectl: Any, namespace: str, tmp_path: Path) -> None:
    alice = client_cert(control_plane, tmp_path, "alice")
    path = f"{GV}/namespaces/{namespace}/flunders"
    code, status = straight(wardle, control_plane, path, cert=alice)
    assert code == 403
    assert status["message"] == (
        f'flunders.wardle.example.com is forbidden: User "alice" cannot list resource '
        f'"flunders" in API group "wardle.example.com" in the namespace "{namespace}"')
    assert kubectl("auth", "can-i", "list", "flunders.wardle.example.com", "-n", namespace,
                   "--as", "alice", check=False).stdout.strip() == "no"
    through = kubectl("get", "flunders", "-n", namespace, user="alice", check=False)
    assert "forbidden" in through.stderr
    kubectl("create", "role", "flunder-reader", "-n", namespace, "--verb=get,list,watch",
            "--resource=flunders.wardle.example.com")
    kubectl("create", "rolebinding", "alice-reads", "-n", namespace, "--role=flunder-reader",
            "--user=alice")
    assert kubectl("auth", "can-i", "list", "flunders.wardle.example.com", "-n", namespace,
                   "--as", "alice").stdout.strip() == "yes"
    # the denial is cached for --authorization-webhook-cache-unauthorized-ttl (10s)
    eventually(lambda: straight(wardle, control_plane, path, cert=alice)[0] == 200, 40)
    assert "No resources found" in kubectl("get", "flunders", "-n", namespace,
                                           user="alice").stderr


def test_delegated_authentication(wardle: AggregatedServer, control_plane: ControlPlane,
                                  kubectl: Any, namespace: str, tmp_path: Path) -> None:
    token = kubectl("create", "token", "default", "-n", namespace).stdout.strip()
    path = f"{GV}/namespaces/{namespace}/flunders"
    code, status = straight(wardle, control_plane, path,
                            headers={"Authorization": f"Bearer {token}"})
    assert code == 403
    assert f'User "system:serviceaccount:{namespace}:default"' in status["message"]
    code, status = straight(wardle, control_plane, path,
                            headers={"Authorization": "Bearer not-a-real-token"})
    assert code == 401
    assert status["reason"] == "Unauthorized"
    # identity headers on a connection whose certificate is not the front proxy's
    mallory = client_cert(control_plane, tmp_path, "mallory")
    code, status = straight(wardle, control_plane, path, cert=mallory, headers={
        "X-Remote-User": "system:admin", "X-Remote-Group": "system:masters"})
    assert code == 403
    assert 'User "mallory"' in status["message"]


def test_aggregator_forwards_user_and_groups(wardle: AggregatedServer,
                                             control_plane: ControlPlane, kubectl: Any,
                                             namespace: str) -> None:
    kubectl("create", "clusterrole", "flunder-lister", "--verb=list",
            "--resource=flunders.wardle.example.com")
    kubectl("create", "clusterrolebinding", "devs-list-flunders",
            "--clusterrole=flunder-lister", "--group=devs")
    try:
        control_plane.user_kubeconfig("erin", ["devs"])
        kubectl("get", "flunders", "-n", namespace, user="erin")

        def logged() -> bool:
            text = wardle.log_path.read_text()
            return any('user="erin"' in line and "'devs'" in line
                       and "'system:authenticated'" in line and namespace in line
                       for line in text.splitlines())

        eventually(logged, 10, 0.5)
    finally:
        kubectl("delete", "clusterrolebinding", "devs-list-flunders", check=False)
        kubectl("delete", "clusterrole", "flunder-lister", check=False)


def test_namespace_with_flunders_is_deleted(wardle: AggregatedServer, kubectl: Any) -> None:
    kubectl("create", "namespace", "doomed")
    for name in ("a", "b"):
        kubectl("create", "-n", "doomed", "-f", "-", input=FLUNDER.format(name=name))
    kubectl("delete", "namespace", "doomed", "--wait=false")
    kubectl("wait", "--for=delete", "namespace/doomed", "--timeout=120s")
    assert "No resources found" in kubectl("get", "flunders", "-n", "doomed").stderr


def test_name_scoped_rbac_watch_sees_only_that_name(wardle: AggregatedServer, kubectl: Any,
                                                    namespace: str) -> None:
    """RBAC `resourceNames: [fuzz-a]` lets alice watch fuzz-a by each URL form; events of
    fuzz-b, made after the watched revision, never reach her (issue 6's bypass)."""
    kubectl("create", "role", "fuzz-a-reader", "-n", namespace, "--verb=get,list,watch",
            "--resource=flunders.wardle.example.com", "--resource-name=fuzz-a")
    kubectl("create", "rolebinding", "alice-fuzz-a", "-n", namespace, "--role=fuzz-a-reader",
            "--user=alice")
    kubectl("create", "-n", namespace, "-f", "-", input=FLUNDER.format(name="fuzz-a"))
    eventually(lambda: kubectl("get", "flunder", "fuzz-a", "-n", namespace, user="alice",
                               check=False).returncode == 0, 40)
    denied = kubectl("get", "--raw", f"{GV}/namespaces/{namespace}/flunders/fuzz-b",
                     user="alice", check=False)
    assert "forbidden" in denied.stderr.lower()
    forms = [f"{GV}/watch/namespaces/{namespace}/flunders/fuzz-a?",
             f"{GV}/namespaces/{namespace}/flunders?watch=1&fieldSelector=metadata.name%3Dfuzz-a&"]
    for i, form in enumerate(forms):
        rv = json.loads(kubectl("get", "flunder", "fuzz-a", "-n", namespace, "-o", "json")
                        .stdout)["metadata"]["resourceVersion"]
        kubectl("create", "-n", namespace, "-f", "-", input=FLUNDER.format(name=f"fuzz-b{i}"))
        kubectl("label", "flunder", "fuzz-a", "-n", namespace, f"round={i}", "--overwrite")
        out = kubectl("get", "--raw", f"{form}resourceVersion={rv}&timeoutSeconds=5",
                      user="alice").stdout
        assert_only_fuzz_a(out)


def assert_only_fuzz_a(out: str) -> None:
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    seen = {(e["type"], e["object"]["metadata"]["name"]) for e in events}
    assert ("MODIFIED", "fuzz-a") in seen, out
    assert {name for _, name in seen} == {"fuzz-a"}, out


def test_name_scoped_rbac_watch_of_a_cluster_scoped_kind(wardle: AggregatedServer,
                                                         kubectl: Any) -> None:
    """The same for fischers (cluster-scoped) through `/watch/fischers/fuzz-a`."""
    kubectl("create", "clusterrole", "fischer-fuzz-a-reader", "--verb=get,list,watch",
            "--resource=fischers.wardle.example.com", "--resource-name=fuzz-a")
    kubectl("create", "clusterrolebinding", "bob-fischer-fuzz-a",
            "--clusterrole=fischer-fuzz-a-reader", "--user=bob")
    fischer = "apiVersion: wardle.example.com/v1alpha1\nkind: Fischer\nmetadata:\n  name: {}\n"
    try:
        kubectl("create", "-f", "-", input=fischer.format("fuzz-a"))
        eventually(lambda: kubectl("get", "--raw", f"{GV}/fischers/fuzz-a", user="bob",
                                   check=False).returncode == 0, 40)
        rv = json.loads(kubectl("get", "--raw", f"{GV}/fischers/fuzz-a").stdout)[
            "metadata"]["resourceVersion"]
        kubectl("create", "-f", "-", input=fischer.format("fuzz-b"))
        kubectl("label", "fischers.wardle.example.com", "fuzz-a", "round=1", "--overwrite")
        assert "forbidden" in kubectl("get", "--raw", f"{GV}/fischers/fuzz-b", user="bob",
                                      check=False).stderr.lower()
        out = kubectl("get", "--raw", f"{GV}/watch/fischers/fuzz-a?resourceVersion={rv}"
                      "&timeoutSeconds=5", user="bob").stdout
        assert_only_fuzz_a(out)
    finally:
        kubectl("delete", "fischers.wardle.example.com", "fuzz-a", "fuzz-b",
                "--ignore-not-found", check=False)
