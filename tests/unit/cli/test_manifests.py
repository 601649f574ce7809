"""`aggapi manifests`: the objects a deployment needs, deterministic, kustomize-friendly; the
sample's checked-in deploy/ folder is exactly what the command writes."""

from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from k8s_aggapi.api import APIGroup, ResourceInfo
from k8s_aggapi.application import Application, PolicyRule
from k8s_aggapi.manifests import DeployOptions, render
from k8s_aggapi.registry.rest import Getter, Lister, ListOptions, Object, ObjectList, RequestContext
from tests.unit.cli.conftest import Run

ROOT = Path(__file__).parents[3]
SAMPLE = "examples.sample_apiserver.app:server"
BASE = (SAMPLE, "--namespace", "wardle", "--image", "wardle:dev")


def docs(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def test_the_sample_deployment_in_apply_order(aggapi: Run) -> None:
    r = aggapi("manifests", *BASE, "--insecure-skip-tls-verify")
    assert r.code == 0, r.err
    objects = docs(r.out)
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("Namespace", "wardle"),
        ("ServiceAccount", "wardle-server"),
        ("ClusterRoleBinding", "wardle-server:system:auth-delegator"),
        ("RoleBinding", "wardle-server-auth-reader"),
        ("ClusterRole", "wardle-server-view"),
        ("ClusterRole", "wardle-server-edit"),
        ("ClusterRole", "wardle-server-admin"),
        ("Deployment", "wardle-server"),
        ("Service", "wardle-server"),
        ("APIService", "v1alpha1.wardle.example.com"),
    ]
    assert r.out == aggapi("manifests", *BASE, "--insecure-skip-tls-verify").out
    rb = by_kind(objects, "RoleBinding")[0]
    assert rb["metadata"]["namespace"] == "kube-system"
    assert rb["roleRef"]["name"] == "extension-apiserver-authentication-reader"
    assert rb["subjects"] == [{"kind": "ServiceAccount", "name": "wardle-server",
                               "namespace": "wardle"}]
    crb = by_kind(objects, "ClusterRoleBinding")[0]
    assert crb["roleRef"]["name"] == "system:auth-delegator"
    view, edit, admin = by_kind(objects, "ClusterRole")
    assert view["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-view"] == "true"
    assert edit["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-edit"] == "true"
    assert admin["metadata"]["labels"]["rbac.authorization.k8s.io/aggregate-to-admin"] == "true"
    assert view["rules"] == [{"apiGroups": ["wardle.example.com"],
                              "resources": ["fischers", "flunders"],
                              "verbs": ["get", "list", "watch"]}]
    assert "deletecollection" in edit["rules"][0]["verbs"]
    pod = by_kind(objects, "Deployment")[0]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "https",
                                                      "scheme": "HTTPS"}
    assert container["livenessProbe"]["httpGet"]["path"] == "/livez"
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["resources"]["requests"] == {"cpu": "100m", "memory": "128Mi"}
    assert "--cert-dir=/tmp" in container["args"]
    assert "affinity" not in pod
    api = by_kind(objects, "APIService")[0]["spec"]
    assert api["insecureSkipTLSVerify"] is True
    assert "caBundle" not in api
    assert api["service"] == {"name": "wardle-server", "namespace": "wardle", "port": 443}


def test_ca_bundle_brings_the_secret_and_the_cert_flags(aggapi: Run, tmp_path: Path) -> None:
    aggapi("certs", "--service", "wardle-server", "--namespace", "wardle", "--out", str(tmp_path))
    r = aggapi("manifests", *BASE, "--ca-bundle", str(tmp_path / "ca.crt"))
    assert r.code == 0, r.err
    objects = docs(r.out)
    secret = by_kind(objects, "Secret")[0]
    assert secret["type"] == "kubernetes.io/tls"
    assert base64.b64decode(secret["data"]["tls.key"]) == (tmp_path / "tls.key").read_bytes()
    api = by_kind(objects, "APIService")[0]["spec"]
    assert base64.b64decode(api["caBundle"]) == (tmp_path / "ca.crt").read_bytes()
    assert "insecureSkipTLSVerify" not in api
    pod = by_kind(objects, "Deployment")[0]["spec"]["template"]["spec"]
    assert {"name": "serving-cert", "secret": {"secretName": "wardle-server-serving-cert"}} in (
        pod["volumes"])
    assert "--tls-cert-file=/etc/aggapi/serving-cert/tls.crt" in pod["containers"][0]["args"]


def test_a_cert_for_another_service_is_refused(aggapi: Run, tmp_path: Path) -> None:
    aggapi("certs", "--service", "other", "--namespace", "wardle", "--out", str(tmp_path))
    r = aggapi("manifests", *BASE, "--ca-bundle", str(tmp_path / "ca.crt"))
    assert r.code == 1
    assert r.err == ("aggapi manifests: error: the serving cert is not valid for "
                     "wardle-server.wardle.svc (run: aggapi certs --service wardle-server "
                     "--namespace wardle)\n")


@pytest.mark.parametrize(("argv", "message"), [
    (("nope.mod:server",), "no module 'nope'"),
    (("examples.sample_apiserver.app:nope",), "has no attribute 'nope'"),
    (("examples.sample_apiserver.app",), "expected MODULE:ATTR"),
    (("examples.sample_apiserver.apis:GROUP",), "is a str, not an Application"),
])
def test_bad_targets_are_one_line(aggapi: Run, argv: tuple[str, ...], message: str) -> None:
    r = aggapi("manifests", *argv, "--namespace", "n", "--image", "i",
               "--insecure-skip-tls-verify")
    assert r.code == 1
    assert r.err.count("\n") == 1
    assert message in r.err


def test_missing_ca_file_is_one_line(aggapi: Run, tmp_path: Path) -> None:
    r = aggapi("manifests", *BASE, "--ca-bundle", str(tmp_path / "ca.crt"))
    assert r.code == 1
    assert r.err.startswith("aggapi manifests: error: cannot read --ca-bundle")


def _widgets(read_only: bool = False) -> Application:
    class ReadOnly(Getter, Lister):
        async def get(self, ctx: RequestContext, name: str, options: object = None) -> Object:
            return {}

        async def list(self, ctx: RequestContext, options: ListOptions) -> ObjectList:
            return ObjectList([])

    def groups() -> list[APIGroup]:
        from k8s_aggapi.storage import MemoryStorage

        group = APIGroup("widgets.example.com")
        for version in ("v2", "v1"):
            info = ResourceInfo(kind="Widget", plural="widgets")
            if read_only:
                group.version(version).add_rest(info, ReadOnly())
            else:
                group.version(version).add_store(info, MemoryStorage())
        return [group]

    return Application(name="widgets", groups=groups,
                       rules=(PolicyRule(("",), ("nodes", "pods")),))


def test_replicas_etcd_priorities_and_own_rules() -> None:
    options = DeployOptions(namespace="kube-system", image="w:1", replicas=2, storage="etcd",
                            group_priority_minimum=100, version_priority=20)
    objects = render(_widgets(), options)
    assert not by_kind(objects, "Namespace")
    assert [o["spec"]["versionPriority"] for o in by_kind(objects, "APIService")] == [25, 20]
    assert {o["spec"]["groupPriorityMinimum"] for o in by_kind(objects, "APIService")} == {100}
    deployment = by_kind(objects, "Deployment")[0]
    anti = deployment["spec"]["template"]["spec"]["affinity"]["podAntiAffinity"]
    assert anti["preferredDuringSchedulingIgnoredDuringExecution"][0]["podAffinityTerm"][
        "topologyKey"] == "kubernetes.io/hostname"
    assert by_kind(objects, "PodDisruptionBudget")[0]["spec"]["minAvailable"] == 1
    assert by_kind(objects, "StatefulSet")[0]["metadata"]["name"] == "widgets-etcd"
    args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--etcd-servers=http://widgets-etcd.kube-system.svc:2379" in args
    own = [o for o in by_kind(objects, "ClusterRole") if o["metadata"]["name"] == "system:widgets"]
    assert own[0]["rules"] == [{"apiGroups": [""], "resources": ["nodes", "pods"],
                                "verbs": ["get", "list", "watch"]}]
    assert any(b["roleRef"]["name"] == "system:widgets"
               for b in by_kind(objects, "ClusterRoleBinding"))


def test_a_read_only_api_gets_only_a_view_role() -> None:
    objects = render(_widgets(read_only=True), DeployOptions(namespace="w", image="w:1"))
    roles = [o["metadata"]["name"] for o in by_kind(objects, "ClusterRole")]
    assert roles == ["system:widgets", "widgets-view"]


def test_local_port_makes_an_externalname_service() -> None:
    objects = render(_widgets(), DeployOptions(namespace="w", image="w:1", local_port=9443))
    service = next(o for o in by_kind(objects, "Service") if o["metadata"]["name"] == "widgets")
    assert service["spec"] == {"type": "ExternalName", "externalName": "localhost"}
    assert {o["spec"]["service"]["port"] for o in by_kind(objects, "APIService")} == {9443}


def test_output_dir_is_one_file_per_kind_and_a_kustomization(aggapi: Run, tmp_path: Path) -> None:
    (tmp_path / "poddisruptionbudget.yaml").write_text("stale")
    (tmp_path / "notes.txt").write_text("mine")
    r = aggapi("manifests", *BASE, "--insecure-skip-tls-verify", "--output-dir", str(tmp_path))
    assert r.code == 0, r.err
    kustomization = yaml.safe_load((tmp_path / "kustomization.yaml").read_text())
    assert kustomization["resources"] == [
        "namespace.yaml", "serviceaccount.yaml", "clusterrole.yaml", "clusterrolebinding.yaml",
        "rolebinding.yaml", "deployment.yaml", "service.yaml", "apiservice.yaml"]
    assert not (tmp_path / "poddisruptionbudget.yaml").exists()
    assert (tmp_path / "notes.txt").read_text() == "mine"
    together = [o for name in kustomization["resources"]
                for o in docs((tmp_path / name).read_text())]
    single = docs(aggapi("manifests", *BASE, "--insecure-skip-tls-verify").out)
    assert sorted(map(repr, together)) == sorted(map(repr, single))


def test_the_checked_in_sample_deploy_folder_is_fresh(aggapi: Run, tmp_path: Path) -> None:
    makefile = (ROOT / "Makefile").read_text()
    args = re.search(r"^SAMPLE_MANIFESTS := (.+)$", makefile, re.M)
    assert args, "Makefile lost SAMPLE_MANIFESTS"
    r = aggapi("manifests", *args.group(1).split(), "--output-dir", str(tmp_path))
    assert r.code == 0, r.err
    checked_in = ROOT / "examples" / "sample_apiserver" / "deploy"
    fresh = {p.name: p.read_text() for p in sorted(tmp_path.iterdir())}
    assert {p.name: p.read_text() for p in sorted(checked_in.iterdir())} == fresh, (
        "examples/sample_apiserver/deploy is stale: run `make manifests`")


def test_getting_started_register_commands_run(aggapi: Run, tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    import shlex

    text = (ROOT / "docs" / "getting-started.md").read_text()
    block = next(b for b in re.findall(r"```sh\n(.*?)```", text, re.S) if "aggapi certs" in b)
    monkeypatch.chdir(tmp_path)
    commands = block.replace("\\\n", " ").strip().splitlines()
    assert len(commands) == 2
    for line in commands:
        argv = shlex.split(line)
        assert argv[0] == "aggapi"
        r = aggapi(*argv[1:])
        assert r.code == 0, r.err
    api = docs((tmp_path / "deploy" / "apiservice.yaml").read_text())[0]
    assert base64.b64decode(api["spec"]["caBundle"]) == (tmp_path / "certs" / "ca.crt").read_bytes()


def test_a_server_offering_storage_gets_the_etcd_flags() -> None:
    from examples.sample_apiserver.app import server

    objects = render(server, DeployOptions(namespace="wardle", image="w:1", storage="etcd"))
    args = by_kind(objects, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert args[-3:] == ["--storage=etcd", "--etcd-servers=http://wardle-server-etcd.wardle.svc:2379",
                         "--etcd-prefix=/registry"]
    memory = render(server, DeployOptions(namespace="wardle", image="w:1"))
    args = by_kind(memory, "Deployment")[0]["spec"]["template"]["spec"]["containers"][0]["args"]
    assert not [a for a in args if a.startswith(("--storage", "--etcd"))]
