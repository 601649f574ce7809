"""Real kubectl through kube-apiserver against the sample, ours and upstream's Go
sample-apiserver v0.34.4 alike (the `wardle` fixture runs each test once per server): dry run on
every verb, deletecollection with selectors, a selector watch from a resourceVersion (objects
leave and enter the selection), fieldValidation's words (Strict, Warn, apply), and explain.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from k8s_aggapi.envtest.aggregated import AggregatedServer
from tests.e2e.test_sample_versions import DEPRECATED, as_json, create, eventually, wardle

pytestmark = pytest.mark.e2e
__all__ = ["wardle"]

FLUNDERS = "flunders.v1alpha1.wardle.example.com"
PATH = "/apis/wardle.example.com/v1alpha1/namespaces/{ns}/flunders"


def flunder(name: str, **labels: str) -> str:
    shown = ", ".join(f"{k}: {v}" for k, v in labels.items())
    return (f"apiVersion: wardle.example.com/v1alpha1\nkind: Flunder\nmetadata:\n  name: {name}\n"
            f"  labels: {{{shown}}}\nspec:\n  reference: r\n")


def names(kubectl: Any, namespace: str) -> set[str]:
    return {i["metadata"]["name"] for i in as_json(kubectl, "get", FLUNDERS, "-n",
                                                  namespace)["items"]}


def test_dry_run_on_every_verb_stores_nothing(wardle: AggregatedServer, kubectl: Any,
                                              namespace: str) -> None:
    create(kubectl, namespace, flunder("d", grp="one"))
    before = as_json(kubectl, "get", FLUNDERS, "d", "-n", namespace)
    ns = ("-n", namespace, "--dry-run=server")
    out = kubectl("create", *ns, "-f", "-", input=flunder("e")).stdout
    assert out == "flunder.wardle.example.com/e created (server dry run)\n"
    changed = flunder("d", grp="two").replace("reference: r", "reference: s")
    kubectl("apply", "--server-side", "--force-conflicts", *ns, "-f", "-", input=changed)
    kubectl("patch", FLUNDERS, "d", *ns, "--type=merge", "-p", '{"spec":{"reference":"p"}}')
    kubectl("patch", FLUNDERS, "d", *ns, "--type=json",
            "-p", '[{"op":"replace","path":"/spec/reference","value":"j"}]')
    kubectl("label", FLUNDERS, "d", *ns, "grp=three", "--overwrite")
    replaced = dict(before)
    replaced["spec"] = {"reference": "replaced"}
    kubectl("replace", *ns, "-f", "-", input=json.dumps(replaced))
    out = kubectl("delete", FLUNDERS, "d", *ns).stdout
    assert out == (f'flunder.wardle.example.com "d" deleted from {namespace} namespace '
                   "(server dry run)\n")
    kubectl("delete", "--raw", PATH.format(ns=namespace) + "?labelSelector=grp%3Done&dryRun=All")
    assert names(kubectl, namespace) == {"d"}
    after = as_json(kubectl, "get", FLUNDERS, "d", "-n", namespace)
    assert after["metadata"]["resourceVersion"] == before["metadata"]["resourceVersion"]
    assert after == before


def test_deletecollection_honours_label_and_field_selectors(
        wardle: AggregatedServer, kubectl: Any, namespace: str) -> None:
    for name, grp in (("a", "one"), ("b", "one"), ("c", "two")):
        create(kubectl, namespace, flunder(name, grp=grp))
    listed = json.loads(kubectl("delete", "--raw",
                                PATH.format(ns=namespace) + "?labelSelector=grp%3Done").stdout)
    assert listed["kind"] == "FlunderList"
    assert sorted(i["metadata"]["name"] for i in listed["items"]) == ["a", "b"]
    assert names(kubectl, namespace) == {"c"}
    kubectl("delete", "--raw", PATH.format(ns=namespace) + "?fieldSelector=metadata.name%3Dz")
    assert names(kubectl, namespace) == {"c"}
    kubectl("delete", "--raw", PATH.format(ns=namespace) + "?fieldSelector=metadata.name%3Dc")
    assert names(kubectl, namespace) == set()


def test_a_selector_watch_from_a_resource_version_sees_objects_leave_and_enter(
        wardle: AggregatedServer, kubectl: Any, namespace: str) -> None:
    """Upstream's watch cache: relabelled into the selection is ADDED, out of it DELETED. The
    watch starts at a revision before the changes, so it cannot pass on an initial list."""
    create(kubectl, namespace, flunder("w", team="blue"))
    rv = as_json(kubectl, "get", FLUNDERS, "w", "-n", namespace)["metadata"]["resourceVersion"]
    for team in ("red", "green", "gold", "red"):
        kubectl("label", FLUNDERS, "w", "-n", namespace, f"team={team}", "--overwrite")
    raw = kubectl("get", "--raw", PATH.format(ns=namespace) + "?watch=1&labelSelector=team%3Dred"
                  f"&resourceVersion={rv}&timeoutSeconds=3").stdout
    events = [json.loads(line) for line in raw.splitlines() if line.strip()]
    assert [(e["type"], e["object"]["metadata"]["labels"]["team"]) for e in events] == [
        ("ADDED", "red"), ("DELETED", "red"), ("ADDED", "red")]
    # the DELETED event carries the state before the change, at the change's revision
    assert int(events[1]["object"]["metadata"]["resourceVersion"]) > int(
        events[0]["object"]["metadata"]["resourceVersion"])


def test_field_validation_in_upstreams_words(wardle: AggregatedServer, kubectl: Any,
                                             namespace: str) -> None:
    # kubectl validates on the client instead when the group's OpenAPI v3 is not aggregated yet
    eventually(lambda: explained(kubectl), 60, 1)
    bogus = flunder("v") + "  bogus: 1\n"
    refused = create(kubectl, namespace, bogus, check=False)
    assert refused.returncode != 0
    assert refused.stderr == (
        f'{DEPRECATED}Error from server (BadRequest): error when creating "STDIN": Flunder in '
        'version "v1alpha1" cannot be handled as a Flunder: strict decoding error: unknown '
        'field "spec.bogus"\n')
    warned = kubectl("create", "-n", namespace, "--validate=warn", "-f", "-", input=bogus)
    assert warned.stderr == f'{DEPRECATED}Warning: unknown field "spec.bogus"\n'
    applied = kubectl("apply", "--server-side", "-n", namespace, "-f", "-", check=False,
                      input=bogus.replace("name: v", "name: s"))
    assert applied.returncode != 0
    assert applied.stderr == (
        f"{DEPRECATED}Error from server: failed to create typed patch object ({namespace}/s; "
        "wardle.example.com/v1alpha1, Kind=Flunder): .spec.bogus: field not declared in "
        "schema\n")


def explained(kubectl: Any) -> str:
    """`kubectl explain flunders.spec`, or "" while kube-apiserver has not aggregated the
    group's OpenAPI v3 (a moment after the APIService is Available)."""
    result = kubectl("explain", "flunders.spec", "--api-version=wardle.example.com/v1alpha1",
                     check=False)
    return str(result.stdout) if result.returncode == 0 else ""


def test_explain_lists_the_fields(wardle: AggregatedServer, kubectl: Any) -> None:
    out = eventually(lambda: explained(kubectl), 60, 1)
    assert "KIND:       Flunder\nVERSION:    v1alpha1\n" in out
    assert "  reference\t<string>\n" in out and "  referenceType\t<string>\n" in out
    out = kubectl("explain", "fischers", "--api-version=wardle.example.com/v1alpha1").stdout
    assert "  disallowedFlunders\t<[]string>\n" in out
