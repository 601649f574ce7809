"""The manager's health checks and cycle, and the informers' list+watch, on fakes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from examples.metrics_server.cluster import APIError
from examples.metrics_server.informers import (
    PARTIAL,
    PARTIAL_LIST,
    Informer,
    NodeInfo,
    node_info,
    pod_informer,
)
from examples.metrics_server.manager import MetricsManager
from examples.metrics_server.options import MetricsOptions
from examples.metrics_server.points import MetricsPoint, NodeScrape
from examples.metrics_server.scraper import CycleResult, _NodeState


def test_node_info_reads_what_the_scraper_needs() -> None:
    info = node_info({"metadata": {"name": "n1", "labels": {"a": "b"}, "annotations": {
        "metrics.k8s.io/resource-metrics-path": "/metrics/nodes/n1/metrics/resource"}},
        "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}],
                   "daemonEndpoints": {"kubeletEndpoint": {"Port": 10247}}}})
    assert info == NodeInfo("n1", {"a": "b"}, (("InternalIP", "10.0.0.1"),), 10247,
                            "/metrics/nodes/n1/metrics/resource")


class FakeSource:
    def __init__(self) -> None:
        self.pages: list[dict[str, Any]] = []
        self.events: asyncio.Queue[dict[str, Any] | Exception] = asyncio.Queue()
        self.asked: list[tuple[str, list[tuple[str, str]], str]] = []

    async def get(self, path: str, query: list[tuple[str, str]], accept: str,
                  request_timeout: float = 60.0) -> dict[str, Any]:
        self.asked.append((path, query, accept))
        return self.pages.pop(0)

    async def stream(self, path: str, query: list[tuple[str, str]], accept: str,
                     timeout_seconds: int) -> AsyncIterator[dict[str, Any]]:
        self.asked.append((path, query, accept))
        while True:
            event = await self.events.get()
            if isinstance(event, Exception):
                raise event
            yield event


def pod(name: str, rv: str, **labels: str) -> dict[str, Any]:
    return {"metadata": {"name": name, "namespace": "ns", "resourceVersion": rv,
                         "labels": labels}}


async def wait_for(predicate: Any) -> None:
    async with asyncio.timeout(5):
        while not predicate():  # noqa: ASYNC110 - polling a plain dict
            await asyncio.sleep(0.01)


async def test_pod_informer_lists_pages_then_follows_the_watch() -> None:
    source = FakeSource()
    source.pages = [
        {"metadata": {"continue": "c1", "resourceVersion": "5"}, "items": [pod("a", "1")]},
        {"metadata": {"resourceVersion": "7"}, "items": [pod("b", "2")]},
    ]
    items: dict[tuple[str, str], Any] = {}
    informer = pod_informer(source, items)
    informer.start()
    await asyncio.wait_for(informer.synced.wait(), 5)
    assert set(items) == {("ns", "a"), ("ns", "b")}
    path, query, accept = source.asked[0]
    assert path == "/api/v1/pods" and accept == PARTIAL_LIST
    assert ("fieldSelector", "status.phase=Running") in query
    assert ("continue", "c1") in source.asked[1][1]
    await source.events.put({"type": "ADDED", "object": pod("c", "8", app="x")})
    await source.events.put({"type": "DELETED", "object": pod("a", "9")})
    await wait_for(lambda: ("ns", "c") in items and ("ns", "a") not in items)
    watch = source.asked[2]
    assert watch[2] == PARTIAL and ("resourceVersion", "7") in watch[1]
    assert items["ns", "c"].labels == {"app": "x"}
    # 410: relist from scratch; what the new list lacks is gone
    source.pages = [{"metadata": {"resourceVersion": "20"}, "items": [pod("z", "20")]}]
    await source.events.put(APIError(410, "too old resource version"))
    await wait_for(lambda: set(items) == {("ns", "z")})
    await informer.stop()


async def test_deleted_nodes_are_reported() -> None:
    source = FakeSource()
    source.pages = [{"metadata": {"resourceVersion": "1"}, "items": [
        {"metadata": {"name": "n1"}}, {"metadata": {"name": "n2"}}]}]
    gone: list[str] = []
    informer: Informer[str, NodeInfo] = Informer(
        source, "/api/v1/nodes", node_info, lambda n: n.name,
        on_delete=lambda n: gone.append(n.name))
    informer.start()
    await asyncio.wait_for(informer.synced.wait(), 5)
    await source.events.put({"type": "DELETED", "object": {"metadata": {"name": "n2"}}})
    await wait_for(lambda: gone == ["n2"])
    await informer.stop()


class FakeScraper:
    def __init__(self, result: CycleResult) -> None:
        self.result = result
        self.asked: list[list[str]] = []

    async def scrape(self, nodes: list[NodeInfo]) -> CycleResult:
        self.asked.append(sorted(n.name for n in nodes))
        return self.result

    async def close(self) -> None:
        pass


def point(ts: int) -> MetricsPoint:
    return MetricsPoint(timestamp=ts * 10**9, cpu=ts * 10**9, memory=1, has_cpu=True,
                        has_memory=True)


async def test_a_cycle_scrapes_selected_nodes_and_readiness_follows_storage() -> None:
    from k8s_aggapi.registry.selectors import LabelSelector

    m = MetricsManager(MetricsOptions(node_selector=LabelSelector.parse("skip!=true")))
    m.nodes.update({"n1": NodeInfo("n1", {}, (), 0, ""),
                    "n2": NodeInfo("n2", {"skip": "true"}, (), 0, "")})
    with pytest.raises(RuntimeError, match="no metrics to serve"):
        await m.check_storage_ready()
    with pytest.raises(RuntimeError, match="not synced"):
        await m.check_informer_sync()
    await m.check_collection_timely()  # passes before the first tick
    for ts in (10, 20):
        fake = FakeScraper(CycleResult({"n1": NodeScrape(node=point(ts))}, []))
        m.scraper = fake  # type: ignore[assignment]
        await m.tick()
    assert fake.asked == [["n1"]]
    await m.check_storage_ready()  # node data, and no running pod known: ready (ours)
    m.pods[("ns", "p")] = object()  # type: ignore[assignment]
    with pytest.raises(RuntimeError):
        await m.check_storage_ready()  # a running pod without data: upstream v0.9.0's AND


async def test_collection_timely_fails_when_the_last_tick_is_old() -> None:
    import time

    m = MetricsManager(MetricsOptions(resolution=15))
    m.last_tick_start = time.monotonic() - 30
    with pytest.raises(RuntimeError, match="metric collection didn't finish on time"):
        await m.check_collection_timely()
    m.last_tick_start = time.monotonic()
    await m.check_collection_timely()


def test_health_checks_in_upstreams_order() -> None:
    checks = MetricsManager(MetricsOptions()).health_checks()
    assert list(checks.checks("readyz")) == [
        "ping", "log", "metric-storage-ready", "metric-informer-sync",
        "metadata-informer-sync", "shutdown"]
    assert list(checks.checks("livez")) == [
        "ping", "log", "metric-collection-timely", "metadata-informer-sync"]
    assert list(checks.checks("healthz")) == ["ping", "log", "metadata-informer-sync"]


def test_a_deleted_node_loses_its_series_and_cache() -> None:
    m = MetricsManager(MetricsOptions())
    m.monitoring.kubelet_requests.node("gone").observe(0.1, 1.0)
    m.scraper._nodes["gone"] = _NodeState(m.monitoring, "gone")
    m._node_deleted(NodeInfo("gone", {}, (), 0, ""))
    samples = [s for fam in m.monitoring.registry.collect() for s in fam.samples
               if s.labels.get("node") == "gone"]
    assert samples == [] and "gone" not in m.scraper._nodes
