"""The kubelet /metrics/resource reader on real kubelet output and on upstream's decode_test
cases, plus garbage (it fails the one response, never raises anything but DecodeError)."""

import contextlib
import os
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examples.metrics_server.decode import DecodeError, NodeCache, decode
from examples.metrics_server.points import NodeScrape
from k8s_aggapi.envtest.pytest_plugin import e2e_required

FIXTURES = Path(os.environ.get("KUBELET_FIXTURES", "/work/shared/fixtures/kubelet"))
NOW = 1_700_000_000_000_000_000


def fixture(name: str) -> bytes:
    path = FIXTURES / name
    if not path.exists():
        # the real kubelet output is not ours to commit (see its README); on CI it must be there
        if e2e_required():
            pytest.fail(f"fixture {path} not available (set KUBELET_FIXTURES)")
        pytest.skip(f"fixture {path} not available")
    return path.read_bytes()


def test_real_kind_response_gives_one_node_and_70_pods() -> None:
    scrape = decode(fixture("metrics_resource_kind_70pods.txt"), NOW)
    assert scrape.node is not None
    assert scrape.node.cpu == 357_354_910_000
    assert scrape.node.memory == 1_616_273_408
    assert len(scrape.pods) == 70
    coredns = scrape.pods[("kube-system", "coredns-558bd4d5db-4dpjz")]["coredns"]
    assert coredns.cpu == int(4.710169 * 1e9)
    assert coredns.timestamp > 1633253790 * 10**9  # the lines' own ms timestamps


def test_kubelet_families_with_start_times_and_ignored_families() -> None:
    scrape = decode(fixture("metrics_resource_kubelet_families.txt"), NOW)
    assert scrape.node is not None
    assert (scrape.node.cpu, scrape.node.memory) == (10 * 10**9, 1000)
    assert scrape.node.timestamp == 1624396278302 * 10**6
    assert set(scrape.pods) == {("namespace_a", "pod_a"), ("namespace_b", "pod_b")}
    assert set(scrape.pods["namespace_a", "pod_a"]) == {"container_a", "container_b"}
    a = scrape.pods["namespace_a", "pod_a"]["container_a"]
    assert a.start_time == int(1.6243962483020916e9 * 1e9)
    assert (a.cpu, a.memory, a.timestamp) == (10 * 10**9, 1000, 1624396278302 * 10**6)


NORMAL = b"""# HELP container_cpu_usage_seconds_total [STABLE] Cumulative cpu time
# TYPE container_cpu_usage_seconds_total counter
container_cpu_usage_seconds_total{container="c1",namespace="ns1",pod="p1"} 4.710169 1633253812125
container_cpu_usage_seconds_total{container="c2",namespace="ns1",pod="p1"} 1.5 1633253812125
container_memory_working_set_bytes{container="c1",namespace="ns1",pod="p1"} 1.6756736e+07 1633253812126
container_memory_working_set_bytes{container="c2",namespace="ns1",pod="p1"} 1000 1633253812126
container_start_time_seconds{container="c1",namespace="ns1",pod="p1"} 1.6332537e+09 1633253812000
node_cpu_usage_seconds_total 357.35491 1633253809720
node_memory_working_set_bytes 1.616273408e+09 1633253809720
pod_cpu_usage_seconds_total{namespace="ns1",pod="p1"} 6.2 1633253812125
scrape_error 0
"""


def test_normal() -> None:
    scrape = decode(NORMAL, NOW)
    assert scrape.node is not None
    assert scrape.node.timestamp == 1633253809720 * 10**6
    c1 = scrape.pods["ns1", "p1"]["c1"]
    # the point's time is its last CPU/memory line's (memory's), as upstream
    assert c1.timestamp == 1633253812126 * 10**6
    assert c1.start_time == int(1.6332537e9 * 1e9)
    assert c1.memory == 16756736


def test_without_timestamps_the_request_time_is_used() -> None:
    body = b"""node_cpu_usage_seconds_total 1
node_memory_working_set_bytes 2
container_cpu_usage_seconds_total{container="c",namespace="n",pod="p"} 1
container_memory_working_set_bytes{container="c",namespace="n",pod="p"} 2
"""
    scrape = decode(body, NOW)
    assert scrape.node is not None and scrape.node.timestamp == NOW
    assert scrape.pods["n", "p"]["c"].timestamp == NOW


def test_containers_only_gives_no_node() -> None:
    body = b"""container_cpu_usage_seconds_total{container="c",namespace="n",pod="p"} 1 1
container_memory_working_set_bytes{container="c",namespace="n",pod="p"} 2 1
"""
    scrape = decode(body, NOW)
    assert scrape.node is None and len(scrape.pods) == 1


@pytest.mark.parametrize("drop", [b"node_cpu", b"node_memory"])
def test_node_without_cpu_or_memory_is_dropped(drop: bytes) -> None:
    body = b"\n".join(line for line in NORMAL.splitlines() if not line.startswith(drop))
    assert decode(body, NOW).node is None


@pytest.mark.parametrize("zero", [b"node_cpu", b"node_memory"])
def test_node_with_cpu_or_memory_zero_is_dropped(zero: bytes) -> None:
    lines = [line.split(b" ")[0] + b" 0 1633253809720" if line.startswith(zero) else line
             for line in NORMAL.splitlines()]
    assert decode(b"\n".join(lines), NOW).node is None


def test_container_without_memory_is_left_out_alone_not_its_pod() -> None:
    body = b"\n".join(line for line in NORMAL.splitlines()
                      if not line.startswith(b'container_memory_working_set_bytes{container="c2"'))
    pod = decode(body, NOW).pods["ns1", "p1"]
    assert set(pod) == {"c1"}  # upstream drops the whole pod


def test_container_with_zero_cpu_keeps_its_pod_and_itself() -> None:
    body = NORMAL.replace(b'pod="p1"} 1.5 ', b'pod="p1"} 0 ')
    pod = decode(body, NOW).pods["ns1", "p1"]
    assert set(pod) == {"c1", "c2"}  # upstream drops the whole pod
    assert pod["c2"].cpu == 0


def test_container_with_zero_memory_keeps_its_pod() -> None:
    body = NORMAL.replace(b'pod="p1"} 1000 ', b'pod="p1"} 0 ')
    assert decode(body, NOW).pods["ns1", "p1"]["c2"].memory == 0


def test_incorrect_timestamp_fails_the_whole_response() -> None:
    body = NORMAL.replace(b"1633253809720", b"-62135596800000")
    with pytest.raises(DecodeError):
        decode(body, NOW)


def test_labels_in_another_order_and_escaped_values() -> None:
    body = b"""container_cpu_usage_seconds_total{pod="p",namespace="n",container="c",x="a\\"b"} 1 5
container_memory_working_set_bytes{namespace="n", pod="p", container="c"} 2 5
"""
    point = decode(body, NOW).pods["n", "p"]["c"]
    assert (point.cpu, point.memory) == (10**9, 2)


def test_families_that_only_start_like_ours_are_ignored() -> None:
    body = b"node_cpu_usage_seconds_total_extra 5 1\nnode_memory_working_set_bytes 1 1\n"
    assert decode(body, NOW).node is None


@pytest.mark.parametrize("body", [
    b"", b"<html>502 Bad Gateway</html>", b"\x00\xff" * 100, b"node_cpu_usage_seconds_total\n",
    b"#", b"{}" * 1000, b"node_cpu_usage_seconds_total_x{} 1\n",
])
def test_garbage_gives_nothing_and_no_crash(body: bytes) -> None:
    scrape = decode(body, NOW)
    assert scrape.node is None and not scrape.pods


@pytest.mark.parametrize("body", [
    b"node_cpu_usage_seconds_total abc 1\n",
    b"node_cpu_usage_seconds_total 1 abc\n",
    b"node_cpu_usage_seconds_total NaN 1\n",
    b"node_cpu_usage_seconds_total -1 1\n",
    b'container_cpu_usage_seconds_total{container=="a"} 1 1\n',
    b'container_cpu_usage_seconds_total{container="a" 1\n',
    b"node_memory_working_set_bytes 1 2 3\n",
])
def test_malformed_sample_of_a_family_we_read_fails_the_response(body: bytes) -> None:
    with pytest.raises(DecodeError):
        decode(body, NOW)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_random_bytes_never_raise_anything_else(body: bytes) -> None:
    with contextlib.suppress(DecodeError):
        decode(body, NOW)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(NORMAL.splitlines()) | st.binary(max_size=80), max_size=30))
def test_mixed_lines_never_raise_anything_else(lines: list[bytes]) -> None:
    with contextlib.suppress(DecodeError):
        decode(b"\n".join(lines), NOW)


def test_an_unchanged_response_reuses_its_layout_with_new_numbers() -> None:
    cache = NodeCache()
    first = decode(NORMAL, NOW, cache)
    second = decode(NORMAL.replace(b"} 4.710169 ", b"} 5.5 "), NOW, cache)
    assert second.layout is first.layout
    assert second.pods["ns1", "p1"]["c1"].cpu == int(5.5 * 1e9)
    grown = NORMAL + (b'container_cpu_usage_seconds_total{container="c",namespace="n",pod="q"} 1 5'
                      b'\ncontainer_memory_working_set_bytes{container="c",namespace="n",pod="q"}'
                      b" 2 5\n")
    third = decode(grown, NOW, cache)
    assert third.layout is not first.layout
    assert set(third.pods) == {("ns1", "p1"), ("n", "q")}
    assert third.pods["ns1", "p1"]["c1"].cpu == int(4.710169 * 1e9)


def _view(scrape: NodeScrape) -> tuple[object, object]:
    return scrape.node, scrape.pods


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(NORMAL.splitlines()), max_size=12),
       st.lists(st.sampled_from(NORMAL.splitlines()), max_size=12))
def test_a_warm_cache_reads_as_a_cold_one(warm: list[bytes], lines: list[bytes]) -> None:
    cache = NodeCache()
    with contextlib.suppress(DecodeError):
        decode(b"\n".join(warm), NOW, cache)
    _same_as_cold(b"\n".join(lines), cache)


def _same_as_cold(body: bytes, cache: NodeCache) -> None:
    try:
        cold = _view(decode(body, NOW))
    except DecodeError:
        with pytest.raises(DecodeError):
            decode(body, NOW, cache)
        return
    assert _view(decode(body, NOW, cache)) == cold


# A response laid out as the last one is read without the regular expression (`Reader`): the
# same scrape, or the same error, as a cold read, whatever changed in it.

def _commented(body: bytes) -> bytes:
    """`body` with HELP and TYPE lines before each family, as a kubelet writes it."""
    out, seen = [], set()
    for line in body.split(b"\n"):
        name = line.split(b"{")[0].split(b" ")[0]
        if line and not line.startswith(b"#") and name not in seen:
            seen.add(name)
            out += [b"# HELP " + name + b" [STABLE] what it is", b"# TYPE " + name + b" gauge"]
        out.append(line)
    return b"\n".join(out)


COMMENTED = _commented(NORMAL)


def _warm(body: bytes) -> NodeCache:
    cache = NodeCache()
    decode(body, NOW, cache)
    assert cache.plan is not None and cache.plan.reader is not None
    return cache


def test_a_response_laid_out_as_the_last_is_read_by_the_reader() -> None:
    cache = _warm(NORMAL)
    plan = cache.plan
    assert plan is not None and plan.reader is not None
    second = NORMAL.replace(b"} 4.710169 1633253812125", b"} 5.5 1633253817125").replace(
        b"} 1.6756736e+07 1633253812126", b"} 2e+07 1633253817126")
    scrape = plan.reader.scrape(second, NOW)
    assert scrape is not None  # the reader read it, not the expression
    assert _view(scrape) == _view(decode(second, NOW))
    assert decode(second, NOW, cache).layout is scrape.layout
    assert scrape.pods["ns1", "p1"]["c1"].cpu == int(5.5 * 1e9)
    assert scrape.pods["ns1", "p1"]["c1"].memory == 20_000_000
    assert scrape.pods["ns1", "p1"]["c1"].timestamp == 1633253817126 * 10**6  # memory's line


def test_the_real_responses_are_read_by_the_reader() -> None:
    for name in ("metrics_resource_kind_70pods.txt", "metrics_resource_kubelet_families.txt"):
        body = fixture(name)
        cache = _warm(body)
        again = body.replace(b" 1633253812125\n", b" 1633253817125\n")
        assert cache.plan is not None and cache.plan.reader is not None
        assert cache.plan.reader.scrape(again, NOW) is not None
        _same_as_cold(again, cache)


_CHANGES = [
    (b"} 4.710169 ", b"} -4.710169 "),  # negative: the whole response fails
    (b"} 4.710169 ", b"} NaN "),
    (b"} 4.710169 ", b"} 1e400 "),  # infinite
    (b"} 1000 1633253812126", b"} 1e30 1633253812126"),  # past uint64
    (b"} 1000 1633253812126", b"} -1e-12 1633253812126"),
    (b" 1633253812125\n", b" -1633253812125\n"),
    (b" 1633253812125\n", b" +1633253812125\n"),
    (b" 1633253812125\n", b" 16332538_12125\n"),
    (b" 1633253812125\n", b" 1633253812125\t\n"),
    (b"} 1.5 1633253812125\n", b"} 1.5\n1633253812125\n"),  # a line broken in two
    (b'} 1.5 1633253812125\ncontainer_memory', b'} 1.5 1633253812125 container_memory'),
    (b"} 1.6332537e+09 1633253812000", b"} -1.6332537e+09 1633253812000"),  # start time
    (b"} 1.6332537e+09 1633253812000", b"} 1.7e+09 1633253812000"),  # a restart
    (b"# TYPE container_cpu_usage_seconds_total counter", b"container_cpu_usage_seconds_total 1 2"),
    (b"# TYPE pod_cpu_usage_seconds_total gauge", b"node_cpu_usage_seconds_total 1 2"),
    (b"# HELP pod_cpu_usage_seconds_total", b"#HELP pod_cpu_usage_seconds_total"),
    (b"scrape_error 0", b'container_cpu_usage_seconds_total{container="c",namespace="n",pod="p"}'
                        b" 1 2"),
    (b"node_memory_working_set_bytes 1.616273408e+09",
     b"node_memory_working_set_bytes -1.616273408e+09"),
    (b'pod="p1"} 4.710169', b'pod="p2"} 4.710169'),
]


@pytest.mark.parametrize(("body", "change"), [
    (body, change) for body in (NORMAL, COMMENTED) for change in _CHANGES if change[0] in body])
def test_a_changed_response_reads_as_a_cold_one(body: bytes, change: tuple[bytes, bytes]) -> None:
    old, new = change
    cache = _warm(body)
    _same_as_cold(body.replace(old, new, 1), cache)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.tuples(st.integers(0, len(COMMENTED) - 1),
                          st.sampled_from([b" ", b"\n", b"\t", b"-", b"+", b"_", b"x", b"{",
                                           b"}", b"e", b"#", b"0", b"9", b".", b""])),
                min_size=1, max_size=4))
def test_a_mutated_response_reads_as_a_cold_one(edits: list[tuple[int, bytes]]) -> None:
    for original in (NORMAL, COMMENTED):
        _mutated_reads_as_cold(original, edits)


def _mutated_reads_as_cold(original: bytes, edits: list[tuple[int, bytes]]) -> None:
    cache = _warm(original)
    body = bytearray(original)
    for at, char in sorted(edits, reverse=True):
        body[at % len(original):at % len(original) + 1] = char
    _same_as_cold(bytes(body), cache)


_SWAPS = [(b"} 4.710169 ", b"} 4.8 "), (b"} 1.6756736e+07 ", b"} 1.7e+07 "),
          (b" 1633253812126\n", b" 1633253817126\n"), (b"} 1.5 ", b"} -1.5 "),
          (b"} 1.6332537e+09 ", b"} 1.6332538e+09 "), (b" 1633253812125\n", b"\n")]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.sampled_from(range(len(_SWAPS))), max_size=3), min_size=1,
                max_size=6))
def test_a_series_of_responses_reads_as_cold_ones(steps: list[list[int]]) -> None:
    """One warm cache through responses whose columns change, change back or stay: what a
    column kept from the last response gives is what reading it cold gives."""
    for original in (NORMAL, COMMENTED):
        cache = _warm(original)
        for step in steps:
            body = original
            for i in step:
                body = body.replace(*_SWAPS[i])
            _same_as_cold(body, cache)
