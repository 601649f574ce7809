"""The storage a server runs on, from its flags: memory or etcd, behind the watch cache.

`build_storage(StorageOptions(...))` gives the `Storage` to hand to the API groups, the one
component to start and stop with the server (the etcd compactor, the cache's watches, the
etcd channel), and the health checks to add (`etcd` on every endpoint and `etcd-readiness`
on /readyz, as kube-apiserver names them). etcd is imported only when asked for, so a
memory server needs no gRPC; without the `[etcd]` extra the ImportError says what to install.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from k8s_aggapi.limits import DEFAULT_LIMITS
from k8s_aggapi.storage.cacher import Cacher
from k8s_aggapi.storage.etcd.config import EtcdConfig
from k8s_aggapi.storage.interface import Storage
from k8s_aggapi.storage.memory import MemoryStorage

BACKENDS = ("memory", "etcd")
Check = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class StorageOptions:
    """`--storage`, the `--etcd-*` flags and `--watch-cache` (upstream's, default true)."""

    backend: str = "memory"
    etcd: EtcdConfig = field(default_factory=EtcdConfig)
    watch_cache: bool = True
    watch_queue_length: int = DEFAULT_LIMITS.watch_queue_length

    def __post_init__(self) -> None:
        if self.backend not in BACKENDS:
            raise ValueError(f"--storage must be one of {', '.join(BACKENDS)}, not "
                             f"{self.backend!r}")


class StorageLifecycle:
    """Started before the server serves, stopped after it: compaction, cache, channel."""

    def __init__(self) -> None:
        self.starts: list[Callable[[], Awaitable[None]]] = []
        self.stops: list[Callable[[], Awaitable[None]]] = []

    async def start(self) -> None:
        for start in self.starts:
            await start()

    async def stop(self) -> None:
        for stop in reversed(self.stops):
            await stop()


@dataclass(frozen=True)
class BuiltStorage:
    storage: Storage
    lifecycle: StorageLifecycle
    checks: dict[str, Check]  # every endpoint
    readyz_checks: dict[str, Check]


def build_storage(options: StorageOptions) -> BuiltStorage:
    lifecycle = StorageLifecycle()
    checks: dict[str, Check] = {}
    readyz: dict[str, Check] = {}
    backend: Storage
    if options.backend == "etcd":
        from k8s_aggapi.storage.etcd import Compactor, EtcdStorage  # the [etcd] extra

        etcd = EtcdStorage(options.etcd)
        checks["etcd"] = readyz["etcd-readiness"] = etcd.check_health
        lifecycle.stops.append(etcd.close)
        if options.etcd.compaction_interval > 0:
            holder: list[Compactor] = []

            async def start_compactor() -> None:
                holder.append(Compactor(etcd.client, options.etcd.compaction_interval))
                await holder[0].start()

            async def stop_compactor() -> None:
                for compactor in holder:
                    await compactor.stop()

            lifecycle.starts.append(start_compactor)
            lifecycle.stops.append(stop_compactor)
        backend = etcd
    else:
        backend = MemoryStorage(watch_queue_length=options.watch_queue_length)
    if options.watch_cache:
        cacher = Cacher(backend, queue_length=options.watch_queue_length)
        lifecycle.stops.append(cacher.stop)
        backend = cacher
    return BuiltStorage(backend, lifecycle, checks, readyz)
