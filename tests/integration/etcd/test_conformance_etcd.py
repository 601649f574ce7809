"""The storage conformance suite, unchanged, against a real etcd (plain and over TLS)."""

from __future__ import annotations

import pytest

from k8s_aggapi.envtest.etcd import EtcdCluster
from k8s_aggapi.storage import Storage
from k8s_aggapi.storage.cacher import Cacher
from k8s_aggapi.storage.conformance import CHECKS, Conformance
from k8s_aggapi.storage.etcd import EtcdConfig, EtcdStorage
from tests.integration.etcd.conftest import fresh_prefix

pytestmark = pytest.mark.integration


def _config(cluster: EtcdCluster) -> EtcdConfig:
    tls = cluster.tls
    return EtcdConfig(
        servers=tuple(cluster.servers), prefix=fresh_prefix(),
        cafile=str(tls.ca) if tls else "", certfile=str(tls.client_cert) if tls else "",
        keyfile=str(tls.client_key) if tls else "")


async def _compact(storage: Storage, revision: int) -> None:
    assert isinstance(storage, EtcdStorage)
    await storage.compact(revision)


@pytest.mark.parametrize("check", CHECKS)
async def test_etcd_storage_conforms(etcd: EtcdCluster, check: str) -> None:
    made: list[EtcdStorage] = []

    async def factory() -> Storage:
        made.append(EtcdStorage(_config(etcd)))
        return made[-1]

    try:
        await Conformance(factory, _compact).run(check)
    finally:
        for s in made:
            await s.close()


@pytest.mark.parametrize("check", ["create_and_get", "watch_from_revision", "list_pages"])
async def test_etcd_storage_conforms_over_tls(etcd_tls: EtcdCluster, check: str) -> None:
    made: list[EtcdStorage] = []

    async def factory() -> Storage:
        made.append(EtcdStorage(_config(etcd_tls)))
        return made[-1]

    try:
        await Conformance(factory, _compact).run(check)
    finally:
        for s in made:
            await s.close()


@pytest.mark.parametrize("check", CHECKS)
async def test_the_watch_cache_over_etcd_conforms(etcd: EtcdCluster, check: str) -> None:
    made: list[Cacher] = []

    async def factory() -> Storage:
        made.append(Cacher(EtcdStorage(_config(etcd))))
        return made[-1]

    async def compact(storage: Storage, revision: int) -> None:
        assert isinstance(storage, Cacher)
        await _compact(storage.backend, revision)

    try:
        await Conformance(factory, compact).run(check)
    finally:
        for c in made:
            await c.stop()
            assert isinstance(c.backend, EtcdStorage)
            await c.backend.close()
