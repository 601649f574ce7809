"""The etcd backend's own behaviour on a real etcd: TLS refusals, compaction rounds shared by
two servers, progress notifications as bookmarks, a watch resumed across an etcd restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from k8s_aggapi.envtest.etcd import EtcdCluster
from k8s_aggapi.storage import Expired, Unavailable
from k8s_aggapi.storage.cacher import Cacher
from k8s_aggapi.storage.etcd import Compactor, EtcdConfig, EtcdStorage
from tests.integration.etcd.conftest import fresh_prefix

pytestmark = pytest.mark.integration
WAIT = 20.0


def _obj(name: str, **fields: object) -> dict:
    return {"metadata": {"name": name}, **fields}


async def test_tls_needs_a_client_certificate_from_etcd_s_ca(etcd_tls: EtcdCluster,
                                                             tmp_path: Path) -> None:
    tls = etcd_tls.tls
    assert tls is not None
    servers = tuple(etcd_tls.servers)
    good = EtcdStorage(EtcdConfig(servers=servers, prefix=fresh_prefix(), cafile=str(tls.ca),
                                  certfile=str(tls.client_cert), keyfile=str(tls.client_key)))
    stranger_cert, stranger_key = tls.other_client(tmp_path)
    refused = [
        EtcdConfig(servers=servers, cafile=str(tls.ca), request_timeout=3),  # no client cert
        EtcdConfig(servers=servers, cafile=str(tls.ca), certfile=str(stranger_cert),
                   keyfile=str(stranger_key), request_timeout=3),
        EtcdConfig(servers=servers, certfile=str(tls.client_cert),  # etcd's CA not trusted
                   keyfile=str(tls.client_key), request_timeout=3),
    ]
    try:
        await good.create("/t/a", _obj("a"))
        assert (await good.get("/t/a"))["metadata"]["name"] == "a"
        await good.check_health()
        for config in refused:
            bad = EtcdStorage(config)
            try:
                with pytest.raises(Unavailable):
                    await bad.get("/t/a")
                with pytest.raises(Unavailable):
                    await bad.check_health()
            finally:
                await bad.close()
    finally:
        await good.close()


async def test_compaction_rounds_are_shared_by_two_servers(etcd: EtcdCluster) -> None:
    one = EtcdStorage(EtcdConfig(servers=tuple(etcd.servers), prefix=fresh_prefix()))
    two = EtcdStorage(EtcdConfig(servers=tuple(etcd.servers), prefix=fresh_prefix()))
    a, b = Compactor(one.client, 300), Compactor(two.client, 300)
    try:
        # another server may have compacted this etcd already: learn the key's version first
        await a.round()
        await b.round()
        await a.round()
        await b.round()
        start = len(a.compacted) + len(b.compacted)
        first = await one.create("/c/x", _obj("x"))
        for i in range(3):
            await one.update("/c/x", _obj("x", v=i), expected_revision=None)
        rounds = [a.round, b.round, b.round, a.round, a.round, b.round]
        for r in rounds:
            await r()
        done = a.compacted + b.compacted
        assert len(done) - start >= 2, (a.compacted, b.compacted)  # one winner per round
        with pytest.raises(Expired):
            await one.get("/c/x", at_revision=int(first["metadata"]["resourceVersion"]))
        assert (await one.get("/c/x"))["v"] == 2
    finally:
        await one.close()
        await two.close()


async def test_progress_notifications_come_as_bookmarks(etcd: EtcdCluster) -> None:
    s = EtcdStorage(EtcdConfig(servers=tuple(etcd.servers), prefix=fresh_prefix()))
    try:
        start = await s.current_revision()
        events = aiter(s.watch("/quiet/", after_revision=start))
        pending = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0.2)
        other = await s.create("/elsewhere/a", _obj("a"))  # not under the watched prefix
        await s.request_progress()
        while True:
            event = await asyncio.wait_for(pending, WAIT)
            assert event.type == "BOOKMARK"
            if event.revision >= int(other["metadata"]["resourceVersion"]):
                break
            pending = asyncio.ensure_future(anext(events))
        await events.aclose()  # type: ignore[attr-defined]
    finally:
        await s.close()


async def test_a_watch_resumes_across_an_etcd_restart(etcd_factory, tmp_path: Path) -> None:
    cluster = etcd_factory(tmp_path / "etcd").start()
    s = Cacher(EtcdStorage(EtcdConfig(servers=tuple(cluster.servers), prefix="/registry")))
    try:
        listed = await s.list("/g/r/")
        events = aiter(s.watch("/g/r/", after_revision=listed.revision))
        pending = asyncio.ensure_future(anext(events))
        await asyncio.sleep(0.2)
        before = await s.create("/g/r/n/before", _obj("before"))
        assert (await asyncio.wait_for(pending, WAIT)).revision == int(
            before["metadata"]["resourceVersion"])
        cluster.kill(0)
        with pytest.raises(Unavailable):
            await s.create("/g/r/n/gap", _obj("gap"))
        await asyncio.to_thread(cluster.restart, 0)
        deadline = asyncio.get_running_loop().time() + WAIT
        while True:
            try:
                after = await s.create("/g/r/n/after", _obj("after"))
                break
            except Unavailable:
                assert asyncio.get_running_loop().time() < deadline
                await asyncio.sleep(0.2)
        while True:
            event = await asyncio.wait_for(anext(events), WAIT)
            if event.type != "BOOKMARK":
                break
        assert (event.type, event.key) == ("ADDED", "/g/r/n/after")
        assert event.revision == int(after["metadata"]["resourceVersion"])
        listed = await s.list("/g/r/")
        assert [o["metadata"]["name"] for o in listed.items] == ["after", "before"]
        await events.aclose()  # type: ignore[attr-defined]
    finally:
        await s.stop()
        assert isinstance(s.backend, EtcdStorage)
        await s.backend.close()
