"""Our managedFields and apply conflicts against kube-apiserver's own, side by side.

A CustomResourceDefinition with the sample Flunder's schema (group `crd.wardle.example.com`)
is served by kube-apiserver itself, whose field manager is upstream's structured-merge-diff.
The same kubectl commands run against both kinds; the field sets they record (metadata,
including ownerReferences keyed by uid and finalizers as a set, and spec) and the words of
an apply conflict must be the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.test_sample_apiserver import eventually, wardle

pytestmark = pytest.mark.e2e
__all__ = ["wardle"]

CRD = """\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: crdflunders.crd.wardle.example.com}
spec:
  group: crd.wardle.example.com
  scope: Namespaced
  names: {plural: crdflunders, singular: crdflunder, kind: CrdFlunder, listKind: CrdFlunderList}
  versions:
  - name: v1alpha1
    served: true
    storage: true
    schema:
      openAPIV3Schema:
        type: object
        properties:
          spec:
            type: object
            properties:
              reference: {type: string}
              referenceType: {type: string}
"""
OURS, THEIRS = "wardle.example.com/v1alpha1", "crd.wardle.example.com/v1alpha1"


def owner(kubectl: Any, namespace: str) -> dict[str, str]:
    """A real owner: with a made-up uid the garbage collector would delete the dependents."""
    kubectl("create", "configmap", "owner", "-n", namespace)
    uid = kubectl("get", "configmap", "owner", "-n", namespace, "-o",
                  "jsonpath={.metadata.uid}").stdout.strip()
    return {"apiVersion": "v1", "kind": "ConfigMap", "name": "owner", "uid": uid}


def manifest(api_version: str, name: str, reference: str, **meta: Any) -> str:
    return json.dumps({"apiVersion": api_version, "kind": kind(api_version),
                       "metadata": {"name": name, "labels": {"app": "x"}, **meta},
                       "spec": {"reference": reference, "referenceType": "Flunder"}})


def kind(api_version: str) -> str:
    # the CRD's kind and plural differ from ours, so `kubectl get flunder` stays ours
    return "Flunder" if api_version == OURS else "CrdFlunder"


@pytest.fixture(scope="module")
def crd(kubectl_module: Any) -> Iterator[None]:
    # a CRD left terminating by an earlier run of this module refuses new objects: wait it out
    kubectl_module("wait", "--for=delete", "crd/crdflunders.crd.wardle.example.com",
                   "--timeout=150s", check=False, timeout=180)
    kubectl_module("apply", "-f", "-", input=CRD)
    kubectl_module("wait", "--for=condition=Established",
                   "crd/crdflunders.crd.wardle.example.com", "--timeout=60s")
    eventually(lambda: kubectl_module("get", resource(THEIRS), "-A",
                                      check=False).returncode == 0)
    yield
    # the finalizers the tests leave (example.com/a, /b) would hold the CRD's deletion forever
    plural = "crdflunders.crd.wardle.example.com"
    listed = kubectl_module("get", plural, "-A", "-o", "json", check=False)
    for item in json.loads(listed.stdout or '{"items": []}')["items"]:
        meta = item["metadata"]
        if meta.get("finalizers"):
            where = ["-n", meta["namespace"]] if meta.get("namespace") else []
            kubectl_module("patch", plural, meta["name"], *where, "--type=merge",
                           "-p", '{"metadata":{"finalizers":null}}', check=False)
    kubectl_module("delete", "crd", plural, "--timeout=120s", check=False, timeout=150)


@pytest.fixture(scope="module")
def kubectl_module(control_plane: Any) -> Any:
    return control_plane.kubectl


def resource(api_version: str) -> str:
    """The plural in the exact version (the sample's Flunder is also served, preferred, in
    v1beta1, whose fields differ)."""
    group, version = api_version.split("/")
    return f"{'flunders' if api_version == OURS else 'crdflunders'}.{version}.{group}"


def fields(kubectl: Any, namespace: str, api_version: str, name: str) -> dict[str, Any]:
    """Each manager's field set of metadata and spec. One difference is typed versus
    unstructured, not ours: a custom resource's empty object has no spec, so a create adds
    `spec` itself (`.`); the sample's Flunder, like a Go struct, always has one."""
    obj = json.loads(kubectl("get", resource(api_version), name, "-n", namespace, "-o", "json",
                             "--show-managed-fields").stdout)
    out = {}
    for entry in obj["metadata"]["managedFields"]:
        kept = {k: v for k, v in entry["fieldsV1"].items() if k in ("f:metadata", "f:spec")}
        if api_version == THEIRS and "f:spec" in kept:
            kept["f:spec"] = {k: v for k, v in kept["f:spec"].items() if k != "."}
        out[(entry["manager"], entry["operation"])] = kept
    return out


def without_warnings(stderr: str) -> str:
    """kubectl's stderr less its `Warning:` lines (v1alpha1 Flunder is deprecated, as upstream)."""
    return "".join(line for line in stderr.splitlines(keepends=True)
                   if not line.startswith("Warning: "))


def same(ours: dict[str, Any], theirs: dict[str, Any]) -> None:
    shown = {str(k): v for k, v in ours.items()}, {str(k): v for k, v in theirs.items()}
    assert ours == theirs, json.dumps(shown, indent=1, sort_keys=True)


def both(kubectl: Any, namespace: str, *args: str, stdin: Any = None,
         check: bool = True) -> dict[str, Any]:
    """Run one kubectl command per kind; `stdin(api_version)` gives its input."""
    return {v: kubectl(*args, "-n", namespace, input=stdin(v) if stdin else None, check=check)
            for v in (OURS, THEIRS)}


def test_update_field_sets_match_upstream(wardle: Any, crd: None, kubectl: Any,
                                          namespace: str) -> None:
    ref = owner(kubectl, namespace)
    both(kubectl, namespace, "create", "-f", "-",
         stdin=lambda v: manifest(v, "u", "r", finalizers=["example.com/a"],
                                  ownerReferences=[ref]))
    for v in (OURS, THEIRS):
        kubectl("patch", resource(v), "u", "-n", namespace, "--type=merge",
                "-p", '{"spec":{"reference":"s"},"metadata":{"labels":{"more":"y"}}}')
    ours, theirs = (fields(kubectl, namespace, v, "u") for v in (OURS, THEIRS))
    same(ours, theirs)


def test_client_side_apply_field_sets_match_upstream(wardle: Any, crd: None, kubectl: Any,
                                                     namespace: str) -> None:
    both(kubectl, namespace, "apply", "-f", "-", stdin=lambda v: manifest(v, "c", "one"))
    both(kubectl, namespace, "apply", "-f", "-", stdin=lambda v: manifest(v, "c", "two"))
    ours, theirs = (fields(kubectl, namespace, v, "c") for v in (OURS, THEIRS))
    same(ours, theirs)


def test_server_side_apply_matches_upstream(wardle: Any, crd: None, kubectl: Any,
                                            namespace: str) -> None:
    ref = owner(kubectl, namespace)
    both(kubectl, namespace, "apply", "--server-side", "--field-manager=alice", "-f", "-",
         stdin=lambda v: manifest(v, "s", "alice", finalizers=["example.com/a"],
                                  ownerReferences=[ref]))
    ours, theirs = (fields(kubectl, namespace, v, "s") for v in (OURS, THEIRS))
    same(ours, theirs)
    refused = both(kubectl, namespace, "apply", "--server-side", "--field-manager=bob",
                   "-f", "-", check=False,
                   stdin=lambda v: manifest(v, "s", "bob", finalizers=["example.com/b"]))
    assert refused[OURS].returncode != 0 and refused[THEIRS].returncode != 0
    assert without_warnings(refused[OURS].stderr) == refused[THEIRS].stderr
    both(kubectl, namespace, "apply", "--server-side", "--field-manager=bob",
         "--force-conflicts", "-f", "-",
         stdin=lambda v: manifest(v, "s", "bob", finalizers=["example.com/b"]))
    ours, theirs = (fields(kubectl, namespace, v, "s") for v in (OURS, THEIRS))
    same(ours, theirs)
    # alice applies less: what only she owned goes, on both
    both(kubectl, namespace, "apply", "--server-side", "--field-manager=alice", "-f", "-",
         stdin=lambda v: json.dumps({"apiVersion": v, "kind": kind(v),
                                     "metadata": {"name": "s"}}))
    got = {}
    for v in (OURS, THEIRS):
        obj = json.loads(kubectl("get", resource(v), "s", "-n", namespace, "-o", "json").stdout)
        got[v] = ({k: obj["metadata"].get(k) for k in ("labels", "finalizers",
                                                        "ownerReferences")}, obj["spec"])
    assert got[OURS] == got[THEIRS]
    ours, theirs = (fields(kubectl, namespace, v, "s") for v in (OURS, THEIRS))
    same(ours, theirs)
