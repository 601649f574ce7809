"""The attack suite through kube-apiserver's aggregator: the corpus cases marked
`aggregator: true`, and the name-scoped bypass attempts against real RBAC (a Role and a
ClusterRole with `resourceNames: ["fuzz-a"]`), both counted in the attack summary.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from k8s_aggapi.envtest.aggregated import AggregatedServer, start_aggregated_server
from k8s_aggapi.envtest.controlplane import ControlPlane
from tests.attack import bypass, corpus, summary
from tests.attack.fuzzing import fuzz
from tests.attack.http import Client, Identity

pytestmark = pytest.mark.e2e
FUZZ_EXAMPLES = 150
USER = "fuzz-user"
NS = "attack"
CASES = [c for c in corpus.load() if c.get("aggregator")]
VERBS = ["get", "list", "watch", "update", "patch", "delete"]


@pytest.fixture(autouse=True, scope="module")
def _counts_in_the_summary(request: pytest.FixtureRequest) -> None:
    summary.register(request.config)


@pytest.fixture(scope="module")
def wardle(control_plane: ControlPlane) -> Iterator[AggregatedServer]:
    server = start_aggregated_server(
        "python -m examples.sample_apiserver", "wardle.example.com/v1alpha1",
        control_plane=control_plane, timeout=90, wait_openapi=True,
    )
    with server:
        yield server


def _through(cp: ControlPlane, cert: tuple[Path, Path]) -> Client:
    return Client(cp.ports.apiserver, Identity(cp.pki.crt("ca"), cert), timeout=30)


def _admin(cp: ControlPlane) -> Client:
    return _through(cp, (cp.pki.crt("admin"), cp.pki.key("admin")))


@pytest.fixture(scope="module")
def attacker_cert(control_plane: ControlPlane, tmp_path_factory: pytest.TempPathFactory,
                  wardle: AggregatedServer) -> tuple[Path, Path]:
    """fuzz-user's certificate, and RBAC that lets it touch only fuzz-a."""
    directory = tmp_path_factory.mktemp("attack-e2e")
    crt, key = directory / f"{USER}.crt", directory / f"{USER}.key"
    control_plane.pki.client_cert(USER).write(crt, key)
    control_plane.kubectl("create", "namespace", NS, check=False)
    rule = {"apiGroups": ["wardle.example.com"], "resources": ["flunders", "fischers"],
            "resourceNames": ["fuzz-a"], "verbs": VERBS}
    subject = [{"kind": "User", "name": USER, "apiGroup": "rbac.authorization.k8s.io"}]
    for kind, meta in (("ClusterRole", {"name": "attack-fuzz-a"}),
                       ("Role", {"name": "attack-fuzz-a", "namespace": NS})):
        control_plane.apply({"apiVersion": "rbac.authorization.k8s.io/v1", "kind": kind,
                             "metadata": meta, "rules": [rule]})
        control_plane.apply({
            "apiVersion": "rbac.authorization.k8s.io/v1", "kind": f"{kind}Binding",
            "metadata": meta, "subjects": subject,
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": kind,
                        "name": "attack-fuzz-a"}})
    deadline = time.monotonic() + 30
    while control_plane.kubectl("auth", "can-i", "get", "fischers.wardle.example.com/fuzz-a",
                                "--as", USER, check=False).stdout.strip() != "yes":
        assert time.monotonic() < deadline, "RBAC for fuzz-user never took effect"
        time.sleep(0.5)
    return crt, key


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_corpus_through_the_aggregator(case: dict[str, Any], control_plane: ControlPlane,
                                       wardle: AggregatedServer) -> None:
    admin = _admin(control_plane)
    try:
        problems = corpus.Runner({"admin": admin}).run(case, f"agg-{CASES.index(case)}")
    finally:
        admin.close()
    assert not problems, "\n".join(problems)


def test_rbac_resource_names_hold_through_the_aggregator(
        control_plane: ControlPlane, attacker_cert: tuple[Path, Path]) -> None:
    admin = _admin(control_plane)
    prober = bypass.Prober(lambda: _through(control_plane, attacker_cert), admin, NS)
    prober.setup()
    user = _through(control_plane, attacker_cert)
    assert user.request("GET", f"{bypass.FISCHERS}/fuzz-a").status == 200
    denied = user.request("GET", f"{bypass.FISCHERS}/fuzz-b")
    assert denied.status == 403, denied.body
    assert json.loads(denied.body)["reason"] == "Forbidden"
    user.close()
    attempts = bypass.reads(NS) + bypass.writes(NS)
    prober.run(attempts)
    prober.check_untouched()
    bypass.count(prober)
    admin.close()
    assert prober.attempts == len(attempts)
    assert not prober.bypasses, "\n".join(prober.bypasses)
    assert not prober.errors, "\n".join(prober.errors)


def test_fuzz_through_the_aggregator(control_plane: ControlPlane, wardle: AggregatedServer,
                                     capsys: Any) -> None:
    """The OpenAPI-driven fuzzer as admin through kube-apiserver (a shorter run)."""
    admin = _admin(control_plane)
    ca = Identity(control_plane.pki.crt("ca"))

    def ready() -> bool:
        client = Client(wardle.port, ca, timeout=10)
        try:
            return client.request("GET", "/readyz").status == 200
        except OSError:
            return False
        finally:
            client.close()

    try:
        run = fuzz({"admin": admin}, alive=lambda: wardle.process.running, ready=ready,
                   examples=FUZZ_EXAMPLES, budget=40, identities=("admin",))
    finally:
        admin.close()
    with capsys.disabled():
        print("\nthrough the aggregator: " + run.describe("derandomized"))
    assert run.sent >= 50
    assert not run.problems, "\n".join(run.problems[:30])

