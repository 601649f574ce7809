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

Containers are kept as columns per node (`NodeEntry`): when a node reports the same series
as last time (the decoder then hands over the same `Layout`), and as usual every container
is older than the resolution and newer than its last point, the old `last` columns become
`prev` whole, with no per-container work. Usage is computed when a pod is first read in a
cycle (upstream computes it on every read).
"""

from __future__ import annotations

import logging
import time
from array import array
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from operator import gt, lt, sub
from typing import Any

from examples.metrics_server.formats import cpu_quantity, go_duration, memory_quantity, rfc3339
from examples.metrics_server.points import (
    FRESH_CONTAINER_MIN_NS,
    Layout,
    MetricsPoint,
    NodeScrape,
    PodKey,
    Usage,
    UsageError,
    usage,
    usage_of,
)

log = logging.getLogger(__name__)

NO_PREV = -1  # in a `prev_timestamp` column: this container has one point only


@dataclass(slots=True)
class Series:
    last: MetricsPoint
    prev: MetricsPoint | None = None


def next_series(old: Series | None, new: MetricsPoint) -> Series:
    """Upstream's prev/last rule for a node."""
    if old is None:
        return Series(new)
    if new.timestamp > old.last.timestamp:
        return Series(new, old.last)
    if old.prev is not None and old.prev.timestamp < new.timestamp:
        return Series(new, old.prev)
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


class NodeEntry:
    """What the last successful scrape of one node left: the node's series, and its
    containers' `last` (the scrape's columns) and `prev` columns."""

    __slots__ = (
        "_values",
        "aged",
        "cpu",
        "layout",
        "memory",
        "name",
        "node",
        "node_value",
        "prev_cpu",
        "prev_start",
        "prev_timestamp",
        "scraped_at",
        "start",
        "timestamp",
    )

    def __init__(self, name: str, scraped_at: float, node: Series | None, scrape: NodeScrape,
                 prev: tuple[array[int], array[int], array[int]], aged: bool) -> None:
        self.name, self.scraped_at, self.node = name, scraped_at, node
        self.node_value = _node_value(node, name)
        self.layout: Layout = scrape.layout
        self.cpu, self.memory = scrape.cpu, scrape.memory
        self.start, self.timestamp = scrape.start, scrape.timestamp
        self.prev_cpu, self.prev_start, self.prev_timestamp = prev
        self._values: dict[PodKey, PodValue | None] = {}
        # every container older than the resolution at its last point (what lets the next
        # scrape with the same start times skip two checks)
        self.aged = aged

    def two_points(self) -> int:
        """Containers with two points."""
        return len(self.prev_timestamp) - self.prev_timestamp.count(NO_PREV)

    def pod_value(self, key: PodKey) -> PodValue | None:
        if key in self._values:
            return self._values[key]
        slots = self.layout.pods.get(key, ())
        value = _pod_value(self, key, slots) if slots else None
        self._values[key] = value
        return value


def _node_value(series: Series | None, name: str) -> NodeValue | None:
    if series is None or series.prev is None:
        return None
    try:
        return NodeValue(usage(series.prev, series.last))
    except UsageError as exc:
        log.info("skipping node %s: %s", name, exc)
        return None


def _pod_value(e: NodeEntry, key: PodKey, slots: tuple[int, ...]) -> PodValue | None:
    prev_ts = e.prev_timestamp
    if any(prev_ts[i] == NO_PREV for i in slots):
        return None
    earliest: Usage | None = None
    out: list[tuple[str, Usage]] = []
    keys = e.layout.keys
    for i in slots:
        try:
            u = usage_of(e.prev_start[i], prev_ts[i], e.prev_cpu[i], e.start[i],
                         e.timestamp[i], e.cpu[i], e.memory[i])
        except UsageError as exc:
            log.info("skipping container %s in pod %s/%s: %s", keys[i][2], key[0], key[1], exc)
            continue
        out.append((keys[i][2], u))
        if earliest is None or u.timestamp < earliest.timestamp:
            earliest = u
    if earliest is None:
        return PodValue(None, 0, out)
    return PodValue(earliest.timestamp, earliest.window, out)


_NONE = (array("Q"), array("Q"), array("q"))


def _prev_columns(old: NodeEntry | None, new: NodeScrape, resolution_ns: int
                  ) -> tuple[tuple[array[int], array[int], array[int]], bool]:
    """The `prev` columns (cpu, start, timestamp) of the containers in `new`, and whether
    every one of them is older than the resolution."""
    start, ts = new.start, new.timestamp
    if not ts:
        return _NONE, False
    # the same start times (the decoder kept their column) as a scrape where every container
    # was older than the resolution: a newer point is older still, and every start is before
    # the last point, so only "all newer" is left to check
    if (old is not None and old.layout is new.layout and start is old.start and old.aged
            and resolution_ns > 0 and all(map(gt, ts, old.timestamp))):
        return (old.cpu, old.start, old.timestamp), True
    aged = min(map(sub, ts, start)) >= resolution_ns  # none fresh (or restarted fresh)
    if (aged and old is not None and old.layout is new.layout
            and all(map(lt, start, old.timestamp))  # none restarted since the last point
            and all(map(gt, ts, old.timestamp))):  # all newer than the last point
        return (old.cpu, old.start, old.timestamp), True
    n = len(ts)
    cpu_p, start_p, ts_p = array("Q", bytes(8 * n)), array("Q", bytes(8 * n)), array("q", [
        NO_PREV]) * n
    index = old.layout.index() if old is not None else {}
    for i, key in enumerate(new.layout.keys):
        s, t = start[i], ts[i]
        if s < t and FRESH_CONTAINER_MIN_NS <= t - s < resolution_ns:  # fresh: from its start
            start_p[i], ts_p[i] = s, s
            continue
        j = index.get(key)
        if j is None or old is None or not s < old.timestamp[j]:
            continue  # new, or restarted after its last point
        if t > old.timestamp[j]:
            cpu_p[i], start_p[i], ts_p[i] = old.cpu[j], old.start[j], old.timestamp[j]
        elif old.prev_timestamp[j] != NO_PREV and old.prev_timestamp[j] < t:
            cpu_p[i], start_p[i], ts_p[i] = (old.prev_cpu[j], old.prev_start[j],
                                             old.prev_timestamp[j])
    return (cpu_p, start_p, ts_p), aged


class MetricsStorage:
    """All nodes' entries; `store` takes one scrape cycle, the getters serve the API."""

    def __init__(self, resolution: float, grace_period: float = 0.0,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.resolution_ns = int(resolution * 1e9)
        self.grace_period = grace_period
        self.clock = clock
        self.entries: dict[str, NodeEntry] = {}
        self._pods: dict[PodKey, str] = {}  # pod -> the node whose entry has it
        self._pods_unique = False  # no pod in two entries' layouts (`_pods` made afresh)

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
            old = self.entries.get(name)
            node = next_series(old.node if old else None, scrape.node) if scrape.node else None
            entries[name] = NodeEntry(name, now, node, scrape,
                                      *_prev_columns(old, scrape, self.resolution_ns))
        forgotten = [name for name in self.entries if name not in entries]
        old_entries, self.entries = self.entries, entries
        if not (self._pods_unique and len(entries) == len(old_entries) and all(
                (o := old_entries.get(name)) is not None and o.layout is e.layout
                for name, e in entries.items())):
            # else every node reports the pods it did, each pod on one node: the same map
            pods: dict[PodKey, str] = {}
            # oldest first, so a pod reported by two nodes (one within its grace) is the newer's
            for entry in sorted(entries.values(), key=lambda e: e.scraped_at):
                pods.update(entry.layout.owner(entry.name))
            self._pods = pods
            self._pods_unique = len(pods) == sum(len(e.layout.pods) for e in entries.values())
        return forgotten

    # reads ----------------------------------------------------------------
    def node(self, name: str) -> NodeValue | None:
        entry = self.entries.get(name)
        return entry.node_value if entry is not None else None

    def pod(self, namespace: str, name: str) -> PodValue | None:
        key = (namespace, name)
        node = self._pods.get(key)
        return self.entries[node].pod_value(key) if node is not None else None

    def has_node_data(self) -> bool:
        return any(e.node is not None and e.node.prev is not None for e in self.entries.values())

    def has_pod_data(self) -> bool:
        return any(e.two_points() for e in self.entries.values())

    def points(self) -> tuple[int, int]:
        """(nodes, containers) with two points: upstream's metrics_server_storage_points."""
        nodes = sum(1 for e in self.entries.values() if e.node and e.node.prev)
        return nodes, sum(e.two_points() for e in self.entries.values())
