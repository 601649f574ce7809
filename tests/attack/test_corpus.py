"""Every case of corpus.yaml straight to the sample over real TLS: the code kube-apiserver
answers, a metav1.Status for every error, nothing stored or deleted, LISTs still served.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.attack import corpus
from tests.attack.server import SampleServer

CASES = corpus.load()


@pytest.fixture(scope="module")
def runner(dev_server: SampleServer) -> Iterator[corpus.Runner]:
    clients = {
        "admin": dev_server.client("admin"),
        "anonymous": dev_server.client(None),
        "front-proxy": dev_server.client("front-proxy-client"),
    }
    yield corpus.Runner(clients)
    for client in clients.values():
        client.close()


def test_corpus_ids_are_unique() -> None:
    ids = [case["id"] for case in CASES]
    assert len(ids) == len(set(ids))
    assert len(ids) > 60


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case: dict, runner: corpus.Runner, dev_server: SampleServer) -> None:
    problems = runner.run(case, f"atk-{CASES.index(case)}")
    assert not problems, "\n".join(problems)
