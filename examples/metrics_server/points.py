"""What one scrape says about a node or a container, and the usage between two such points.

Times are integer nanoseconds since the epoch; CPU is cumulative nanocore-seconds (core-seconds
x 1e9, as upstream's uint64 conversion); memory is the working set in bytes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

FRESH_CONTAINER_MIN_NS = 10_000_000_000
"""Upstream's freshContainerMinMetricsResolution: a container younger than this gets no
synthetic first point."""


@dataclass(slots=True)
class MetricsPoint:
    start_time: int = 0
    timestamp: int = 0
    cpu: int = 0
    memory: int = 0
    has_cpu: bool = False
    has_memory: bool = False


@dataclass(slots=True)
class NodeScrape:
    """One node's decoded /metrics/resource: its own point (None when incomplete) and each
    Running pod's containers, by (namespace, pod) then container name."""

    node: MetricsPoint | None = None
    pods: dict[tuple[str, str], dict[str, MetricsPoint]] = field(default_factory=dict)


class UsageError(ValueError):
    """Two points that give no usage: the counter or the start time went backwards."""


@dataclass(frozen=True, slots=True)
class Usage:
    timestamp: int  # of the newer point
    window: int  # nanoseconds between the points
    cpu: int  # nanocores
    memory: int  # bytes


def usage(prev: MetricsPoint, last: MetricsPoint) -> Usage:
    """Upstream's resourceUsage: Δcpu/Δt in nanocores (truncated) and the last working set."""
    if last.start_time < prev.start_time:
        raise UsageError(f"unexpected decrease in startTime of node/container, "
                         f"{last.start_time} < {prev.start_time}")
    if last.cpu < prev.cpu:
        raise UsageError(f"unexpected decrease in cumulative CPU usage value, "
                         f"{last.cpu} < {prev.cpu}")
    window = last.timestamp - prev.timestamp
    if window <= 0:
        raise UsageError("points are not in time order")
    cpu = (last.cpu - prev.cpu) * 1_000_000_000 // window
    return Usage(last.timestamp, window, cpu, last.memory)
