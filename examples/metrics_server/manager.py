"""The metrics server's moving part: informers, the scrape loop, storage, health checks.

`MetricsManager` is a core `Component`: started before the server accepts connections,
stopped after. Each tick (every `--metric-resolution`, the first at once, missed ticks
dropped, each bounded by the resolution) scrapes the selected nodes and stores the cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import time
from collections.abc import Awaitable, Callable

from examples.metrics_server.cluster import Cluster, Credentials, connect
from examples.metrics_server.informers import (
    Informer,
    NodeInfo,
    PodInfo,
    node_informer,
    pod_informer,
)
from examples.metrics_server.monitoring import Monitoring
from examples.metrics_server.options import MetricsOptions
from examples.metrics_server.scraper import Scraper
from examples.metrics_server.storage import MetricsStorage
from k8s_aggapi.health import HealthChecks

log = logging.getLogger(__name__)


class MetricsManager:
    def __init__(self, options: MetricsOptions, *,
                 connector: Callable[[str], Awaitable[Cluster]] = connect) -> None:
        self.options = options
        self.connector = connector
        self.monitoring = Monitoring(options.resolution)
        self.storage = MetricsStorage(options.resolution, options.grace_period)
        self.nodes: dict[str, NodeInfo] = {}
        self.pods: dict[tuple[str, str], PodInfo] = {}
        self._credentials = Credentials()
        self.scraper = Scraper(options.kubelet, self.monitoring, lambda: self._credentials,
                               keepalive=max(60.0, 3 * options.resolution))
        self.cluster: Cluster | None = None
        self.node_informer: Informer[str, NodeInfo] | None = None
        self.pod_informer: Informer[tuple[str, str], PodInfo] | None = None
        self.last_tick_start: float | None = None
        self._task: asyncio.Task[None] | None = None
        self._was_ready = False

    # lifecycle ------------------------------------------------------------
    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="metrics manager")

    async def _run(self) -> None:
        delay = 1.0
        while self.cluster is None:
            try:
                self.cluster = await self.connector(self.options.kubeconfig)
            except Exception as exc:
                log.error("cannot connect to kube-apiserver: %s", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 30.0)
        self.node_informer = node_informer(self.cluster, self.nodes, self._node_deleted)
        self.pod_informer = pod_informer(self.cluster, self.pods)
        self.node_informer.start()
        self.pod_informer.start()
        await self.node_informer.synced.wait()
        await self.pod_informer.synced.wait()
        log.info("informers synced: %d nodes, %d running pods", len(self.nodes),
                 len(self.pods))
        gc.freeze()  # what start-up made lives for good: keep it out of every collection
        await self._loop()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        for informer in (self.node_informer, self.pod_informer):
            if informer is not None:
                await informer.stop()
        await self.scraper.close()
        if self.cluster is not None:
            await self.cluster.close()

    def _node_deleted(self, node: NodeInfo) -> None:
        self.monitoring.forget_node(node.name)
        self.scraper.forget(node.name)

    # the loop -------------------------------------------------------------
    async def _loop(self) -> None:
        resolution = self.options.resolution
        next_tick = time.monotonic()
        while True:
            self.last_tick_start = started = time.monotonic()
            try:
                await asyncio.wait_for(self.tick(), timeout=resolution)
            except TimeoutError:
                log.warning("scrape cycle did not finish within %.0fs", resolution)
            except Exception:
                log.exception("scrape cycle failed")
            self.monitoring.tick_duration.observe(time.monotonic() - started)
            next_tick += resolution
            now = time.monotonic()
            if next_tick < now:  # missed ticks are dropped, as Go's ticker does
                next_tick += resolution * ((now - next_tick) // resolution + 1)
            await asyncio.sleep(next_tick - now)

    async def tick(self) -> None:
        if self.cluster is not None:
            self._credentials = await self.cluster.credentials()
        selector = self.options.node_selector
        nodes = [n for n in self.nodes.values() if selector.matches(n.labels)]
        result = await self.scraper.scrape(nodes)
        self.storage.store(result.scraped, result.failed)
        self.monitoring.set_points(*self.storage.points())
        ready = self._storage_ready()
        if ready != self._was_ready:
            log.info("storage is %s", "ready" if ready else "not ready")
            self._was_ready = ready
        log.debug("scraped %d nodes (%d failed)", len(result.scraped), len(result.failed))

    # health ---------------------------------------------------------------
    def _storage_ready(self) -> bool:
        # upstream v0.9.0: node AND pod data; ours: no pod data is needed where no pod runs
        return self.storage.has_node_data() and (self.storage.has_pod_data() or not self.pods)

    async def check_storage_ready(self) -> None:
        if not self._storage_ready():
            raise RuntimeError("no metrics to serve")

    async def check_informer_sync(self) -> None:
        for name, informer in (("node", self.node_informer), ("pod", self.pod_informer)):
            if informer is None or not informer.synced.is_set():
                raise RuntimeError(f"{name} informer not synced")

    async def check_metadata_informer(self) -> None:
        if self.pod_informer is None:
            raise RuntimeError("1 informers not started yet")

    async def check_collection_timely(self) -> None:
        last = self.last_tick_start
        if last is not None and time.monotonic() - last > 1.5 * self.options.resolution:
            raise RuntimeError("metric collection didn't finish on time")

    def health_checks(self) -> HealthChecks:
        """Upstream's checks in upstream's order (after ping and log)."""
        checks = HealthChecks()
        checks.add_readyz("metric-storage-ready", self.check_storage_ready)
        checks.add_readyz("metric-informer-sync", self.check_informer_sync)
        checks.add_livez("metric-collection-timely", self.check_collection_timely)
        checks.add("metadata-informer-sync", self.check_metadata_informer)
        return checks
