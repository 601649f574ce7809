"""Real etcd for the storage tests: the envtest-built etcd (v3.6.14), leashed, on loopback.

Without the binary the tests skip (fail under CI / AGGAPI_E2E_REQUIRED=1, as e2e does).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from k8s_aggapi.envtest.binaries import find_binary
from k8s_aggapi.envtest.etcd import EtcdCluster
from k8s_aggapi.envtest.pytest_plugin import e2e_required

pytestmark = pytest.mark.integration


def _binary() -> Path:
    found = find_binary("etcd")
    if found is None:
        if e2e_required():
            pytest.fail("no etcd binary (run `make binaries`)")
        pytest.skip("no etcd binary (run `make binaries`)")
    return found


@pytest.fixture(scope="module")
def etcd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    """One plain-HTTP etcd member for the module."""
    cluster = EtcdCluster(tmp_path_factory.mktemp("etcd"), binary=_binary())
    with cluster:
        yield cluster


@pytest.fixture(scope="module")
def etcd_tls(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    """One etcd member over TLS that requires client certificates."""
    cluster = EtcdCluster(tmp_path_factory.mktemp("etcd-tls"), tls=True, binary=_binary())
    with cluster:
        yield cluster


@pytest.fixture
def etcd_factory(tmp_path: Path) -> Iterator[type[EtcdCluster]]:
    """For tests that kill and restart etcd: they build their own (stopped afterwards)."""
    made: list[EtcdCluster] = []

    class Made(EtcdCluster):
        def __init__(self, *args: object, **kwargs: object) -> None:
            kwargs.setdefault("binary", _binary())
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]
            made.append(self)

    yield Made
    for cluster in made:
        cluster.stop()


def fresh_prefix() -> str:
    return f"/test-{uuid.uuid4().hex[:8]}"
