"""What one scrape says about a node and its containers, and the usage between two points.

Times are integer nanoseconds since the epoch; CPU is cumulative nanocore-seconds (core-seconds
x 1e9, as upstream's uint64 conversion); memory is the working set in bytes. A node's
containers are columns (one array per field, one slot per container) over a `Layout`: the
decoder hands the same Layout object to every scrape of a node that reports the same series,
so storage lines two scrapes up by position instead of by key.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Mapping
from dataclasses import dataclass

FRESH_CONTAINER_MIN_NS = 10_000_000_000
"""Upstream's freshContainerMinMetricsResolution: a container younger than this gets no
synthetic first point."""

PodKey = tuple[str, str]
ContainerKey = tuple[str, str, str]  # (namespace, pod, container)


@dataclass(slots=True)
class MetricsPoint:
    start_time: int = 0
    timestamp: int = 0
    cpu: int = 0
    memory: int = 0
    has_cpu: bool = False
    has_memory: bool = False


class Layout:
    """The containers of a response in slot order, and each pod's slots in container-name
    order (the order the API lists them in)."""

    __slots__ = ("_index", "_owner", "keys", "pods")

    def __init__(self, keys: tuple[ContainerKey, ...]) -> None:
        self.keys = keys
        slots: dict[PodKey, list[int]] = {}
        for i, (namespace, pod, _) in enumerate(keys):
            slots.setdefault((namespace, pod), []).append(i)
        self.pods = {k: tuple(sorted(v, key=lambda i: keys[i][2])) for k, v in slots.items()}
        self._index: dict[ContainerKey, int] | None = None
        self._owner: tuple[str, dict[PodKey, str]] | None = None

    def index(self) -> dict[ContainerKey, int]:
        """Container key -> slot, made on first use (only a changed layout needs it)."""
        if self._index is None:
            self._index = {k: i for i, k in enumerate(self.keys)}
        return self._index

    def owner(self, node: str) -> dict[PodKey, str]:
        """pod -> `node` for every pod here (kept: a node's layout rarely changes)."""
        if self._owner is None or self._owner[0] != node:
            self._owner = (node, dict.fromkeys(self.pods, node))
        return self._owner[1]


EMPTY = Layout(())


def intern_key(namespace: str, pod: str, container: str) -> ContainerKey:
    """Namespaces and container names repeat on every node: keep one copy of each."""
    return sys.intern(namespace), pod, sys.intern(container)


class NodeScrape:
    """One node's decoded /metrics/resource: its own point (None when incomplete) and the
    columns of its Running pods' containers (cpu, memory, start and timestamp per slot)."""

    __slots__ = ("cpu", "layout", "memory", "node", "start", "timestamp")

    def __init__(self, node: MetricsPoint | None = None,
                 pods: Mapping[PodKey, Mapping[str, MetricsPoint]] | None = None) -> None:
        points = [(intern_key(ns, pod, c), p) for (ns, pod), cs in (pods or {}).items()
                  for c, p in cs.items()]
        self.node = node
        self.layout = Layout(tuple(k for k, _ in points)) if points else EMPTY
        self.cpu = array("Q", [p.cpu for _, p in points])
        self.memory = array("Q", [p.memory for _, p in points])
        self.start = array("Q", [p.start_time for _, p in points])
        self.timestamp = array("q", [p.timestamp for _, p in points])

    @classmethod
    def columns(cls, node: MetricsPoint | None, layout: Layout, cpu: array[int],
                memory: array[int], start: array[int], timestamp: array[int]) -> NodeScrape:
        scrape = cls.__new__(cls)
        scrape.node, scrape.layout = node, layout
        scrape.cpu, scrape.memory, scrape.start, scrape.timestamp = cpu, memory, start, timestamp
        return scrape

    @property
    def pods(self) -> dict[PodKey, dict[str, MetricsPoint]]:
        """The containers as points by (namespace, pod) then name (for tests and logs)."""
        out: dict[PodKey, dict[str, MetricsPoint]] = {}
        for i, (namespace, pod, container) in enumerate(self.layout.keys):
            out.setdefault((namespace, pod), {})[container] = MetricsPoint(
                self.start[i], self.timestamp[i], self.cpu[i], self.memory[i], True, True)
        return out


class UsageError(ValueError):
    """Two points that give no usage: the counter or the start time went backwards."""


@dataclass(frozen=True, slots=True)
class Usage:
    timestamp: int  # of the newer point
    window: int  # nanoseconds between the points
    cpu: int  # nanocores
    memory: int  # bytes


def usage_of(prev_start: int, prev_ts: int, prev_cpu: int, start: int, ts: int, cpu: int,
             memory: int) -> Usage:
    """Upstream's resourceUsage: Δcpu/Δt in nanocores (truncated) and the last working set."""
    if start < prev_start:
        raise UsageError(f"unexpected decrease in startTime of node/container, "
                         f"{start} < {prev_start}")
    if cpu < prev_cpu:
        raise UsageError(f"unexpected decrease in cumulative CPU usage value, "
                         f"{cpu} < {prev_cpu}")
    window = ts - prev_ts
    if window <= 0:
        raise UsageError("points are not in time order")
    return Usage(ts, window, (cpu - prev_cpu) * 1_000_000_000 // window, memory)


def usage(prev: MetricsPoint, last: MetricsPoint) -> Usage:
    return usage_of(prev.start_time, prev.timestamp, prev.cpu, last.start_time,
                    last.timestamp, last.cpu, last.memory)
