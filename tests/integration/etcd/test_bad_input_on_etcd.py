"""Bad input on etcd as on memory: every case of the attack corpus (bad bodies, patches, kinds,
names, oversized bodies, ...) against the sample with `--storage=etcd` on a real etcd: the
code kube-apiserver answers, a metav1.Status for every error, nothing stored or deleted."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from k8s_aggapi.envtest.etcd import EtcdCluster
from tests.attack import corpus
from tests.attack.server import SampleServer

pytestmark = pytest.mark.integration
CASES = corpus.load()


@pytest.fixture(scope="module")
def server_on_etcd(etcd: EtcdCluster, tmp_path_factory: pytest.TempPathFactory
                   ) -> Iterator[SampleServer]:
    directory = tmp_path_factory.mktemp("corpus-etcd")
    server = SampleServer(directory, [
        "--dev", f"--cert-dir={directory}", "--storage=etcd",
        f"--etcd-servers={','.join(etcd.servers)}", "--etcd-prefix=/corpus"],
        ca=directory / "serving-ca.crt")
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def runner(server_on_etcd: SampleServer) -> Iterator[corpus.Runner]:
    clients = {
        "admin": server_on_etcd.client("admin"),
        "anonymous": server_on_etcd.client(None),
        "front-proxy": server_on_etcd.client("front-proxy-client"),
    }
    yield corpus.Runner(clients)
    for client in clients.values():
        client.close()


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case_on_etcd(case: dict, runner: corpus.Runner) -> None:
    problems = runner.run(case, f"etcd-{CASES.index(case)}")
    assert not problems, "\n".join(problems)
