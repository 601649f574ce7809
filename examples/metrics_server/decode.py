"""A specialised reader of the kubelet's `/metrics/resource` (Prometheus text format).

Only the five families upstream reads are looked at (`node_cpu_usage_seconds_total`,
`node_memory_working_set_bytes`, `container_cpu_usage_seconds_total`,
`container_memory_working_set_bytes`, `container_start_time_seconds`); one regular expression
finds their sample lines in the whole body (the scan runs in C), every other line is skipped
unread. Labels in the kubelet's own order (`container`, `namespace`, `pod`) take a fast path.

Rules as upstream's decoder (`pkg/scraper/client/resource/decode.go`): a sample without a
timestamp gets the request time; a point's timestamp is that of its last CPU or memory line;
a node without CPU, memory or timestamp, or with CPU or memory 0, is left out; a negative or
unparsable timestamp or value fails the whole response. Our one change: a container that
reports 0 CPU or 0 memory is kept with those values instead of dropping its whole pod (an idle
sidecar or a zero working set is a reading, not a failure); a container that lacks one of
the two lines is left out alone.
"""

from __future__ import annotations

import math
import re

from examples.metrics_server.points import MetricsPoint, NodeScrape

_CONTAINER_CPU = b"container_cpu_usage_seconds_total"
_CONTAINER_MEMORY = b"container_memory_working_set_bytes"
_START_TIME = b"container_start_time_seconds"
_NODE_CPU = b"node_cpu_usage_seconds_total"
_NODE_MEMORY = b"node_memory_working_set_bytes"

_SAMPLE = re.compile(
    rb"^(" + b"|".join((_CONTAINER_CPU, _CONTAINER_MEMORY, _START_TIME, _NODE_CPU, _NODE_MEMORY))
    + rb")(?:\{([^}\n]*)\})?[ \t]+([^ \t\r\n]+)(?:[ \t]+([^ \t\r\n]+))?[ \t]*\r?$",
    re.MULTILINE,
)
_SORTED_LABELS = re.compile(rb'container="([^"]*)",namespace="([^"]*)",pod="([^"]*)",?')
_LABEL = re.compile(rb'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')


class DecodeError(ValueError):
    """The response is not what a kubelet serves: the node's scrape failed."""


def _labels(raw: bytes) -> tuple[str, str, str] | None:
    """(namespace, pod, container), or None when one of them is missing or empty."""
    fast = _SORTED_LABELS.fullmatch(raw)
    if fast is not None:
        container, namespace, pod = fast.groups()
    else:
        found: dict[bytes, bytes] = {}
        pos = 0
        while pos < len(raw):
            m = _LABEL.match(raw, pos)
            if m is None:
                raise DecodeError(f"invalid labels {raw[:200]!r}")
            found[m.group(1)] = m.group(2)
            pos = m.end()
        container = found.get(b"container", b"")
        namespace = found.get(b"namespace", b"")
        pod = found.get(b"pod", b"")
    if not (container and namespace and pod):
        return None
    return namespace.decode(), pod.decode(), container.decode()


def _value(raw: bytes) -> float:
    try:
        value = float(raw)
    except ValueError:
        raise DecodeError(f"invalid value {raw[:50]!r}") from None
    if math.isnan(value) or value < 0:
        raise DecodeError(f"invalid value {raw[:50]!r}")
    return value


def _timestamp(raw: bytes | None, default_ns: int) -> int:
    if raw is None:
        return default_ns
    try:
        ms = int(raw)
    except ValueError:
        raise DecodeError(f"invalid timestamp {raw[:50]!r}") from None
    if ms < 0:
        raise DecodeError(f"invalid timestamp {ms}")
    return ms * 1_000_000


def _to_uint(value: float) -> int:
    return int(value) if value < 1.8446744073709552e19 else (1 << 64) - 1


def decode(body: bytes, default_ns: int) -> NodeScrape:
    """The node and container points in `body`; `default_ns` is the request time."""
    node = MetricsPoint()
    containers: dict[tuple[str, str, str], MetricsPoint] = {}
    for family, labels, raw_value, raw_ts in _SAMPLE.findall(body):
        value = _value(raw_value)
        if family[0] == 110:  # b"n": node_*
            node.timestamp = _timestamp(raw_ts or None, default_ns)
            if family == _NODE_CPU:
                node.cpu, node.has_cpu = _to_uint(value * 1e9), True
            else:
                node.memory, node.has_memory = _to_uint(value), True
            continue
        key = _labels(labels)
        if key is None:
            continue
        point = containers.get(key)
        if point is None:
            point = containers[key] = MetricsPoint()
        if family == _START_TIME:  # its own timestamp is ignored, as upstream
            point.start_time = _to_uint(value * 1e9)
            continue
        point.timestamp = _timestamp(raw_ts or None, default_ns)
        if family == _CONTAINER_CPU:
            point.cpu, point.has_cpu = _to_uint(value * 1e9), True
        else:
            point.memory, point.has_memory = _to_uint(value), True
    scrape = NodeScrape()
    if node.has_cpu and node.has_memory and node.cpu and node.memory and node.timestamp:
        scrape.node = node
    for (namespace, pod, container), point in containers.items():
        if point.has_cpu and point.has_memory and point.timestamp:
            scrape.pods.setdefault((namespace, pod), {})[container] = point
    return scrape
