"""Nodes and Running pods kept in memory by list+watch, as upstream's informers do.

Nodes are read whole (the scraper needs their addresses and kubelet port); pods only as
metadata (`as=PartialObjectMetadata`), with `status.phase=Running` chosen by kube-apiserver,
so a pod that stops running is deleted from the cache by the watch. Each cache keeps only
what the server uses: a node's labels, addresses, port and metrics path; a pod's labels.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from examples.metrics_server.cluster import JSON, APIError

log = logging.getLogger(__name__)

METRICS_PATH_ANNOTATION = "metrics.k8s.io/resource-metrics-path"
PARTIAL_LIST = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1"
PARTIAL = "application/json;as=PartialObjectMetadata;g=meta.k8s.io;v=v1"
PAGE = 500
WATCH_SECONDS = 300


@dataclass(frozen=True, slots=True)
class NodeInfo:
    name: str
    labels: dict[str, str]
    addresses: tuple[tuple[str, str], ...]  # (type, address) in status order
    kubelet_port: int  # status.daemonEndpoints.kubeletEndpoint.Port, 0 when unset
    metrics_path: str  # the annotation, "" when unset


@dataclass(frozen=True, slots=True)
class PodInfo:
    namespace: str
    name: str
    labels: dict[str, str]


def node_info(obj: JSON) -> NodeInfo:
    meta = obj.get("metadata") or {}
    status = obj.get("status") or {}
    addresses = tuple((str(a.get("type", "")), str(a.get("address", "")))
                      for a in status.get("addresses") or [])
    endpoint = ((status.get("daemonEndpoints") or {}).get("kubeletEndpoint") or {})
    return NodeInfo(name=str(meta.get("name", "")), labels=dict(meta.get("labels") or {}),
                    addresses=addresses, kubelet_port=int(endpoint.get("Port") or 0),
                    metrics_path=str((meta.get("annotations") or {}).get(
                        METRICS_PATH_ANNOTATION, "")))


def pod_info(obj: JSON) -> PodInfo:
    meta = obj.get("metadata") or {}
    return PodInfo(namespace=str(meta.get("namespace", "")), name=str(meta.get("name", "")),
                   labels=dict(meta.get("labels") or {}))


class Source(Protocol):
    async def get(self, path: str, query: list[tuple[str, str]], accept: str,
                  request_timeout: float = 60.0) -> JSON: ...

    def stream(self, path: str, query: list[tuple[str, str]], accept: str,
               timeout_seconds: int) -> Any: ...


K = TypeVar("K")
V = TypeVar("V")


class Informer(Generic[K, V]):
    """A cache of one kind: list (paged), then watch from the list's resourceVersion; relist
    on 410 or any error, with jittered backoff. `synced` is set after the first full list."""

    def __init__(self, source: Source, path: str, convert: Callable[[JSON], V],
                 key: Callable[[V], K], *, selector: str = "", metadata_only: bool = False,
                 on_delete: Callable[[V], None] | None = None,
                 items: dict[K, V] | None = None) -> None:
        self.source, self.path, self.convert, self.key = source, path, convert, key
        self.selector = selector
        self.accept = (PARTIAL_LIST, PARTIAL) if metadata_only else (
            "application/json", "application/json")
        self.on_delete = on_delete
        self.items: dict[K, V] = items if items is not None else {}  # updated in place
        self.synced = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _query(self) -> list[tuple[str, str]]:
        return [("fieldSelector", self.selector)] if self.selector else []

    async def _list(self) -> str:
        items: dict[K, V] = {}
        token, version = "", ""
        while True:
            query = [*self._query(), ("limit", str(PAGE))]
            if token:
                query.append(("continue", token))
            page = await self.source.get(self.path, query, self.accept[0])
            for obj in page.get("items") or []:
                value = self.convert(obj)
                items[self.key(value)] = value
            meta = page.get("metadata") or {}
            version = str(meta.get("resourceVersion", ""))
            token = str(meta.get("continue") or "")
            if not token:
                break
        gone = [v for k, v in self.items.items() if k not in items]
        self.items.clear()
        self.items.update(items)
        if self.on_delete is not None:
            for value in gone:
                self.on_delete(value)
        return version

    async def _watch(self, version: str) -> str:
        query = [*self._query(), ("watch", "true"), ("allowWatchBookmarks", "true"),
                 ("timeoutSeconds", str(WATCH_SECONDS)), ("resourceVersion", version)]
        async for event in self.source.stream(self.path, query, self.accept[1], WATCH_SECONDS):
            kind, obj = event.get("type"), event.get("object") or {}
            version = str((obj.get("metadata") or {}).get("resourceVersion", version))
            if kind == "BOOKMARK":
                continue
            value = self.convert(obj)
            if kind == "DELETED":
                removed = self.items.pop(self.key(value), None)
                if removed is not None and self.on_delete is not None:
                    self.on_delete(removed)
            else:
                self.items[self.key(value)] = value
        return version

    async def run(self) -> None:
        delay = 0.5
        version = ""
        while True:
            try:
                if not version:
                    version = await self._list()
                    self.synced.set()
                version = await self._watch(version)
                delay = 0.5
            except APIError as exc:
                if exc.status == 410:
                    version = ""
                    continue
                log.warning("%s: %s; relisting", self.path, exc)
                version = ""
                await asyncio.sleep(delay * (1 + random.random() * 0.2))
                delay = min(delay * 2, 30.0)

    def start(self) -> None:
        self._task = asyncio.create_task(self.run(), name=f"informer {self.path}")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def node_informer(source: Source, items: dict[str, NodeInfo],
                  on_delete: Callable[[NodeInfo], None] | None = None
                  ) -> Informer[str, NodeInfo]:
    return Informer(source, "/api/v1/nodes", node_info, lambda n: n.name, on_delete=on_delete,
                    items=items)


def pod_informer(source: Source, items: dict[tuple[str, str], PodInfo]
                 ) -> Informer[tuple[str, str], PodInfo]:
    return Informer(source, "/api/v1/pods", pod_info, lambda p: (p.namespace, p.name),
                    selector="status.phase=Running", metadata_only=True, items=items)
