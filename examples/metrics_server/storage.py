"""Two points per node and per container, and the usage they give: upstream's storage rules
(`pkg/storage/{node,pod}.go`), kept per scraped node so that a failed scrape need not forget it.

Upstream's rules, each pinned by a unit test:
- a new point becomes `last`; the old `last` becomes `prev` when the new point is newer, an
  older `prev` is kept when the new point falls between them (out of order), else none;
- a container younger than the resolution (but at least 10 s old) gets a synthetic `prev` at
  its start time with zero CPU ("fresh container"), so it has data after one scrape; a
  restarted container (new start time) starts over the same way;
- usage needs both points; a counter or start time that went backwards gives none;
- a pod is shown only when every container has two points; containers whose usage fails are
  left out (the pod may show `containers: []`, as upstream);
- a pod's timestamp and window are those of its container with the earliest timestamp.

Ours, on purpose (docs/metrics-server.md):
- a node whose scrape *failed* keeps its last good data (and its pods') for a grace period
  instead of vanishing at once; a node that is gone, or left out by --node-selector, is
  forgotten at once, as is a pod a successful scrape no longer reports;
- containers are listed in name order (upstream: Go map order, different on every request).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from examples.metrics_server.formats import cpu_quantity, go_duration, memory_quantity, rfc3339
from examples.metrics_server.points import (
    FRESH_CONTAINER_MIN_NS,
    MetricsPoint,
    NodeScrape,
    Usage,
    UsageError,
    usage,
)

log = logging.getLogger(__name__)

PodKey = tuple[str, str]


@dataclass(slots=True)
class Series:
    last: MetricsPoint
    prev: MetricsPoint | None = None


def next_series(old: Series | None, new: MetricsPoint) -> Series:
    """Upstream's prev/last rule for a node (and a container with no restart)."""
    if old is None:
        return Series(new)
    if new.timestamp > old.last.timestamp:
        return Series(new, old.last)
    if old.prev is not None and old.prev.timestamp < new.timestamp:
        return Series(new, old.prev)
    return Series(new)


def next_container_series(old: Series | None, new: MetricsPoint, resolution_ns: int) -> Series:
    age = new.timestamp - new.start_time
    if new.start_time < new.timestamp and FRESH_CONTAINER_MIN_NS <= age < resolution_ns:
        return Series(new, MetricsPoint(start_time=new.start_time, timestamp=new.start_time))
    if old is not None and new.start_time < old.last.timestamp:
        return next_series(old, new)
    return Series(new)


def usage_wire(u: Usage) -> dict[str, str]:
    return {"cpu": cpu_quantity(u.cpu), "memory": memory_quantity(u.memory)}


@dataclass(slots=True)
class NodeValue:
    """A node's usage, with its wire strings made on first read."""

    usage: Usage
    _wire: tuple[str, str, dict[str, str]] | None = None

    def wire(self) -> tuple[str, str, dict[str, str]]:
        """(timestamp, window, usage) as metrics-server writes them."""
        if self._wire is None:
            u = self.usage
            self._wire = (rfc3339(u.timestamp), go_duration(u.window), usage_wire(u))
        return self._wire


@dataclass(slots=True)
class PodValue:
    """A pod's containers' usage (name order); timestamp None when no container has any."""

    timestamp: int | None
    window: int
    containers: list[tuple[str, Usage]]
    _wire: tuple[str | None, str, list[dict[str, Any]]] | None = None

    def wire(self) -> tuple[str | None, str, list[dict[str, Any]]]:
        if self._wire is None:
            ts = rfc3339(self.timestamp) if self.timestamp is not None else None
            containers = [{"name": n, "usage": usage_wire(u)} for n, u in self.containers]
            self._wire = (ts, go_duration(self.window), containers)
        return self._wire

    def total(self) -> tuple[int, int]:
        """(nanocores, bytes) summed over containers, as the Table shows a pod."""
        return (sum(u.cpu for _, u in self.containers),
                sum(u.memory for _, u in self.containers))


@dataclass(slots=True)
class NodeEntry:
    """What the last successful scrape of one node left."""

    scraped_at: float
    node: Series | None = None
    pods: dict[PodKey, dict[str, Series]] = field(default_factory=dict)
    node_value: NodeValue | None = None
    pod_values: dict[PodKey, PodValue] = field(default_factory=dict)


def _node_value(series: Series | None, name: str) -> NodeValue | None:
    if series is None or series.prev is None:
        return None
    try:
        return NodeValue(usage(series.prev, series.last))
    except UsageError as exc:
        log.info("skipping node %s: %s", name, exc)
        return None


def _pod_value(containers: Mapping[str, Series], key: PodKey) -> PodValue | None:
    if any(s.prev is None for s in containers.values()):
        return None
    earliest: Usage | None = None
    out: list[tuple[str, Usage]] = []
    for name in sorted(containers):
        series = containers[name]
        assert series.prev is not None
        try:
            u = usage(series.prev, series.last)
        except UsageError as exc:
            log.info("skipping container %s in pod %s/%s: %s", name, key[0], key[1], exc)
            continue
        out.append((name, u))
        if earliest is None or u.timestamp < earliest.timestamp:
            earliest = u
    if earliest is None:
        return PodValue(None, 0, out)
    return PodValue(earliest.timestamp, earliest.window, out)


class MetricsStorage:
    """All nodes' entries; `store` takes one scrape cycle, the getters serve the API."""

    def __init__(self, resolution: float, grace_period: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.resolution_ns = int(resolution * 1e9)
        self.grace_period = grace_period
        self.clock = clock
        self.entries: dict[str, NodeEntry] = {}
        self._pods: dict[PodKey, PodValue] = {}
        self._pod_series: dict[PodKey, dict[str, Series]] = {}

    def store(self, scraped: Mapping[str, NodeScrape], failed: Iterable[str] = ()) -> list[str]:
        """Take a cycle: `scraped` nodes' new data, `failed` nodes kept within the grace
        period; every other node is forgotten. Returns the names of the nodes forgotten."""
        now = self.clock()
        entries: dict[str, NodeEntry] = {}
        for name in failed:
            old = self.entries.get(name)
            if old is not None and now - old.scraped_at <= self.grace_period:
                entries[name] = old
        for name, scrape in scraped.items():
            entries[name] = self._entry(name, scrape, now)
        forgotten = [name for name in self.entries if name not in entries]
        self.entries = entries
        self._index()
        return forgotten

    def _entry(self, name: str, scrape: NodeScrape, now: float) -> NodeEntry:
        old = self.entries.get(name)
        entry = NodeEntry(now)
        if scrape.node is not None:
            entry.node = next_series(old.node if old else None, scrape.node)
        entry.node_value = _node_value(entry.node, name)
        for key, containers in scrape.pods.items():
            old_pod = self._pod_series.get(key, {})
            pod = {c: next_container_series(old_pod.get(c), point, self.resolution_ns)
                   for c, point in containers.items()}
            entry.pods[key] = pod
            value = _pod_value(pod, key)
            if value is not None:
                entry.pod_values[key] = value
        return entry

    def _index(self) -> None:
        pods: dict[PodKey, PodValue] = {}
        series: dict[PodKey, dict[str, Series]] = {}
        # freshest first, so a pod reported by two nodes (one within its grace) is the newer's
        for entry in sorted(self.entries.values(), key=lambda e: e.scraped_at, reverse=True):
            for key, pod in entry.pods.items():
                series.setdefault(key, pod)
            for key, value in entry.pod_values.items():
                pods.setdefault(key, value)
        self._pods, self._pod_series = pods, series

    # reads ----------------------------------------------------------------
    def node(self, name: str) -> NodeValue | None:
        entry = self.entries.get(name)
        return entry.node_value if entry is not None else None

    def pod(self, namespace: str, name: str) -> PodValue | None:
        return self._pods.get((namespace, name))

    def has_node_data(self) -> bool:
        return any(e.node is not None and e.node.prev is not None for e in self.entries.values())

    def has_pod_data(self) -> bool:
        return any(s.prev is not None for pod in self._pod_series.values()
                   for s in pod.values())

    def points(self) -> tuple[int, int]:
        """(nodes, containers) with two points: upstream's metrics_server_storage_points."""
        nodes = sum(1 for e in self.entries.values() if e.node and e.node.prev)
        containers = sum(1 for pod in self._pod_series.values() for s in pod.values()
                         if s.prev is not None)
        return nodes, containers
