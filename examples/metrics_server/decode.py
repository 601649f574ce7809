"""A specialised reader of the kubelet's `/metrics/resource` (Prometheus text format).

Only the five families upstream reads are looked at (`node_cpu_usage_seconds_total`,
`node_memory_working_set_bytes`, `container_cpu_usage_seconds_total`,
`container_memory_working_set_bytes`, `container_start_time_seconds`); every other line
is skipped unread (a line is chosen by its first bytes, in C). Labels in the kubelet's order
(`container`, `namespace`, `pod`) take a fast path.

Rules as upstream's decoder (`pkg/scraper/client/resource/decode.go`): a sample without a
timestamp gets the request time; a point's timestamp is that of its last CPU or memory line;
a node without CPU, memory or timestamp, or with CPU or memory 0, is left out; a negative or
unparsable timestamp or value fails the whole response. Our one change: a container that
reports 0 CPU or 0 memory is kept with those values instead of dropping its whole pod (an idle
sidecar or a zero working set is a reading, not a failure); a container that lacks one of
the two lines is left out alone.
"""

from __future__ import annotations

import re

from examples.metrics_server.points import MetricsPoint, NodeScrape

_CONTAINER_CPU = b"container_cpu_usage_seconds_total"
_CONTAINER_MEMORY = b"container_memory_working_set_bytes"
_START_TIME = b"container_start_time_seconds"
_NODE_CPU = b"node_cpu_usage_seconds_total"
_NODE_MEMORY = b"node_memory_working_set_bytes"

_FAMILIES = {_CONTAINER_CPU: 0, _CONTAINER_MEMORY: 1, _START_TIME: 2, _NODE_CPU: 3,
             _NODE_MEMORY: 4}
_PREFIXES = tuple(name + sep for name in _FAMILIES for sep in (b"{", b" ", b"\t"))
_LABEL = re.compile(rb'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')


class DecodeError(ValueError):
    """The response is not what a kubelet serves: the node's scrape failed."""


def _labels(raw: bytes) -> tuple[str, str, str] | None:
    """(namespace, pod, container), or None when one of them is missing or empty."""
    parts = raw.split(b'"')
    if (len(parts) == 7 and parts[0] == b"container=" and parts[2] == b",namespace="
            and parts[4] == b",pod=" and not parts[6] and b"\\" not in raw):
        container, namespace, pod = parts[1], parts[3], parts[5]  # the kubelet's own order
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


def _split(line: bytes) -> tuple[int, bytes, list[bytes]]:
    """(family, label bytes, [value, timestamp?]) of a sample line of ours."""
    brace = line.find(b"{")
    if brace >= 0 and line[:brace] in _FAMILIES:
        close = line.find(b"}", brace)
        if close < 0:
            raise DecodeError(f"unterminated labels in {line[:200]!r}")
        family, labels, rest = _FAMILIES[line[:brace]], line[brace + 1:close], line[close + 1:]
    else:
        name, _, rest = line.replace(b"\t", b" ").partition(b" ")
        family, labels = _FAMILIES[name], b""
    fields = rest.split()
    if not 1 <= len(fields) <= 2:
        raise DecodeError(f"invalid sample {line[:200]!r}")
    return family, labels, fields


def _to_uint(value: float) -> int:
    return int(value) if value < 1.8446744073709552e19 else (1 << 64) - 1


def decode(body: bytes, default_ns: int,
           keys: dict[bytes, tuple[str, str, str] | None] | None = None) -> NodeScrape:
    """The node and container points in `body`; `default_ns` is the request time. `keys`
    caches label bytes -> (namespace, pod, container) across responses of one node."""
    node = MetricsPoint()
    containers: dict[tuple[str, str, str], MetricsPoint] = {}
    if keys is None:
        keys = {}
    families, prefixes, labels_of = _FAMILIES, _PREFIXES, _labels
    for line in body.split(b"\n"):
        if not line.startswith(prefixes):
            continue
        # the common line, inline: name{labels} value timestamp
        brace = line.find(b"{")
        close = line.find(b"}", brace) if brace >= 0 else -1
        if close > 0 and (family := families.get(line[:brace], -1)) >= 0:
            labels = line[brace + 1:close]
            fields = line[close + 1:].split()
        else:
            family, labels, fields = _split(line)
        try:
            value = float(fields[0])
            ts = int(fields[1]) * 1_000_000 if len(fields) == 2 else default_ns
        except (ValueError, IndexError):
            raise DecodeError(f"invalid sample {line[:200]!r}") from None
        if not value >= 0 or ts < 0 or len(fields) > 2:  # NaN fails `>= 0` too
            raise DecodeError(f"invalid sample {line[:200]!r}")
        if family >= 3:  # node_*
            node.timestamp = ts
            if family == 3:
                node.cpu, node.has_cpu = _to_uint(value * 1e9), True
            else:
                node.memory, node.has_memory = _to_uint(value), True
            continue
        key = keys.get(labels)
        if key is None:
            key = keys[labels] = labels_of(labels)
        if not key:
            continue
        point = containers.get(key)
        if point is None:
            point = containers[key] = MetricsPoint()
        if family == 2:  # container_start_time_seconds: its own timestamp is ignored
            point.start_time = _to_uint(value * 1e9)
            continue
        point.timestamp = ts
        if family == 0:
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
