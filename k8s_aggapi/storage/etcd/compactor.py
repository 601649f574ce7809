"""Compaction as kube-apiserver's storage layer does it (`--etcd-compaction-interval`, 5m).

Every interval each server tries one transaction on the key `compact_rev_key`: "if its
version is still the one I saw last time, write the revision I saw last time". Only one of
several servers (replicas, or kube-apiserver on a shared etcd) wins each round; the winner
compacts at the revision recorded one interval ago. So history is kept for at least one
interval (a watch or a paged list younger than that can resume), and etcd does not grow
without bound however many servers share it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from k8s_aggapi.storage.etcd.client import Compacted, EtcdClient, rpc
from k8s_aggapi.storage.interface import StorageError

log = logging.getLogger("k8s_aggapi.storage.etcd")

COMPACT_REV_KEY = b"compact_rev_key"  # the key upstream's servers coordinate on


class Compactor:
    """A component (start/stop) compacting etcd every `interval` seconds (0: never)."""

    def __init__(self, client: EtcdClient, interval: float) -> None:
        self.client, self.interval = client, interval
        self._seen_version = 0  # the key's version at our last round
        self._seen_revision = 0  # etcd's revision at our last round
        self._task: asyncio.Task[None] | None = None
        self.compacted: list[int] = []  # revisions this server compacted at (tests read it)

    async def start(self) -> None:
        if self.interval > 0 and self._task is None:
            self._task = asyncio.create_task(self._loop(), name="etcd compactor")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await self.round()
            except StorageError as exc:
                log.warning("etcd: compaction round failed: %s", exc)

    async def round(self) -> None:
        """One round: record, and compact at the previous round's revision if we won."""
        key = COMPACT_REV_KEY
        response = await self.client.txn(
            [rpc.Compare(key=key, result=rpc.Compare.EQUAL, target=rpc.Compare.VERSION,
                         version=self._seen_version)],
            [rpc.RequestOp(request_put=rpc.PutRequest(
                key=key, value=str(self._seen_revision).encode()))],
            [rpc.RequestOp(request_range=rpc.RangeRequest(key=key))])
        previous, self._seen_revision = self._seen_revision, int(response.header.revision)
        if not response.succeeded:  # another server won this round
            kvs = response.responses[0].response_range.kvs
            self._seen_version = int(kvs[0].version) if kvs else 0
            return
        self._seen_version += 1
        if previous == 0:
            return  # the first round only records (no compaction at start-up)
        with contextlib.suppress(Compacted):  # already compacted past it
            await self.client.compact(previous)
        self.compacted.append(previous)
        log.info("etcd: compacted at revision %d", previous)
