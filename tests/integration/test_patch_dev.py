"""Patching and apply in dev mode, driven by the real (Go-built) kubectl against our server
directly: kubectl's openapi download for an unknown kind, strategic merge patch, server-side
apply by two managers, client-side apply."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration.test_sample_dev import DevServer, dev_server, kubectl

pytestmark = pytest.mark.integration

# the plural in v1alpha1: the sample also serves Flunder, preferred, in v1beta1 (other fields)
FLUNDERS = "flunders.v1alpha1.wardle.example.com"
UNKNOWN = "apiVersion: nope.example.com/v1\nkind: Nope\nmetadata: {name: nope}\n"
FLUNDER = """\
apiVersion: wardle.example.com/v1alpha1
kind: Flunder
metadata:
  name: {name}
  labels: {{app: x}}
spec:
  reference: {reference}
"""


@pytest.fixture(scope="module")
def kubectl_bin() -> Path:
    from k8s_aggapi.envtest import ensure_binaries
    return ensure_binaries(["kubectl"])["kubectl"]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    with dev_server(tmp_path_factory.mktemp("patch-dev")) as dev:
        yield dev


def get(kubectl_bin: Path, server: DevServer, name: str) -> dict:
    return dict(json.loads(kubectl(kubectl_bin, server, "get", FLUNDERS, name, "-o", "json",
                                   "--show-managed-fields").stdout))


def test_an_unknown_kind_is_no_matches_for_kind(kubectl_bin: Path, server: DevServer) -> None:
    for verb in ("create", "apply"):
        result = kubectl(kubectl_bin, server, verb, "-f", "-", stdin=UNKNOWN, check=False)
        assert result.returncode != 0
        assert "failed to download openapi" not in result.stderr, result.stderr
        assert 'no matches for kind "Nope" in version "nope.example.com/v1"' in result.stderr, (
            result.stderr)


def test_server_side_apply_by_two_managers(kubectl_bin: Path, server: DevServer) -> None:
    alice = FLUNDER.format(name="ssa", reference="alice")
    out = kubectl(kubectl_bin, server, "apply", "--server-side", "--field-manager=alice",
                  "-f", "-", stdin=alice)
    assert "flunder.wardle.example.com/ssa serverside-applied" in out.stdout
    bob = FLUNDER.format(name="ssa", reference="bob")
    refused = kubectl(kubectl_bin, server, "apply", "--server-side", "--field-manager=bob",
                      "-f", "-", stdin=bob, check=False)
    assert refused.returncode != 0
    assert 'conflict with "alice": .spec.reference' in refused.stderr, refused.stderr
    kubectl(kubectl_bin, server, "apply", "--server-side", "--field-manager=bob",
            "--force-conflicts", "-f", "-", stdin=bob)
    obj = get(kubectl_bin, server, "ssa")
    assert obj["spec"]["reference"] == "bob"
    owners = {e["manager"]: e for e in obj["metadata"]["managedFields"]}
    assert owners["bob"]["operation"] == "Apply"
    assert owners["bob"]["fieldsV1"]["f:spec"] == {"f:reference": {}}
    assert "f:spec" not in owners["alice"]["fieldsV1"]


def test_client_side_apply_then_server_side_apply(kubectl_bin: Path, server: DevServer) -> None:
    first = FLUNDER.format(name="csa", reference="one")
    kubectl(kubectl_bin, server, "apply", "-f", "-", stdin=first)
    second = FLUNDER.format(name="csa", reference="two").replace("{app: x}", "{app: second}")
    kubectl(kubectl_bin, server, "apply", "-f", "-", stdin=second)
    obj = get(kubectl_bin, server, "csa")
    assert obj["spec"]["reference"] == "two" and obj["metadata"]["labels"] == {"app": "second"}
    assert {e["manager"] for e in obj["metadata"]["managedFields"]} == {
        "kubectl-client-side-apply"}
    third = FLUNDER.format(name="csa", reference="three").replace("{app: x}", "{app: second}")
    refused = kubectl(kubectl_bin, server, "apply", "--server-side", "-f", "-", stdin=third,
                      check=False)
    assert refused.returncode != 0
    assert ('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using '
            "wardle.example.com/v1alpha1: .spec.reference") in refused.stderr, refused.stderr
    kubectl(kubectl_bin, server, "apply", "--server-side", "--force-conflicts", "-f", "-",
            stdin=third)
    obj = get(kubectl_bin, server, "csa")
    assert obj["spec"]["reference"] == "three"
    owners = {e["manager"]: e for e in obj["metadata"]["managedFields"]}
    assert owners["kubectl"]["operation"] == "Apply"
    assert "f:reference" in owners["kubectl"]["fieldsV1"]["f:spec"]


def test_patch_types(kubectl_bin: Path, server: DevServer) -> None:
    kubectl(kubectl_bin, server, "create", "-f", "-", stdin=FLUNDER.format(name="p", reference="r"))
    kubectl(kubectl_bin, server, "patch", FLUNDERS, "p", "-p",
            '{"metadata":{"finalizers":["example.com/a"]},"spec":{"reference":"s"}}')
    kubectl(kubectl_bin, server, "patch", FLUNDERS, "p", "--type=strategic", "-p",
            '{"metadata":{"finalizers":["example.com/b"]}}')
    obj = get(kubectl_bin, server, "p")
    assert obj["metadata"]["finalizers"] == ["example.com/a", "example.com/b"]
    assert obj["spec"]["reference"] == "s"
    kubectl(kubectl_bin, server, "patch", FLUNDERS, "p", "--type=merge", "-p",
            '{"metadata":{"finalizers":null}}')
    kubectl(kubectl_bin, server, "patch", FLUNDERS, "p", "--type=json", "-p",
            '[{"op":"replace","path":"/spec/reference","value":"j"}]')
    obj = get(kubectl_bin, server, "p")
    assert "finalizers" not in obj["metadata"] and obj["spec"]["reference"] == "j"
    assert "kubectl-patch" in {e["manager"] for e in obj["metadata"]["managedFields"]}


def test_kubectl_replace_keeps_what_it_sends(kubectl_bin: Path, server: DevServer) -> None:
    kubectl(kubectl_bin, server, "create", "-f", "-", stdin=FLUNDER.format(name="r", reference="a"))
    obj = get(kubectl_bin, server, "r")
    obj["spec"]["reference"] = "b"
    kubectl(kubectl_bin, server, "replace", "-f", "-", stdin=json.dumps(obj))
    after = get(kubectl_bin, server, "r")
    assert after["spec"]["reference"] == "b"
    owners = {e["manager"]: e["fieldsV1"] for e in after["metadata"]["managedFields"]}
    assert owners["kubectl-replace"] == {"f:spec": {"f:reference": {}}}
    assert "f:reference" not in owners["kubectl-create"].get("f:spec", {})


def test_diff_and_server_dry_run_change_nothing(kubectl_bin: Path, server: DevServer) -> None:
    kubectl(kubectl_bin, server, "apply", "-f", "-", stdin=FLUNDER.format(name="d", reference="a"))
    before = get(kubectl_bin, server, "d")
    changed = FLUNDER.format(name="d", reference="b")
    diff = kubectl(kubectl_bin, server, "diff", "-f", "-", stdin=changed, check=False)
    assert diff.returncode == 1, diff.stderr  # 1: there are differences
    assert "-  reference: a" in diff.stdout and "+  reference: b" in diff.stdout
    for flags in (["--server-side", "--force-conflicts"], []):
        kubectl(kubectl_bin, server, "apply", *flags, "--dry-run=server", "-f", "-",
                stdin=changed)
    after = get(kubectl_bin, server, "d")
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert after["spec"]["reference"] == "a"
