"""Status and scale subresources and resourceVersion semantics with real kubectl through the
real kube-apiserver aggregator, on a resource that declares both (tests/servers/widgets.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from k8s_aggapi.envtest.aggregated import AggregatedServer, start_aggregated_server
from k8s_aggapi.envtest.controlplane import ControlPlane

pytestmark = pytest.mark.e2e

GV = "/apis/widgets.example.com/v1"
WIDGET = """\
apiVersion: widgets.example.com/v1
kind: Widget
metadata:
  name: {name}
spec:
  replicas: 1
  color: blue
status:
  replicas: 42
"""


@pytest.fixture(scope="module")
def widgets(control_plane: ControlPlane) -> Iterator[AggregatedServer]:
    server = start_aggregated_server(
        "python -m tests.servers.widgets --v=3", "widgets.example.com/v1",
        control_plane=control_plane, timeout=90, wait_openapi=True,
    )
    with server:
        yield server


def get(kubectl: Any, namespace: str, name: str, *extra: str) -> dict[str, Any]:
    out = kubectl("get", "widget", name, "-n", namespace, "-o", "json", *extra).stdout
    result: dict[str, Any] = json.loads(out)
    return result


def test_discovery_names_the_subresources(widgets: AggregatedServer, kubectl: Any) -> None:
    raw = json.loads(kubectl("get", "--raw", GV).stdout)
    by_name = {r["name"]: r for r in raw["resources"]}
    assert by_name["widgets/scale"]["kind"] == "Scale"
    assert by_name["widgets/scale"]["group"] == "autoscaling"
    assert by_name["widgets/status"]["verbs"] == ["get", "patch", "update"]


def test_kubectl_scale(widgets: AggregatedServer, kubectl: Any, namespace: str) -> None:
    kubectl("create", "-n", namespace, "-f", "-", input=WIDGET.format(name="w1"))
    out = kubectl("scale", "widget", "w1", "-n", namespace, "--replicas=3").stdout
    assert "widget.widgets.example.com/w1 scaled" in out
    stored = get(kubectl, namespace, "w1")
    assert stored["spec"] == {"replicas": 3, "color": "blue"}
    assert stored["metadata"]["generation"] == 2
    scale = get(kubectl, namespace, "w1", "--subresource=scale")
    assert scale["kind"] == "Scale" and scale["apiVersion"] == "autoscaling/v1"
    assert scale["spec"] == {"replicas": 3}
    # kubectl scale with a precondition reads the Scale, then updates it
    out = kubectl("scale", "widget", "w1", "-n", namespace, "--current-replicas=3",
                  "--replicas=5").stdout
    assert "scaled" in out
    assert get(kubectl, namespace, "w1")["spec"]["replicas"] == 5
    refused = kubectl("scale", "widget", "w1", "-n", namespace, "--current-replicas=1",
                      "--replicas=7", check=False)
    assert refused.returncode != 0
    assert "Expected replicas to be 1, was 5" in refused.stderr


def test_status_and_spec_are_written_apart(widgets: AggregatedServer, kubectl: Any,
                                           namespace: str) -> None:
    created = json.loads(kubectl("create", "-n", namespace, "-f", "-", "-o", "json",
                                 input=WIDGET.format(name="w2")).stdout)
    assert "status" not in created  # create cannot set status
    kubectl("patch", "widget", "w2", "-n", namespace, "--subresource=status", "--type=merge",
            "-p", '{"status":{"replicas":2,"ready":true},"spec":{"color":"red"}}')
    after_status = get(kubectl, namespace, "w2")
    assert after_status["status"] == {"replicas": 2, "ready": True}
    assert after_status["spec"]["color"] == "blue"
    assert after_status["metadata"]["generation"] == 1
    kubectl("patch", "widget", "w2", "-n", namespace, "--type=merge",
            "-p", '{"status":{"replicas":99},"spec":{"color":"green"}}')
    after_spec = get(kubectl, namespace, "w2")
    assert after_spec["status"] == {"replicas": 2, "ready": True}
    assert after_spec["spec"]["color"] == "green"
    assert after_spec["metadata"]["generation"] == 2
    # replace through the status subresource: everything but the status is ignored
    body = {**after_spec, "status": {"replicas": 4}, "spec": {"replicas": 9}}
    kubectl("replace", "--subresource=status", "-f", "-", input=json.dumps(body))
    final = get(kubectl, namespace, "w2")
    assert final["status"] == {"replicas": 4}
    assert final["spec"] == {"replicas": 1, "color": "green"}
    scale = get(kubectl, namespace, "w2", "--subresource=scale")
    assert scale["status"] == {"replicas": 4}


def test_get_with_a_resource_version(widgets: AggregatedServer, kubectl: Any,
                                     namespace: str) -> None:
    created = json.loads(kubectl("create", "-n", namespace, "-f", "-", "-o", "json",
                                 input=WIDGET.format(name="w3")).stdout)
    rv = int(created["metadata"]["resourceVersion"])
    path = f"{GV}/namespaces/{namespace}/widgets/w3"
    for asked in ("0", str(rv)):
        got = json.loads(kubectl("get", "--raw", f"{path}?resourceVersion={asked}").stdout)
        assert got["metadata"]["uid"] == created["metadata"]["uid"]
    ahead = kubectl("get", "--raw", f"{path}?resourceVersion={rv + 1000}", check=False)
    assert ahead.returncode != 0
    assert f"Too large resource version: {rv + 1000}" in ahead.stderr


def test_watch_list_ends_its_initial_events_with_a_bookmark(
        widgets: AggregatedServer, kubectl: Any, namespace: str) -> None:
    kubectl("create", "-n", namespace, "-f", "-", input=WIDGET.format(name="w4"))
    query = ("watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
             "&allowWatchBookmarks=true&timeoutSeconds=3")
    out = kubectl("get", "--raw", f"{GV}/namespaces/{namespace}/widgets?{query}",
                  "--request-timeout=30s").stdout
    events = [json.loads(line) for line in out.splitlines() if line.strip()]
    assert [e["type"] for e in events[:2]] == ["ADDED", "BOOKMARK"]
    assert events[0]["object"]["metadata"]["name"] == "w4"
    end = events[1]["object"]["metadata"]
    assert end["annotations"] == {"k8s.io/initial-events-end": "true"}
    assert int(end["resourceVersion"]) >= int(events[0]["object"]["metadata"]["resourceVersion"])


def test_watch_from_a_resource_version_sees_only_later_changes(
        widgets: AggregatedServer, kubectl: Any, namespace: str) -> None:
    before = json.loads(kubectl("create", "-n", namespace, "-f", "-", "-o", "json",
                                input=WIDGET.format(name="w5")).stdout)
    kubectl("create", "-n", namespace, "-f", "-", input=WIDGET.format(name="w6"))
    kubectl("scale", "widget", "w5", "-n", namespace, "--replicas=2")
    rv = before["metadata"]["resourceVersion"]
    out = kubectl("get", "--raw", f"{GV}/namespaces/{namespace}/widgets?watch=true"
                  f"&resourceVersion={rv}&timeoutSeconds=3", "--request-timeout=30s").stdout
    events = [(e["type"], e["object"]["metadata"]["name"], e["object"]["spec"]["replicas"])
              for e in map(json.loads, filter(str.strip, out.splitlines()))]
    assert events == [("ADDED", "w6", 1), ("MODIFIED", "w5", 2)]
