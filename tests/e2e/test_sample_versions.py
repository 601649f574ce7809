"""The complete sample through kube-apiserver with real kubectl, and the same checks against
upstream's Go sample-apiserver: BanFlunder, the v1beta1 view of a v1alpha1 object (get and
watch), NamespaceLifecycle (missing and terminating namespaces), namespace deletion by the
namespace controller, garbage collection by kube-controller-manager's garbage collector.

Each test runs once per server: ours, then upstream's (built from the Go module proxy, see
docs/versions.md) when its binary is there; every expectation is checked against both.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from k8s_aggapi.envtest.aggregated import AggregatedServer, start_aggregated_server
from k8s_aggapi.envtest.controlplane import ControlPlane

pytestmark = pytest.mark.e2e

GROUP_VERSIONS = "wardle.example.com/v1alpha1,v1beta1"
UPSTREAM_ENV = "AGGAPI_UPSTREAM_SAMPLE_APISERVER"
# kubectl prints the Warning both servers send for every v1alpha1 request (upstream's
# prerelease-lifecycle tags), then the error
DEPRECATED = ("Warning: wardle.example.com/v1alpha1 Flunder is deprecated in v1.3+, "
              "unavailable in v1.10+\n")
ALPHA = """\
apiVersion: wardle.example.com/v1alpha1
kind: Flunder
metadata:
  name: {name}
spec:
  reference: {reference}
"""


def upstream_binary() -> Path:
    """Upstream's sample-apiserver v0.34.4: $AGGAPI_UPSTREAM_SAMPLE_APISERVER, else built from
    the Go module proxy once and cached in ~/.cache/k8s-aggapi/bin (bench.gobuild)."""
    if os.environ.get(UPSTREAM_ENV):
        return Path(os.environ[UPSTREAM_ENV])
    from bench.gobuild import sample_apiserver_binary

    return sample_apiserver_binary()


@pytest.fixture(scope="module", params=["ours", "upstream"])
def wardle(request: pytest.FixtureRequest,
           control_plane: ControlPlane) -> Iterator[AggregatedServer]:
    if request.param == "ours":
        command = "python -m examples.sample_apiserver --v=3"
    else:
        binary = upstream_binary()
        command = (f"{binary} --etcd-servers=http://127.0.0.1:{control_plane.ports.etcd} "
                   f"--etcd-prefix=/wardle-upstream-{uuid.uuid4().hex[:6]}")
    server = start_aggregated_server(command, GROUP_VERSIONS, control_plane=control_plane,
                                     timeout=120)
    with server:
        yield server


def eventually(check: Any, timeout: float = 60.0, interval: float = 1.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            pytest.fail(f"condition not met within {timeout}s: {check}")
        time.sleep(interval)


def as_json(kubectl: Any, *args: str) -> dict[str, Any]:
    out: dict[str, Any] = json.loads(kubectl(*args, "-o", "json").stdout)
    return out


def create(kubectl: Any, namespace: str, text: str, *, check: bool = True
           ) -> subprocess.CompletedProcess[str]:
    result: subprocess.CompletedProcess[str] = kubectl(
        "create", "-n", namespace, "-f", "-", input=text, check=check)
    return result


def test_ban_flunder(wardle: AggregatedServer, kubectl: Any, namespace: str) -> None:
    banned = f"banned-{namespace}"
    fischer = ("apiVersion: wardle.example.com/v1alpha1\nkind: Fischer\nmetadata:\n"
               f"  name: {namespace}\ndisallowedFlunders: [{banned}]\n")
    kubectl("create", "-f", "-", input=fischer)
    try:
        expected = (f'{DEPRECATED}Error from server (Forbidden): error when creating "STDIN": '
                    f'flunders.wardle.example.com "{banned}" is forbidden: this name may not '
                    "be used, please change the resource name")

        def refused() -> bool:  # upstream's plugin reads Fischers from an informer
            result = create(kubectl, namespace, ALPHA.format(name=banned, reference="x"),
                            check=False)
            if result.returncode == 0:
                kubectl("delete", "flunder", banned, "-n", namespace)
                return False
            assert result.stderr.strip() == expected, result.stderr
            return True

        eventually(refused, 30)
        assert "NotFound" in kubectl("get", "flunder", banned, "-n", namespace,
                                     check=False).stderr
        create(kubectl, namespace, ALPHA.format(name="allowed", reference="x"))
    finally:
        kubectl("delete", "fischer", namespace, check=False)


def test_v1beta1_view_of_a_v1alpha1_object(wardle: AggregatedServer, kubectl: Any,
                                           namespace: str) -> None:
    create(kubectl, namespace, ALPHA.format(name="alpha", reference="other"))
    beta = as_json(kubectl, "get", "flunders.v1beta1.wardle.example.com", "alpha",
                   "-n", namespace)
    assert beta["apiVersion"] == "wardle.example.com/v1beta1"
    assert beta["spec"] == {"flunderReference": "other", "referenceType": "Flunder"}
    alpha = as_json(kubectl, "get", "flunders.v1alpha1.wardle.example.com", "alpha",
                    "-n", namespace)
    assert alpha["spec"] == {"reference": "other", "referenceType": "Flunder"}
    assert alpha["metadata"]["resourceVersion"] == beta["metadata"]["resourceVersion"]
    # and the other way: written in v1beta1, read in v1alpha1
    create(kubectl, namespace, "apiVersion: wardle.example.com/v1beta1\nkind: Flunder\n"
           "metadata:\n  name: beta\nspec:\n  fischerReference: fish\n"
           "  referenceType: Fischer\n")
    assert as_json(kubectl, "get", "flunders.v1alpha1.wardle.example.com", "beta",
                   "-n", namespace)["spec"] == {"reference": "fish", "referenceType": "Fischer"}
    # v1beta1 is the preferred version: a plain `kubectl get` shows it
    assert as_json(kubectl, "get", "flunder", "alpha", "-n", namespace)["apiVersion"] == (
        "wardle.example.com/v1beta1")


def test_v1beta1_watch_of_v1alpha1_writes(wardle: AggregatedServer, kubectl: Any,
                                          namespace: str) -> None:
    create(kubectl, namespace, ALPHA.format(name="before", reference="a"))
    rv = as_json(kubectl, "get", "flunders.v1alpha1.wardle.example.com", "before",
                 "-n", namespace)["metadata"]["resourceVersion"]
    create(kubectl, namespace, ALPHA.format(name="after", reference="b"))
    out = kubectl("get", "--raw", f"/apis/wardle.example.com/v1beta1/namespaces/{namespace}"
                  f"/flunders?watch=1&resourceVersion={rv}&timeoutSeconds=3").stdout
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [(e["type"], e["object"]["metadata"]["name"]) for e in events] == [
        ("ADDED", "after")]
    assert events[0]["object"]["apiVersion"] == "wardle.example.com/v1beta1"
    assert events[0]["object"]["spec"] == {"flunderReference": "b", "referenceType": "Flunder"}


def test_no_create_in_a_missing_namespace(wardle: AggregatedServer, kubectl: Any) -> None:
    missing = f"missing-{uuid.uuid4().hex[:6]}"
    result = create(kubectl, missing, ALPHA.format(name="f", reference="x"), check=False)
    assert result.returncode != 0
    assert result.stderr.strip() == (
        f'{DEPRECATED}Error from server (NotFound): error when creating "STDIN": namespaces '
        f'"{missing}" not found')


def test_no_create_in_a_terminating_namespace(wardle: AggregatedServer, kubectl: Any) -> None:
    ns = f"ending-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", ns)
    # a ConfigMap with a finalizer holds the namespace in Terminating while we try
    kubectl("create", "-n", ns, "-f", "-", input=(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: hold\n"
        "  finalizers: [example.com/hold]\n"))
    try:
        kubectl("delete", "namespace", ns, "--wait=false")
        eventually(lambda: as_json(kubectl, "get", "namespace", ns)["status"]["phase"]
                   == "Terminating", 30)
        expected = (f'{DEPRECATED}Error from server (Forbidden): error when creating "STDIN": '
                    f'flunders.wardle.example.com "late" is forbidden: unable to create new '
                    f"content in namespace {ns} because it is being terminated")

        def refused() -> bool:  # both follow namespaces through an informer
            result = create(kubectl, ns, ALPHA.format(name="late", reference="x"), check=False)
            return result.returncode != 0 and result.stderr.strip() == expected

        eventually(refused, 30)
    finally:
        kubectl("patch", "configmap", "hold", "-n", ns, "--type=merge",
                "-p", '{"metadata":{"finalizers":null}}', check=False)
        kubectl("wait", "--for=delete", f"namespace/{ns}", "--timeout=120s", check=False)


def test_namespace_deletion_removes_the_samples_objects(wardle: AggregatedServer,
                                                        kubectl: Any) -> None:
    ns = f"doomed-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", ns)
    create(kubectl, ns, ALPHA.format(name="a", reference="x"))
    create(kubectl, ns, "apiVersion: wardle.example.com/v1beta1\nkind: Flunder\n"
           "metadata:\n  name: b\n")
    kubectl("delete", "namespace", ns, "--wait=false")
    # the namespace controller lists and deletes them through our API, then the namespace goes
    kubectl("wait", "--for=delete", f"namespace/{ns}", "--timeout=120s")
    kubectl("create", "namespace", ns)  # a new namespace of that name starts empty
    try:
        for version in ("v1alpha1", "v1beta1"):
            listed = as_json(kubectl, "get", f"flunders.{version}.wardle.example.com", "-n", ns)
            assert listed["items"] == []
    finally:
        kubectl("delete", "namespace", ns, "--wait=false", check=False)


def test_garbage_collector_removes_dependents(wardle: AggregatedServer, kubectl: Any,
                                              namespace: str) -> None:
    kubectl("create", "configmap", "owner", "-n", namespace)
    uid = as_json(kubectl, "get", "configmap", "owner", "-n", namespace)["metadata"]["uid"]

    def owned(name: str, owner: str, owner_uid: str) -> str:
        return (f"apiVersion: wardle.example.com/v1alpha1\nkind: Flunder\nmetadata:\n"
                f"  name: {name}\n  ownerReferences:\n  - apiVersion: v1\n    kind: ConfigMap\n"
                f"    name: {owner}\n    uid: {owner_uid}\n")

    create(kubectl, namespace, owned("dependent", "owner", uid))
    create(kubectl, namespace, owned("orphan", "ghost", str(uuid.uuid4())))  # owner never was
    create(kubectl, namespace, ALPHA.format(name="unowned", reference="x"))
    kubectl("delete", "configmap", "owner", "-n", namespace)

    def collected() -> bool:
        names = {i["metadata"]["name"] for i in as_json(
            kubectl, "get", "flunders", "-n", namespace)["items"]}
        assert "unowned" in names
        return names == {"unowned"}

    # the garbage collector finds new resources by discovery (every 30s), then deletes
    eventually(collected, 150, 2)


def _owned_by(name: str, owner: dict[str, Any], *, finalizers: str = "") -> str:
    meta = owner["metadata"]
    return (f"apiVersion: wardle.example.com/v1alpha1\nkind: Flunder\nmetadata:\n"
            f"  name: {name}\n{finalizers}  ownerReferences:\n"
            "  - apiVersion: wardle.example.com/v1alpha1\n    kind: Flunder\n"
            f"    name: {meta['name']}\n    uid: {meta['uid']}\n    blockOwnerDeletion: true\n")


def _names(kubectl: Any, namespace: str) -> set[str]:
    return {i["metadata"]["name"] for i in as_json(
        kubectl, "get", "flunders.v1alpha1.wardle.example.com", "-n", namespace)["items"]}


def test_cascade_orphan_keeps_the_dependents(wardle: AggregatedServer, kubectl: Any,
                                             namespace: str) -> None:
    flunder = ("flunders.v1alpha1.wardle.example.com",)
    create(kubectl, namespace, "apiVersion: wardle.example.com/v1alpha1\nkind: Flunder\n"
           "metadata:\n  name: owner\n  finalizers: [example.com/hold]\n")
    owner = as_json(kubectl, "get", *flunder, "owner", "-n", namespace)
    create(kubectl, namespace, _owned_by("kept", owner))
    kubectl("delete", *flunder, "owner", "-n", namespace, "--cascade=orphan", "--wait=false")

    def orphaned() -> bool:
        # the server marked the owner with the orphan finalizer; the collector drops the
        # dependent's reference, then that finalizer (our hold keeps the owner to look at)
        meta = as_json(kubectl, "get", *flunder, "owner", "-n", namespace)["metadata"]
        assert meta["deletionTimestamp"]
        return bool(meta["finalizers"] == ["example.com/hold"])

    eventually(orphaned, 150, 2)
    kept = as_json(kubectl, "get", *flunder, "kept", "-n", namespace)["metadata"]
    assert not kept.get("ownerReferences") and not kept.get("deletionTimestamp")
    kubectl("patch", *flunder, "owner", "-n", namespace, "--type=merge",
            "-p", '{"metadata":{"finalizers":null}}')
    eventually(lambda: _names(kubectl, namespace) == {"kept"}, 60, 1)


def test_cascade_foreground_removes_the_owner_after_its_dependents(
        wardle: AggregatedServer, kubectl: Any, namespace: str) -> None:
    create(kubectl, namespace, ALPHA.format(name="owner", reference="x"))
    owner = as_json(kubectl, "get", "flunders.v1alpha1.wardle.example.com", "owner",
                    "-n", namespace)
    hold = "  finalizers: [example.com/hold]\n"
    create(kubectl, namespace, _owned_by("held", owner, finalizers=hold))
    create(kubectl, namespace, _owned_by("free", owner))
    kubectl("delete", "flunders.v1alpha1.wardle.example.com", "owner", "-n", namespace,
            "--cascade=foreground", "--wait=false")
    flunder = ("flunders.v1alpha1.wardle.example.com",)

    def dependents_deleting() -> bool:
        names = _names(kubectl, namespace)
        assert "owner" in names  # a dependent remains, so the owner does too
        if "free" in names:
            return False
        meta = as_json(kubectl, "get", *flunder, "held", "-n", namespace)["metadata"]
        return bool(meta.get("deletionTimestamp"))

    eventually(dependents_deleting, 150, 2)
    meta = as_json(kubectl, "get", *flunder, "owner", "-n", namespace)["metadata"]
    assert meta["finalizers"] == ["foregroundDeletion"] and meta["deletionTimestamp"]
    kubectl("patch", *flunder, "held", "-n", namespace, "--type=merge",
            "-p", '{"metadata":{"finalizers":null}}')
    eventually(lambda: _names(kubectl, namespace) == set(), 150, 2)
