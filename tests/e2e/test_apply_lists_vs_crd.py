"""Server-side apply of every kind of list, ours against kube-apiserver's own, side by side.

`lists.example.com/v1` Widgets (our server, `lists_server.py`: a list merged by one key, one
by two keys, a set, an atomic list, a map) and a CustomResourceDefinition of the same schema
served by kube-apiserver (upstream's structured-merge-diff). The same applies and updates run
against both; objects, field sets and conflict messages must be the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from k8s_aggapi.envtest.aggregated import AggregatedServer, start_aggregated_server
from k8s_aggapi.envtest.controlplane import ControlPlane
from tests.e2e.test_sample_apiserver import eventually

pytestmark = pytest.mark.e2e

OURS, THEIRS = "lists.example.com/v1", "crd.lists.example.com/v1"
CRD = {
    "apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
    "metadata": {"name": "crdwidgets.crd.lists.example.com"},
    "spec": {"group": "crd.lists.example.com", "scope": "Namespaced",
             "names": {"plural": "crdwidgets", "singular": "crdwidget", "kind": "CrdWidget",
                       "listKind": "CrdWidgetList"},
             "versions": [{"name": "v1", "served": True, "storage": True, "schema": {
                 "openAPIV3Schema": {"type": "object", "properties": {"spec": {
                     "type": "object", "properties": {
                         "ports": {"type": "array", "x-kubernetes-list-type": "map",
                                   "x-kubernetes-list-map-keys": ["name"],
                                   "items": {"type": "object", "required": ["name"],
                                             "properties": {"name": {"type": "string"},
                                                            "port": {"type": "integer"}}}},
                         "pairs": {"type": "array", "x-kubernetes-list-type": "map",
                                   "x-kubernetes-list-map-keys": ["port", "protocol"],
                                   "items": {"type": "object",
                                             "required": ["port", "protocol"],
                                             "properties": {"port": {"type": "integer"},
                                                            "protocol": {"type": "string"},
                                                            "note": {"type": "string"}}}},
                         "tags": {"type": "array", "x-kubernetes-list-type": "set",
                                  "items": {"type": "string"}},
                         "args": {"type": "array", "items": {"type": "string"}},
                         "selector": {"type": "object",
                                      "additionalProperties": {"type": "string"}},
                     }}}}}}]},
}


@pytest.fixture(scope="module")
def widgets(control_plane: ControlPlane) -> Iterator[AggregatedServer]:
    control_plane.kubectl("apply", "-f", "-", input=json.dumps(CRD))
    control_plane.kubectl("wait", "--for=condition=Established",
                          "crd/crdwidgets.crd.lists.example.com", "--timeout=60s")
    server = start_aggregated_server(
        "python -m tests.e2e.lists_server", OURS, control_plane=control_plane, timeout=90,
        wait_openapi=True)
    with server:
        eventually(lambda: control_plane.kubectl(
            "get", resource(THEIRS), "-A", check=False).returncode == 0)
        yield server
    control_plane.kubectl("delete", "crd", "crdwidgets.crd.lists.example.com", "--wait=false",
                          check=False)


def resource(api_version: str) -> str:
    return ("widgets." if api_version == OURS else "crdwidgets.") + api_version.split("/")[0]


def widget(api_version: str, **spec: Any) -> str:
    return json.dumps({"apiVersion": api_version,
                       "kind": "Widget" if api_version == OURS else "CrdWidget",
                       "metadata": {"name": "w"}, "spec": spec})


def state(kubectl: Any, namespace: str, api_version: str) -> tuple[Any, dict[str, Any]]:
    """The spec, and each manager's field set of it. A custom resource's create adds `spec`
    itself (`.`): its empty object has none, a typed one (ours) always has it."""
    obj = json.loads(kubectl("get", resource(api_version), "w", "-n",
                             namespace, "-o", "json", "--show-managed-fields").stdout)
    sets = {}
    for entry in obj["metadata"]["managedFields"]:
        spec = {k: v for k, v in entry["fieldsV1"].get("f:spec", {}).items() if k != "."}
        sets[f'{entry["manager"]}/{entry["operation"]}'] = spec
    return obj.get("spec"), sets


def same_on_both(kubectl: Any, namespace: str) -> None:
    ours, theirs = state(kubectl, namespace, OURS), state(kubectl, namespace, THEIRS)
    assert ours == theirs, json.dumps({"ours": ours, "theirs": theirs}, indent=1)


def apply(kubectl: Any, namespace: str, manager: str, *flags: str, check: bool = True,
          **spec: Any) -> dict[str, Any]:
    return {v: kubectl("apply", "--server-side", f"--field-manager={manager}", *flags,
                       "-n", namespace, "-f", "-", input=widget(v, **spec), check=check)
            for v in (OURS, THEIRS)}


def test_apply_lists_like_kube_apiserver(widgets: AggregatedServer, kubectl: Any,
                                        namespace: str) -> None:
    apply(kubectl, namespace, "alice", ports=[{"name": "a", "port": 1}, {"name": "b", "port": 2}],
          pairs=[{"port": 80, "protocol": "TCP", "note": "web"}], tags=["x", "z"],
          args=["1", "2"], selector={"k": "v"})
    same_on_both(kubectl, namespace)
    # another manager adds items: merged by key and by value, no conflict
    apply(kubectl, namespace, "bob", ports=[{"name": "c", "port": 3}], tags=["y"],
          pairs=[{"port": 80, "protocol": "UDP"}], selector={"j": "w"})
    same_on_both(kubectl, namespace)
    # a changed value of another's item is a conflict, in the same words
    refused = apply(kubectl, namespace, "bob", check=False,
                    ports=[{"name": "a", "port": 9}], args=["3"])
    assert refused[OURS].returncode != 0
    assert refused[OURS].stderr == refused[THEIRS].stderr, (refused[OURS].stderr,
                                                            refused[THEIRS].stderr)
    apply(kubectl, namespace, "bob", "--force-conflicts", ports=[{"name": "a", "port": 9}],
          args=["3"])
    same_on_both(kubectl, namespace)
    # alice applies less: what only she owned goes, what bob co-owns stays
    apply(kubectl, namespace, "alice", ports=[{"name": "b", "port": 2}], tags=["z"])
    same_on_both(kubectl, namespace)


def test_updates_take_fields_like_kube_apiserver(widgets: AggregatedServer, kubectl: Any,
                                                namespace: str) -> None:
    apply(kubectl, namespace, "alice", ports=[{"name": "a", "port": 1}], tags=["x"],
          selector={"k": "v"})
    patch = json.dumps({"spec": {"ports": [{"name": "a", "port": 5}, {"name": "n"}],
                                 "selector": {"k": None, "m": "1"}, "tags": ["x", "t"]}})
    for v in (OURS, THEIRS):
        kubectl("patch", resource(v), "w", "-n", namespace, "--type=merge",
                "-p", patch)
    same_on_both(kubectl, namespace)
    refused = apply(kubectl, namespace, "alice", check=False, ports=[{"name": "a", "port": 1}])
    assert 'conflict with "kubectl-patch" using lists.example.com/v1: .spec.ports[name="a"]' \
        '.port' in refused[OURS].stderr
    assert refused[OURS].stderr == refused[THEIRS].stderr.replace(THEIRS, OURS), (
        refused[OURS].stderr, refused[THEIRS].stderr)


def test_client_side_apply_of_lists(widgets: AggregatedServer, kubectl: Any,
                                    namespace: str) -> None:
    # ours gets kubectl's three-way strategic merge patch (merge keys from our OpenAPI:
    # $setElementOrder, $patch: delete, $deleteFromPrimitiveList), the CRD a JSON merge
    # patch; both must end at the applied configuration
    steps = [
        {"ports": [{"name": "a", "port": 1}, {"name": "b", "port": 2}], "tags": ["x", "y"],
         "pairs": [{"port": 80, "protocol": "TCP"}], "args": ["1"], "selector": {"k": "v"}},
        {"ports": [{"name": "c", "port": 3}, {"name": "a", "port": 7}], "tags": ["y", "z"],
         "pairs": [{"port": 80, "protocol": "TCP", "note": "n"},
                   {"port": 81, "protocol": "TCP"}], "args": ["2", "1"]},
        {"ports": [{"name": "a", "port": 7}], "tags": ["z"]},
    ]
    for spec in steps:
        for v in (OURS, THEIRS):
            kubectl("apply", "-n", namespace, "-f", "-", input=widget(v, **spec))
        ours, theirs = (state(kubectl, namespace, v)[0] for v in (OURS, THEIRS))
        assert ours == theirs == spec, (ours, theirs)
