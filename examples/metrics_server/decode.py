"""A specialised reader of the kubelet's `/metrics/resource` (Prometheus text format).

Only the five families upstream reads are looked at (`node_cpu_usage_seconds_total`,
`node_memory_working_set_bytes`, `container_cpu_usage_seconds_total`,
`container_memory_working_set_bytes`, `container_start_time_seconds`): one regular expression
picks their sample lines out of the body in C, and every other line is skipped unread. The
series (name and labels) of a node rarely change from one scrape to the next: a `NodeCache`
keeps the last response's series and what they mean (which line is whose CPU, memory, start
time), so an unchanged response is read as columns of numbers, labels unparsed. A response laid
out line for line as the last one (the usual case: a kubelet writes the same lines in the same
order, only the numbers change) is not even searched: a `Reader` splits it into tokens and
picks each column's numbers by position, and hands anything it cannot vouch for to the
expression, so both ways give the same scrape or the same error (tests say so, on mutations).

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
from array import array
from collections.abc import Callable, Sequence
from itertools import repeat
from operator import itemgetter
from typing import Any

from examples.metrics_server.points import (
    EMPTY,
    ContainerKey,
    Layout,
    MetricsPoint,
    NodeScrape,
    intern_key,
)

_FAMILIES = {b"container_cpu_usage_seconds_total": 0, b"container_memory_working_set_bytes": 1,
             b"container_start_time_seconds": 2, b"node_cpu_usage_seconds_total": 3,
             b"node_memory_working_set_bytes": 4}
_CPU, _MEMORY, _START, _NODE_CPU, _NODE_MEMORY = range(5)
# \n(series)( value[ timestamp]  |  anything else: a line of ours the slow path judges); single
# spaces (what the kubelet writes) and `[^}]` keep the C loops tight: tabs, runs of spaces,
# `}` inside a label value and a line without `}` all take the slow path
_SAMPLE = re.compile(
    rb"\n((?:container_(?:cpu_usage_seconds_total|memory_working_set_bytes|start_time_seconds)"
    rb"|node_(?:cpu_usage_seconds_total|memory_working_set_bytes))(?:\{[^}]*\})?)"
    rb"(?: ([^ \t\n]+)(?: ([^ \t\n]+))?(?![^\n])|([{ \t][^\n]*))")
_FIRST = (b"container_", b"node_")  # a body that starts with a line of ours gets a \n first
_NAMES = tuple(_FAMILIES)  # what a line of ours starts with (and maybe some other lines)
_LINE_OF_OURS = re.compile(b"\n(?:" + b"|".join(map(re.escape, _NAMES)) + b")")
_NOT_SEPARATOR = bytes(c for c in range(256) if c not in b" \n")
_NOT_NEGATIVE = (0.0).__le__  # False for NaN
_LABEL = re.compile(rb'\s*([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"((?:[^"\\]|\\.)*)"\s*(?:,|$)')
_UINT64 = 1.8446744073709552e19
_NS_PER_MS = 1_000_000


class DecodeError(ValueError):
    """The response is not what a kubelet serves: the node's scrape failed."""


def _labels(raw: bytes) -> ContainerKey | None:
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
    return intern_key(namespace.decode(), pod.decode(), container.decode())


def _to_uint(value: float) -> int:
    return int(value) if value < _UINT64 else (1 << 64) - 1


_Pick = Callable[[Sequence[Any]], tuple[Any, ...]]


_INDEXES = tuple(range(1 << 12))  # one int object per index, shared by every node's pickers


def _picker(indexes: Sequence[int]) -> _Pick:
    """seq -> the items at `indexes`, as a tuple (itemgetter alone gives a bare item for one)."""
    if len(indexes) >= 2:
        return itemgetter(*[_INDEXES[i] if i < len(_INDEXES) else i for i in indexes])
    return lambda seq: tuple(seq[i] for i in indexes)


class Plan:
    """What the lines of one list of series are: which is whose CPU, memory, start time and
    timestamp. Made once per distinct response layout."""

    __slots__ = (
        "columns",
        "cpu",
        "layout",
        "lines",
        "memory",
        "node",
        "raw_start",
        "reader",
        "reader_tried",
        "series",
        "stamp",
        "start",
        "start_ns",
    )

    def __init__(self, series: bytes, lines: Sequence[bytes]) -> None:
        self.series = series  # the lines' series joined: what the next response is checked by
        self.lines = len(lines)
        node = [-1, -1, -1]  # cpu, memory, timestamp line
        slots: dict[ContainerKey, list[int]] = {}  # cpu, memory, start, timestamp line
        keys: dict[bytes, ContainerKey | None] = {}
        for i, line in enumerate(lines):
            brace = line.find(b"{")
            name, labels = (line, b"") if brace < 0 else (line[:brace], line[brace + 1:-1])
            family = _FAMILIES[name]
            if family >= _NODE_CPU:
                node[family - _NODE_CPU] = node[2] = i
                continue
            key = keys[labels] if labels in keys else keys.setdefault(labels, _labels(labels))
            if key is None:
                continue
            slot = slots.get(key) or slots.setdefault(key, [-1, -1, -1, -1])
            slot[family] = i
            if family != _START:
                slot[3] = i
        kept = [(k, s) for k, s in slots.items() if s[0] >= 0 and s[1] >= 0]
        self.layout = Layout(tuple(k for k, _ in kept)) if kept else EMPTY
        self.node = node
        missing = len(lines)  # the index of a 0 appended to the values
        # the line of each kept container's cpu, memory, start time (`missing`) and timestamp
        self.columns = tuple([s[f] if s[f] >= 0 else missing for _, s in kept] for f in range(4))
        self.cpu, self.memory, self.start, self.stamp = map(_picker, self.columns)
        self.raw_start: Sequence[bytes] = ()
        self.start_ns = array("Q")
        self.reader: Reader | None = None  # for responses laid out as the one it was made of
        self.reader_tried = False  # made (or found not to fit) from the last slow read

    def apply(self, values: list[float], raw_values: tuple[bytes, ...],
              raw_stamps: Sequence[bytes], default_ns: int) -> NodeScrape:
        """The scrape of `values` (every line's, checked) and `raw_stamps` (digits or empty)."""
        node = None
        cpu_at, memory_at, stamp_at = self.node
        if cpu_at >= 0 and memory_at >= 0:
            stamp = raw_stamps[stamp_at]
            point = MetricsPoint(0, int(stamp) * _NS_PER_MS if stamp else default_ns,
                                 _to_uint(values[cpu_at] * 1e9), _to_uint(values[memory_at]),
                                 True, True)
            if point.cpu and point.memory and point.timestamp:
                node = point
        timestamp = array("q", _ns(self.stamp(raw_stamps), default_ns))
        values.append(0.0)
        if 0 in timestamp:  # a container without a timestamp is left out: rare, by points
            return _filtered(node, self.layout, values, timestamp, self)
        cpu = _column(self.cpu(values), 1e9)
        memory = _column(self.memory(values), 1.0)
        raw_start = self.start((*raw_values, b"0"))
        if raw_start != self.raw_start:  # start times change only when containers restart
            self.raw_start, self.start_ns = raw_start, _column(self.start(values), 1e9)
        return NodeScrape.columns(node, self.layout, cpu, memory, self.start_ns, timestamp)


def _uints(raw: Sequence[bytes], scale: float) -> array[int] | None:
    """uint64(float(token) x scale) of each token; None for a negative one. A NaN, an
    infinity or a number past uint64 raises (ValueError, OverflowError)."""
    values = list(map(float, raw))
    if values and min(values) < 0:
        return None
    scaled = map(scale.__mul__, values) if scale != 1.0 else values
    return array("Q", list(map(int, scaled)))  # of a list: faster than of an iterator


def _ns(raw: Sequence[bytes], default_ns: int) -> list[int]:
    """Nanoseconds of millisecond timestamps (digits), `default_ns` for an empty one. A list:
    an array is made faster of a list (its length known) than of an iterator."""
    if b"" not in raw:
        return list(map(_NS_PER_MS.__mul__, map(int, raw)))
    if default_ns % _NS_PER_MS == 0:  # the scraper's request time is whole ms
        fill = {b"": b"%d" % (default_ns // _NS_PER_MS)}.get
        return list(map(_NS_PER_MS.__mul__, map(int, map(fill, raw, raw))))
    return [int(t) * _NS_PER_MS if t else default_ns for t in raw]


def _column(values: Sequence[float], scale: float) -> array[int]:
    """uint64(value x scale) of each value, as Go converts."""
    if not values or max(values) * scale < _UINT64:
        return array("Q", list(map(int, map(scale.__mul__, values))))
    return array("Q", [_to_uint(v * scale) for v in values])


def _filtered(node: MetricsPoint | None, layout: Layout, values: list[float],
              timestamp: array[int], plan: Plan) -> NodeScrape:
    kept = [i for i, ts in enumerate(timestamp) if ts]
    cpu, memory, start = plan.cpu(values), plan.memory(values), plan.start(values)
    return NodeScrape.columns(
        node, Layout(tuple(layout.keys[i] for i in kept)),
        array("Q", [_to_uint(cpu[i] * 1e9) for i in kept]),
        array("Q", [_to_uint(memory[i]) for i in kept]),
        array("Q", [_to_uint(start[i] * 1e9) for i in kept]),
        array("q", [timestamp[i] for i in kept]))


class Reader:
    """A response laid out as the one a plan was made from, read without the regular
    expression: a kubelet writes the same lines in the same order every time (only the
    numbers change), so the part of the body up to the last line of ours is split into tokens
    (`replace` and `split`, in C) and each column's numbers are picked by position
    (`itemgetter`) and converted by `map`, in C too.

    Exact: a response is read this way only when that part has the same separators (every
    space and newline where it was, so every token is on the same line at the same place),
    no tab, the series of ours as tokens where they were, no other line starting with a name
    of ours, and no line of ours after it (the comment line that followed the last line of
    ours marks where it ends); and when every number is what the expression's way accepts
    without a second look (a value a float that is neither negative, NaN nor too large, a
    timestamp digits). Anything else goes the expression's way, which says what is wrong with
    it, so both ways give the same scrape or the same error."""

    __slots__ = ("_all_stamps", "_cpu", "_kept_cpu", "_kept_memory", "_kept_stamp", "_memory",
                 "_node", "_rest", "_series", "_stamp", "_start", "_starts", "anchor", "plan",
                 "separators", "tokens")

    def __init__(self, plan: Plan, anchor: bytes, part: bytes, tokens: int,
                 at: tuple[list[int], list[int], list[int]], starts: list[int]) -> None:
        """`at`: the token of each line of ours' series, value and timestamp (`tokens`: none);
        `starts`: the first token of every other line that is not a comment."""
        self.plan = plan
        self.anchor = anchor  # b"\n" + the comment line after the last line of ours, or b""
        self.separators = part.translate(None, _NOT_SEPARATOR)  # its spaces and newlines
        self.tokens = tokens
        series_at, value_at, stamp_at = at
        value_at.append(tokens + 1)  # the line `plan.lines` (a missing start) reads b"0"
        cpu, memory, start, stamp = plan.columns
        used = {*cpu, *memory}
        self._series = _picker(series_at)
        self._cpu = _picker([value_at[i] for i in cpu])
        self._memory = _picker([value_at[i] for i in memory])
        self._start = _picker([value_at[i] for i in start])
        self._stamp = _picker([stamp_at[i] for i in stamp])
        cpu_at, memory_at, node_stamp_at = plan.node
        self._node: _Pick | None = None
        if cpu_at >= 0 and memory_at >= 0:
            self._node = _picker([value_at[cpu_at], value_at[memory_at], stamp_at[node_stamp_at]])
            used |= {cpu_at, memory_at}
        # what is read only to be checked: the values of no column (and the start times,
        # checked when they change), every timestamp
        rest = [value_at[i] for i in range(plan.lines) if i not in used and i not in start]
        self._rest = _picker(rest) if rest else None
        stamps = [t for t in stamp_at if t != tokens]
        self._all_stamps = _picker(stamps) if stamps else None
        self._starts = _picker(starts) if starts else None
        none: tuple[tuple[bytes, ...] | None, array[int]] = (None, array("Q"))
        self._kept_cpu = self._kept_memory = self._kept_stamp = none

    @classmethod
    def of(cls, plan: Plan, body: bytes, series: Sequence[bytes],
           stamped: Sequence[bool]) -> Reader | None:
        """The reader of responses laid out as `body`, whose lines of ours have `series`, with
        a timestamp where `stamped`; None when `body` is not of that mould (the caller
        checks that the reader reads `body` as the expression did)."""
        lines = body.split(b"\n")
        ours = [i for i, line in enumerate(lines) if line.startswith(_NAMES)]
        if not ours or len(ours) != len(series) or b"\t" in body:
            return None
        last = ours[-1]
        anchor = b""
        if last + 1 < len(lines) and lines[last + 1].startswith(b"#"):
            anchor = b"\n" + lines[last + 1]
            lines = lines[:last + 1]
        at: tuple[list[int], list[int], list[int]] = ([], [], [])
        starts: list[int] = []
        token = k = 0
        for i, line in enumerate(lines):
            n = line.count(b" ") + 1
            if k < len(ours) and ours[k] == i:
                if n != 2 + stamped[k] or not line.startswith(series[k] + b" "):
                    return None
                at[0].append(token)
                at[1].append(token + 1)
                at[2].append(token + 2 if stamped[k] else -1)
                k += 1
            elif not line.startswith(b"#"):
                starts.append(token)
            token += n
        at[2][:] = [t if t >= 0 else token for t in at[2]]  # no timestamp: the token b""
        return cls(plan, anchor, b"\n".join(lines), token, at, starts)

    def scrape(self, body: bytes, default_ns: int) -> NodeScrape | None:
        """The scrape of `body`, or None when the expression's way must read it."""
        if self.anchor:
            end = body.rfind(self.anchor)
            if end < 0 or _LINE_OF_OURS.search(body, end):
                return None
            part = body[:end]
        else:
            part = body
        tokens = part.replace(b"\n", b" ").split(b" ")
        if (len(tokens) != self.tokens or b"\t" in part
                or b"\n".join(self._series(tokens)) != self.plan.series
                or part.translate(None, _NOT_SEPARATOR) != self.separators
                or (self._starts is not None
                    and any(map(bytes.startswith, self._starts(tokens), repeat(_NAMES))))):
            return None
        tokens += (b"", b"0")
        try:
            return self._columns(tokens, default_ns)
        except (ValueError, OverflowError):  # not a number, NaN, infinite, too large
            return None

    def _columns(self, tokens: list[bytes], default_ns: int) -> NodeScrape | None:
        if self._all_stamps is not None:
            stamps = b"".join(self._all_stamps(tokens))
            if stamps and not stamps.isdigit():
                return None
        if self._rest is not None:
            rest = list(map(float, self._rest(tokens)))
            if not all(map(_NOT_NEGATIVE, rest)):  # NaN too
                return None
        node = None
        if self._node is not None:
            raw_cpu, raw_memory, stamp = self._node(tokens)
            node_cpu, node_memory = float(raw_cpu), float(raw_memory)
            if not (node_cpu >= 0 and node_memory >= 0):
                return None
            point = MetricsPoint(0, int(stamp) * _NS_PER_MS if stamp else default_ns,
                                 _to_uint(node_cpu * 1e9), _to_uint(node_memory), True, True)
            if point.cpu and point.memory and point.timestamp:
                node = point
        plan = self.plan
        # a column whose tokens are the last response's is the last one's (at a resolution
        # shorter than the kubelet's housekeeping, a container's sample often repeats; start
        # times repeat until a restart): compared as tokens, not converted again
        raw_stamp = self._stamp(tokens)
        if raw_stamp == self._kept_stamp[0]:
            timestamp = self._kept_stamp[1]
        else:
            timestamp = array("q", _ns(raw_stamp, default_ns))
            if 0 in timestamp:
                return None
            if b"" not in raw_stamp:  # else the request time is in it
                self._kept_stamp = (raw_stamp, timestamp)
        raw_cpu = self._cpu(tokens)
        cpu_ns = self._kept_cpu[1] if raw_cpu == self._kept_cpu[0] else _uints(raw_cpu, 1e9)
        raw_memory = self._memory(tokens)
        memory_bytes = (self._kept_memory[1] if raw_memory == self._kept_memory[0]
                        else _uints(raw_memory, 1.0))
        raw_start = self._start(tokens)
        start_ns = plan.start_ns if raw_start == plan.raw_start else _uints(raw_start, 1e9)
        if cpu_ns is None or memory_bytes is None or start_ns is None:
            return None
        self._kept_cpu, self._kept_memory = (raw_cpu, cpu_ns), (raw_memory, memory_bytes)
        plan.raw_start, plan.start_ns = raw_start, start_ns
        return NodeScrape.columns(node, plan.layout, cpu_ns, memory_bytes, start_ns,
                                  timestamp)


class NodeCache:
    """What one node's last response left for the next: the plan of its series."""

    __slots__ = ("plan",)

    def __init__(self) -> None:
        self.plan: Plan | None = None


def _invalid(lines: Sequence[bytes], values: Sequence[bytes], at: int) -> DecodeError:
    return DecodeError(f"invalid sample {(lines[at] + b' ' + values[at])[:200]!r}")


def decode(body: bytes, default_ns: int, cache: NodeCache | None = None) -> NodeScrape:
    """The node and container points in `body`; `default_ns` is the request time."""
    plan = cache.plan if cache is not None else None
    if plan is not None and plan.reader is not None:
        scrape = plan.reader.scrape(body, default_ns)
        if scrape is not None:
            return scrape
        plan.reader, plan.reader_tried = None, False  # made again from this body if it fits
    samples = _SAMPLE.findall(b"\n" + body if body.startswith(_FIRST) else body)
    if not samples:
        return NodeScrape()
    lines: Sequence[bytes]
    raw_values: Sequence[bytes]
    raw_stamps: Sequence[bytes]
    lines, raw_values, raw_stamps, others = zip(*samples, strict=True)
    if any(others):  # not `value [timestamp]`, or `}` inside a label value: judge it alone
        lines, raw_values, raw_stamps = _slow_lines(samples)
    try:
        values = list(map(float, raw_values))
        stamps_ok = b"".join(raw_stamps).isdigit() or not any(raw_stamps)
        if not stamps_ok:  # a sign or an underscore (Python's int takes them) or garbage
            raw_stamps = tuple(b"%d" % int(t) if t else b"" for t in raw_stamps)
    except ValueError:
        for i in range(len(lines)):
            try:
                float(raw_values[i])
                int(raw_stamps[i] or b"0")
            except ValueError:
                raise _invalid(lines, raw_values, i) from None
        raise
    total = sum(values)
    if not (total == total and min(values) >= 0):  # NaN fails `==`
        raise _invalid(lines, raw_values, next(i for i, v in enumerate(values) if not v >= 0))
    if not stamps_ok and b"-" in b"".join(raw_stamps):
        raise _invalid(lines, raw_values, next(i for i, t in enumerate(raw_stamps)
                                               if t.startswith(b"-")))
    series = b"\n".join(lines)
    if plan is None or plan.lines != len(lines) or plan.series != series:
        # the same number of lines joined the same: none has a \n of its own, as in the plan
        if series.count(b"\n") != len(lines) - 1:  # `{` without `}` on its line ran on
            raise DecodeError("unterminated labels")
        plan = Plan(series, lines)
        if cache is not None:
            cache.plan = plan
    try:
        scrape = plan.apply(values, tuple(raw_values), raw_stamps, default_ns)
    except OverflowError:  # a timestamp past 2262
        raise DecodeError("timestamp out of range") from None
    if cache is not None and not plan.reader_tried:
        plan.reader_tried = True
        reader = Reader.of(plan, body, lines, [bool(t) for t in raw_stamps])
        if reader is not None and _same(reader.scrape(body, default_ns), scrape):
            plan.reader = reader
    return scrape


def _same(a: NodeScrape | None, b: NodeScrape) -> bool:
    return a is not None and (a.node, a.layout, a.cpu, a.memory, a.start, a.timestamp) == (
        b.node, b.layout, b.cpu, b.memory, b.start, b.timestamp)


def _slow_lines(samples: list[tuple[bytes, bytes, bytes, bytes]]
                ) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """(series, value, timestamp) of each line, the odd ones parsed with quoted labels in
    mind; DecodeError for a line that is not `series value [timestamp]`."""
    lines, values, stamps = [], [], []
    for series, value, stamp, other in samples:
        if other:
            brace = series.find(b"{")
            name = series if brace < 0 else series[:brace]
            rest = series[len(name):] + other
            if rest[:1] == b"{":
                m = re.match(rb'\{((?:[^"}]|"(?:[^"\\]|\\.)*")*)\}', rest)
                if m is None:
                    raise DecodeError(f"unterminated labels in {(name + rest)[:200]!r}")
                series, rest = name + m.group(0), rest[m.end():]
            fields = rest.split()
            if not 1 <= len(fields) <= 2 or rest[:1] not in b" \t":
                raise DecodeError(f"invalid sample {(name + rest)[:200]!r}")
            value, stamp = fields[0], fields[1] if len(fields) == 2 else b""
        lines.append(series)
        values.append(value)
        stamps.append(stamp)
    return lines, values, stamps
