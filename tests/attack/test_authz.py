"""Name-scoped authorization: the sample (not in dev mode) asks a SubjectAccessReview stand-in
on loopback that lets `fuzz-user` touch only `fuzz-a`. Every bypass attempt of bypass.py runs
as that user, by client certificate and through the front proxy; zero bypasses allowed.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from k8s_aggapi.devmode import ensure_dev_pki
from k8s_aggapi.serving.certs import KeyPair, new_cert
from tests.attack import bypass
from tests.attack.http import Client
from tests.attack.sar import USER, SARServer
from tests.attack.server import SampleServer, free_port


@pytest.fixture(scope="module")
def sar(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SARServer]:
    with SARServer(tmp_path_factory.mktemp("sar")) as server:
        yield server


@pytest.fixture(scope="module")
def authz_server(tmp_path_factory: pytest.TempPathFactory,
                 sar: SARServer) -> Iterator[SampleServer]:
    directory = tmp_path_factory.mktemp("attack-authz")
    port = free_port()
    pki = ensure_dev_pki(directory, server=f"https://127.0.0.1:{port}")
    client_ca = KeyPair.load(*pki.pair("client-ca"))
    new_cert(client_ca, USER, client=True).write(*pki.pair(USER))
    server = SampleServer(directory, [
        "--bind-address=127.0.0.1",
        f"--tls-cert-file={pki.serving_cert}", f"--tls-private-key-file={pki.serving_key}",
        f"--client-ca-file={pki.client_ca}",
        f"--requestheader-client-ca-file={pki.front_proxy_ca}",
        "--requestheader-allowed-names=front-proxy-client",
        "--authentication-skip-lookup",
        f"--authorization-kubeconfig={sar.kubeconfig}",
    ], ca=pki.serving_ca, port=port)
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _identities(server: SampleServer) -> dict[str, object]:
    return {
        "x509": lambda: server.client(USER),
        "front-proxy": lambda: server.client("front-proxy-client", **{"X-Remote-User": USER}),
    }


@pytest.fixture
def admin(authz_server: SampleServer) -> Iterator[Client]:
    client = authz_server.client("admin")
    yield client
    client.close()


def test_policy_is_name_scoped(authz_server: SampleServer, admin: Client,
                               sar: SARServer) -> None:
    """The policy works as RBAC's resourceNames would: fuzz-a yes, fuzz-b no."""
    prober = bypass.Prober(lambda: authz_server.client(USER), admin, "default")
    prober.setup()
    user = authz_server.client(USER)
    assert user.request("GET", f"{bypass.FISCHERS}/fuzz-a").status == 200
    denied = user.request("GET", f"{bypass.FISCHERS}/fuzz-b")
    assert denied.status == 403
    assert b'User \\"fuzz-user\\" cannot get resource \\"fischers\\"' in denied.body
    assert user.request("GET", f"{bypass.FISCHERS}?fieldSelector={bypass.NAME_A}").status == 200
    assert user.request("GET", bypass.FISCHERS).status == 403
    assert any(r.get("resourceAttributes", {}).get("name") == "fuzz-b" for r in sar.reviews)
    user.close()


@pytest.mark.parametrize("identity", ["x509", "front-proxy"])
@pytest.mark.parametrize("kind", ["reads", "writes"])
def test_no_bypass(authz_server: SampleServer, admin: Client, identity: str,
                   kind: str) -> None:
    attacker = _identities(authz_server)[identity]
    prober = bypass.Prober(attacker, admin, "default")  # type: ignore[arg-type]
    prober.setup()
    attempts = bypass.reads("default") if kind == "reads" else bypass.writes("default")
    prober.run(attempts)
    prober.check_untouched()
    bypass.count(prober)
    assert prober.attempts == len(attempts) > 20
    assert not prober.bypasses, "\n".join(prober.bypasses)
    assert not prober.errors, "\n".join(prober.errors)


def test_sar_stand_in_saw_every_request(authz_server: SampleServer, sar: SARServer) -> None:
    """Each verb's denial was decided by the webhook, not short-circuited before it (the test
    sends its own requests: the other tests of this module may run on another worker)."""
    user = authz_server.client(USER)
    b = f"{bypass.FISCHERS}/fuzz-b"
    patch = {"Content-Type": "application/merge-patch+json"}
    for method, target, body, headers in [
            ("GET", b, None, None), ("GET", bypass.FISCHERS, None, None),
            ("GET", f"{bypass.FISCHERS}?watch=1", None, None),
            ("PATCH", b, b"{}", patch), ("PUT", b, b"{}", {"Content-Type": "application/json"}),
            ("DELETE", b, None, None)]:
        assert user.request(method, target, body=body, headers=headers).status == 403, target
    user.close()
    users = {r.get("user") for r in sar.reviews}
    assert USER in users
    verbs = {r.get("resourceAttributes", {}).get("verb") for r in sar.reviews
             if r.get("user") == USER}
    assert {"get", "list", "watch", "patch", "update", "delete"} <= verbs
