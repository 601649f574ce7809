"""Patching and server-side apply of the sample through the real kube-apiserver aggregator,
with the real kubectl: `apply --server-side` by two managers (a conflict, then
`--force-conflicts`), client-side `apply` then a server-side apply over it, `patch --type
strategic|merge|json` and `replace`, each checked in the stored object's managedFields."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.e2e.test_sample_apiserver import wardle

pytestmark = pytest.mark.e2e
__all__ = ["wardle"]  # the module's sample server, behind kube-apiserver

FLUNDER = """\
apiVersion: wardle.example.com/v1alpha1
kind: Flunder
metadata:
  name: {name}
  labels: {{app: {app}}}
spec:
  reference: {reference}
"""


def flunder(name: str, reference: str, app: str = "first") -> str:
    return FLUNDER.format(name=name, reference=reference, app=app)


def get(kubectl: Any, namespace: str, name: str) -> dict[str, Any]:
    out = kubectl("get", "flunders.v1alpha1.wardle.example.com", name, "-n", namespace, "-o", "json", "--show-managed-fields")
    return dict(json.loads(out.stdout))


def owners(obj: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["manager"]: e for e in obj["metadata"]["managedFields"]}


def test_server_side_apply_by_two_managers(wardle: Any, kubectl: Any, namespace: str) -> None:
    out = kubectl("apply", "--server-side", "--field-manager=alice", "-n", namespace, "-f", "-",
                  input=flunder("ssa", "alice"))
    assert "flunder.wardle.example.com/ssa serverside-applied" in out.stdout
    refused = kubectl("apply", "--server-side", "--field-manager=bob", "-n", namespace,
                      "-f", "-", input=flunder("ssa", "bob"), check=False)
    assert refused.returncode != 0
    assert ('Apply failed with 1 conflict: conflict with "alice": .spec.reference'
            in refused.stderr), refused.stderr
    assert get(kubectl, namespace, "ssa")["spec"]["reference"] == "alice"
    kubectl("apply", "--server-side", "--field-manager=bob", "--force-conflicts",
            "-n", namespace, "-f", "-", input=flunder("ssa", "bob"))
    obj = get(kubectl, namespace, "ssa")
    assert obj["spec"]["reference"] == "bob"
    managers = owners(obj)
    assert managers["bob"]["operation"] == "Apply"
    assert managers["bob"]["apiVersion"] == "wardle.example.com/v1alpha1"
    assert managers["bob"]["fieldsV1"]["f:spec"] == {"f:reference": {}}
    assert managers["alice"]["fieldsV1"] == {"f:metadata": {"f:labels": {"f:app": {}}}}
    # the label has two owners (same value): it stays while one of them still applies it
    bare = "apiVersion: wardle.example.com/v1alpha1\nkind: Flunder\nmetadata: {name: ssa}\n"
    kubectl("apply", "--server-side", "--field-manager=alice", "-n", namespace, "-f", "-",
            input=bare)
    obj = get(kubectl, namespace, "ssa")
    assert obj["metadata"]["labels"] == {"app": "first"} and "alice" not in owners(obj)
    kubectl("apply", "--server-side", "--field-manager=bob", "-n", namespace, "-f", "-",
            input=bare + "spec: {reference: bob}\n")
    obj = get(kubectl, namespace, "ssa")
    assert "labels" not in obj["metadata"] and obj["spec"]["reference"] == "bob"


def test_client_side_apply_then_server_side_apply(wardle: Any, kubectl: Any,
                                                   namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-", input=flunder("csa", "one"))
    kubectl("apply", "-n", namespace, "-f", "-", input=flunder("csa", "two", app="second"))
    obj = get(kubectl, namespace, "csa")
    assert obj["spec"]["reference"] == "two" and obj["metadata"]["labels"] == {"app": "second"}
    assert set(owners(obj)) == {"kubectl-client-side-apply"}
    refused = kubectl("apply", "--server-side", "-n", namespace, "-f", "-", check=False,
                      input=flunder("csa", "three", app="second"))
    assert refused.returncode != 0
    assert ('Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using '
            "wardle.example.com/v1alpha1: .spec.reference") in refused.stderr, refused.stderr
    kubectl("apply", "--server-side", "--force-conflicts", "-n", namespace, "-f", "-",
            input=flunder("csa", "three", app="second"))
    obj = get(kubectl, namespace, "csa")
    assert obj["spec"]["reference"] == "three"
    assert owners(obj)["kubectl"]["operation"] == "Apply"


def test_patch_types_and_replace(wardle: Any, kubectl: Any, namespace: str) -> None:
    kubectl("create", "-n", namespace, "-f", "-", input=flunder("p", "r"))
    kubectl("patch", "flunders.v1alpha1.wardle.example.com", "p", "-n", namespace, "-p",
            '{"metadata":{"finalizers":["example.com/a"]},"spec":{"reference":"s"}}')
    kubectl("patch", "flunders.v1alpha1.wardle.example.com", "p", "-n", namespace, "--type=strategic", "-p",
            '{"metadata":{"finalizers":["example.com/b"]}}')
    obj = get(kubectl, namespace, "p")
    assert obj["metadata"]["finalizers"] == ["example.com/a", "example.com/b"]
    kubectl("patch", "flunders.v1alpha1.wardle.example.com", "p", "-n", namespace, "--type=strategic", "-p",
            '{"metadata":{"$deleteFromPrimitiveList/finalizers":["example.com/a"]}}')
    assert get(kubectl, namespace, "p")["metadata"]["finalizers"] == ["example.com/b"]
    kubectl("patch", "flunders.v1alpha1.wardle.example.com", "p", "-n", namespace, "--type=merge", "-p",
            '{"metadata":{"finalizers":null}}')
    kubectl("patch", "flunders.v1alpha1.wardle.example.com", "p", "-n", namespace, "--type=json", "-p",
            '[{"op":"replace","path":"/spec/reference","value":"j"}]')
    obj = get(kubectl, namespace, "p")
    assert "finalizers" not in obj["metadata"] and obj["spec"]["reference"] == "j"
    assert owners(obj)["kubectl-patch"]["fieldsV1"]["f:spec"] == {"f:reference": {}}
    obj["spec"]["reference"] = "replaced"
    kubectl("replace", "-n", namespace, "-f", "-", input=json.dumps(obj))
    obj = get(kubectl, namespace, "p")
    assert obj["spec"]["reference"] == "replaced"
    managers = owners(obj)
    assert managers["kubectl-replace"]["fieldsV1"]["f:spec"] == {"f:reference": {}}
    assert "f:spec" not in managers.get("kubectl-patch", {"fieldsV1": {}})["fieldsV1"]
