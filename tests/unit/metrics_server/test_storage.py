"""Storage and computation as upstream's storage tests pin them (node_test, pod_test,
ready_test, types_test), then our deliberate differences."""

from array import array

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from examples.metrics_server.points import Layout, MetricsPoint, NodeScrape, UsageError, usage
from examples.metrics_server.storage import MetricsStorage

S = 1_000_000_000  # a second in ns; also a CoreSecond in nanocore-seconds
MI = 2**20
T0 = 1_600_000_000 * S


def point(ts_s: float, cpu_core_s: float, mem: int, start_s: float | None = None) -> MetricsPoint:
    return MetricsPoint(start_time=T0 + int((start_s or 0) * S) if start_s is not None else 0,
                        timestamp=T0 + int(ts_s * S), cpu=int(cpu_core_s * S), memory=mem,
                        has_cpu=True, has_memory=True)


def node_batch(p: MetricsPoint | None, name: str = "node1") -> dict[str, NodeScrape]:
    return {name: NodeScrape(node=p)}


def pod_batch(**containers: MetricsPoint) -> dict[str, NodeScrape]:
    return {"node1": NodeScrape(pods={("ns1", "pod1"): dict(containers)})}


# node_test -------------------------------------------------------------------
def test_node_two_points_give_cpu_rate_and_memory() -> None:
    s = MetricsStorage(60)
    s.store(node_batch(point(10, 10, 2 * MI)))
    assert s.node("node1") is None and not s.has_node_data()
    s.store(node_batch(point(20, 20, 3 * MI)))
    value = s.node("node1")
    assert value is not None and s.has_node_data()
    assert value.usage.timestamp == T0 + 20 * S and value.usage.window == 10 * S
    assert value.wire()[1:] == ("10s", {"cpu": "1", "memory": "3Mi"})
    assert s.node("node2") is None
    s.store({})
    assert s.node("node1") is None


def test_node_same_batch_twice_is_not_ready() -> None:
    s = MetricsStorage(60)
    s.store(node_batch(point(10, 10, 2 * MI)))
    s.store(node_batch(point(10, 10, 2 * MI)))
    assert s.node("node1") is None and not s.has_node_data()


def test_storage_points() -> None:
    s = MetricsStorage(60)
    s.store(node_batch(point(10, 10, 2 * MI)))
    assert s.points() == (0, 0)
    s.store(node_batch(point(20, 20, 3 * MI)))
    assert s.points() == (1, 0)


def test_node_restart_gives_nothing() -> None:
    s = MetricsStorage(60)
    s.store(node_batch(point(10, 10, MI, start_s=0)))
    s.store(node_batch(point(20, 5, MI, start_s=15)))
    assert s.node("node1") is None


def test_node_cpu_decrease_gives_nothing() -> None:
    s = MetricsStorage(60)
    s.store(node_batch(point(10, 50, MI)))
    s.store(node_batch(point(20, 10, MI)))
    assert s.node("node1") is None


def test_node_point_older_than_prev_gives_nothing() -> None:
    s = MetricsStorage(60)
    for ts in (15, 35, 5):
        s.store(node_batch(point(ts, ts, MI)))
    assert s.node("node1") is None


def test_node_point_between_prev_and_last_keeps_prev() -> None:
    s = MetricsStorage(60)
    s.store(node_batch(point(15, 10, MI)))
    s.store(node_batch(point(35, 20, MI)))
    s.store(node_batch(point(25, 35, 2 * MI)))
    value = s.node("node1")
    assert value is not None
    assert value.usage.timestamp == T0 + 25 * S and value.usage.window == 10 * S
    assert value.usage.cpu == 2_500_000_000 and value.wire()[2] == {"cpu": "2500m",
                                                                   "memory": "2Mi"}


def test_node_start_time_zero_is_as_normal() -> None:
    s = MetricsStorage(60)
    s.store(node_batch(point(10, 10, 2 * MI, start_s=None)))
    s.store(node_batch(point(20, 20, 3 * MI, start_s=None)))
    assert s.node("node1") is not None


# pod_test --------------------------------------------------------------------
def test_pod_basic() -> None:
    s = MetricsStorage(60)
    s.store(pod_batch(c1=point(120, 1, 4 * MI)))
    assert s.pod("ns1", "pod1") is None
    s.store(pod_batch(c1=point(125, 6, 5 * MI)))
    value = s.pod("ns1", "pod1")
    assert value is not None
    _ts, window, containers = value.wire()
    assert window == "5s"
    assert containers == [{"name": "c1", "usage": {"cpu": "1", "memory": "5Mi"}}]
    assert s.pod("ns1", "pod2") is None
    s.store({"node1": NodeScrape()})
    assert s.pod("ns1", "pod1") is None


def test_pod_timestamp_is_its_earliest_container() -> None:
    s = MetricsStorage(60)
    s.store(pod_batch(c1=point(110, 1, MI), c2=point(115, 1, MI)))
    s.store(pod_batch(c1=point(120, 2, MI), c2=point(125, 2, MI)))
    value = s.pod("ns1", "pod1")
    assert value is not None
    assert value.timestamp == T0 + 120 * S and value.window == 10 * S


def test_pod_repeated_batch_is_not_ready() -> None:
    s = MetricsStorage(60)
    s.store(pod_batch(c1=point(120, 1, MI)))
    s.store(pod_batch(c1=point(120, 1, MI)))
    assert s.pod("ns1", "pod1") is None and not s.has_pod_data()


def test_pod_storage_points() -> None:
    s = MetricsStorage(60)
    s.store(pod_batch(c1=point(110, 1, MI), c2=point(110, 1, MI)))
    s.store(pod_batch(c1=point(120, 2, MI), c2=point(120, 2, MI)))
    assert s.points() == (0, 2)


def test_container_restart_uses_the_fresh_container_window() -> None:
    s = MetricsStorage(60)
    s.store(pod_batch(c1=point(10, 10, MI, start_s=0)))
    s.store(pod_batch(c1=point(25, 5, MI, start_s=15)))
    value = s.pod("ns1", "pod1")
    assert value is not None and value.window == 10 * S
    assert value.containers[0][1].cpu == 500_000_000


def test_container_cpu_decrease_gives_a_pod_without_containers() -> None:
    s = MetricsStorage(60)
    s.store(pod_batch(c1=point(120, 10, MI, start_s=0)))
    s.store(pod_batch(c1=point(130, 5, MI, start_s=0)))
    value = s.pod("ns1", "pod1")
    assert value is not None and value.containers == []
    assert value.wire() == (None, "0s", [])


def test_container_point_older_than_prev_gives_nothing() -> None:
    s = MetricsStorage(60)
    for ts in (115, 135, 105):
        s.store(pod_batch(c1=point(ts, ts, MI)))
    assert s.pod("ns1", "pod1") is None


def test_container_point_between_prev_and_last() -> None:
    s = MetricsStorage(60)
    s.store(pod_batch(c1=point(115, 10, MI)))
    s.store(pod_batch(c1=point(135, 20, MI)))
    s.store(pod_batch(c1=point(120, 35, MI)))
    value = s.pod("ns1", "pod1")
    assert value is not None and value.timestamp == T0 + 120 * S
    assert value.window == 5 * S and value.containers[0][1].cpu == 5 * S


def test_long_running_container_first_batch_is_not_ready() -> None:
    s = MetricsStorage(60)
    s.store(pod_batch(c1=point(120, 1, MI, start_s=0)))
    assert s.pod("ns1", "pod1") is None


def test_fresh_container_has_data_after_one_batch() -> None:
    s = MetricsStorage(60)
    s.store(pod_batch(c1=point(10, 10, 4 * MI, start_s=0)))
    value = s.pod("ns1", "pod1")
    assert value is not None and s.has_pod_data()
    assert value.window == 10 * S
    assert value.wire()[2] == [{"name": "c1", "usage": {"cpu": "1", "memory": "4Mi"}}]


def test_start_time_after_timestamp_is_not_ready() -> None:
    s = MetricsStorage(60)
    s.store(pod_batch(c1=point(10, 10, MI, start_s=20)))
    assert s.pod("ns1", "pod1") is None


def test_container_younger_than_ten_seconds_is_not_ready() -> None:
    s = MetricsStorage(60)
    s.store(pod_batch(c1=point(9, 10, MI, start_s=0)))
    assert s.pod("ns1", "pod1") is None


def test_pod_start_time_zero_is_as_normal() -> None:
    s = MetricsStorage(60)
    s.store(pod_batch(c1=point(120, 1, 4 * MI, start_s=None)))
    s.store(pod_batch(c1=point(125, 6, 5 * MI, start_s=None)))
    assert s.pod("ns1", "pod1") is not None


def test_a_container_missing_from_the_first_cycle_omits_the_pod() -> None:
    s = MetricsStorage(60)
    s.store(pod_batch(c1=point(110, 1, MI, start_s=0)))
    s.store(pod_batch(c1=point(120, 2, MI, start_s=0), c2=point(120, 2, MI, start_s=0)))
    assert s.pod("ns1", "pod1") is None


# ready_test ----------------------------------------------------------------
def test_ready_needs_node_and_pod_data() -> None:
    only_nodes, only_pods, both = MetricsStorage(60), MetricsStorage(60), MetricsStorage(60)
    for ts in (10, 20):
        only_nodes.store(node_batch(point(ts, ts, MI)))
        only_pods.store(pod_batch(c1=point(ts, ts, MI)))
        both.store({"node1": NodeScrape(node=point(ts, ts, MI),
                                        pods={("ns1", "pod1"): {"c1": point(ts, ts, MI)}})})
    assert only_nodes.has_node_data() and not only_nodes.has_pod_data()
    assert only_pods.has_pod_data() and not only_pods.has_node_data()
    assert both.has_node_data() and both.has_pod_data()


# types_test ----------------------------------------------------------------
def test_usage_of_200ns_over_10ms_is_20000_nanocores() -> None:
    prev = MetricsPoint(timestamp=T0, cpu=0)
    last = MetricsPoint(timestamp=T0 + 10_000_000, cpu=200)
    assert usage(prev, last).cpu == 20000


def test_usage_errors() -> None:
    with pytest.raises(UsageError, match="startTime"):
        usage(MetricsPoint(start_time=10, timestamp=1), MetricsPoint(start_time=5, timestamp=2))
    with pytest.raises(UsageError, match="cumulative CPU"):
        usage(MetricsPoint(timestamp=1, cpu=10), MetricsPoint(timestamp=2, cpu=5))


# ours ----------------------------------------------------------------------
class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_failed_scrape_keeps_the_node_and_its_pods_for_the_grace_period() -> None:
    clock = Clock()
    s = MetricsStorage(15, grace_period=30, clock=clock)
    for ts in (10, 25):
        clock.now += 15
        s.store({"node1": NodeScrape(node=point(ts, ts, MI),
                                     pods={("ns1", "pod1"): {"c1": point(ts, ts, MI)}})})
    before = (s.node("node1"), s.pod("ns1", "pod1"))
    assert None not in before
    clock.now += 15
    s.store({}, failed=["node1"])  # upstream forgets both here
    clock.now += 15
    s.store({}, failed=["node1"])
    assert (s.node("node1"), s.pod("ns1", "pod1")) == before  # same data, truthful timestamp
    clock.now += 15
    assert s.store({}, failed=["node1"]) == ["node1"]
    assert s.node("node1") is None and s.pod("ns1", "pod1") is None


def test_without_a_grace_period_a_failed_scrape_forgets_as_upstream() -> None:
    s = MetricsStorage(15)
    for ts in (10, 25):
        s.store(node_batch(point(ts, ts, MI)))
    assert s.store({}, failed=["node1"]) == ["node1"]
    assert s.node("node1") is None


def test_a_node_that_recovers_continues_from_its_kept_points() -> None:
    clock = Clock()
    s = MetricsStorage(15, grace_period=60, clock=clock)
    s.store(node_batch(point(10, 10, MI)))
    s.store({}, failed=["node1"])
    s.store(node_batch(point(40, 40, MI)))
    value = s.node("node1")
    assert value is not None and value.usage.window == 30 * S


def test_containers_are_in_name_order() -> None:
    s = MetricsStorage(60)
    names = ["zeta", "alpha", "mid", "beta"]
    for ts in (10, 20):
        s.store(pod_batch(**{n: point(ts, ts, MI) for n in names}))
    value = s.pod("ns1", "pod1")
    assert value is not None
    assert [c["name"] for c in value.wire()[2]] == sorted(names)


def test_a_zero_cpu_container_keeps_its_pod() -> None:
    s = MetricsStorage(60)
    s.store(pod_batch(app=point(10, 10, MI), idle=point(10, 0, MI)))
    s.store(pod_batch(app=point(20, 20, MI), idle=point(20, 0, MI)))
    value = s.pod("ns1", "pod1")
    assert value is not None
    assert value.wire()[2] == [{"name": "app", "usage": {"cpu": "1", "memory": "1Mi"}},
                               {"name": "idle", "usage": {"cpu": "0", "memory": "1Mi"}}]


# columns ---------------------------------------------------------------------
KEYS = (("ns1", "pod1", "a"), ("ns1", "pod1", "b"), ("ns2", "pod2", "c"))


def columns(layout: Layout, points: list[MetricsPoint]) -> NodeScrape:
    return NodeScrape.columns(
        None, layout, array("Q", [p.cpu for p in points]), array("Q", [p.memory for p in points]),
        array("Q", [p.start_time for p in points]), array("q", [p.timestamp for p in points]))


def values(s: MetricsStorage) -> list[object]:
    return [s.pod("ns1", "pod1"), s.pod("ns2", "pod2"), s.points(), s.has_pod_data()]


_CYCLES = st.lists(st.lists(st.tuples(st.integers(-5, 30), st.integers(-2, 20),
                                      st.integers(0, 8)), min_size=3, max_size=3),
                   min_size=1, max_size=8)


@pytest.mark.parametrize("keep_start", [False, True], ids=["new-start", "kept-start"])
@settings(max_examples=300, deadline=None)
@given(cycles=_CYCLES)
def test_a_kept_layout_gives_what_per_container_rules_give(
        keep_start: bool, cycles: list[list[tuple[int, int, int]]]) -> None:
    """Storage lines a node's columns up whole when its layout is the same object as last
    time; the answers are those of the container-by-container rules (a new layout each time).
    Steps per container and cycle: time and CPU forward (sometimes back), a restart now and
    then (a new start time, just before the point or long before). With `keep_start` the start
    column is the same object while no start time changes (as the decoder hands it over),
    which lets storage skip the age and restart checks."""
    kept, fresh = MetricsStorage(15), MetricsStorage(15)
    layout = Layout(KEYS)
    state = [[100, 50, 0] for _ in KEYS]  # ts, cpu, start (seconds)
    start_column = array("Q")
    for cycle in cycles:
        for (dt, dcpu, restart), c in zip(cycle, state, strict=True):
            c[0], c[1] = c[0] + dt, max(c[1] + dcpu, 0)
            if restart == 1:
                c[2] = c[0] - 12  # fresh: 12 s old at a 15 s resolution
            elif restart == 2:
                c[2] = c[0] - 40
        points = [point(ts, cpu, MI, start_s=start) for ts, cpu, start in state]
        scrape = columns(layout, points)
        if keep_start and scrape.start == start_column:
            scrape.start = start_column  # the same object, as the decoder keeps it
        start_column = scrape.start
        kept.store({"node1": scrape})
        fresh.store({"node1": columns(Layout(KEYS), points)})
        assert values(kept) == values(fresh)


def test_which_node_has_a_pod_follows_layouts_kept_and_changed() -> None:
    """The pod -> node map is kept while every node reports the layout it did (no pod on two
    nodes), and made again when one changes: a pod that moved is found on its new node."""
    s = MetricsStorage(15)
    a, b = Layout((("ns1", "pod1", "c"),)), Layout((("ns2", "pod2", "c"),))
    moved = Layout((("ns1", "pod1", "c"), ("ns2", "pod2", "c")))

    def cycle(ts: float, layouts: dict[str, Layout]) -> None:
        s.store({name: columns(layout, [point(ts, ts, MI, start_s=-100)] * len(layout.keys))
                 for name, layout in layouts.items()})

    for ts in (10, 25, 40):
        cycle(ts, {"node1": a, "node2": b})
    assert s.pod("ns1", "pod1") is not None
    assert s.pod("ns2", "pod2") is not None
    assert s._pods == {("ns1", "pod1"): "node1", ("ns2", "pod2"): "node2"}
    cycle(55, {"node1": Layout(()), "node2": moved})  # pod1 now on node2, with one point
    assert s._pods == {("ns1", "pod1"): "node2", ("ns2", "pod2"): "node2"}
    assert s.pod("ns1", "pod1") is None  # no two points on node2 yet
    cycle(70, {"node1": Layout(()), "node2": moved})
    assert s.pod("ns1", "pod1") is not None
    cycle(85, {"node2": moved})  # node1 gone
    assert s._pods == {("ns1", "pod1"): "node2", ("ns2", "pod2"): "node2"}
