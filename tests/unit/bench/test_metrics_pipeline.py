"""The metrics benchmark's pure parts: the fleet's kubelet payload and apiserver lists, the
summary with ratios, the table and the plot."""

from __future__ import annotations

import json
import random
import re

from bench.kubelet_fleet import CONTAINERS, PODS_PER_NODE, Fleet, NodePayload, make_pods
from bench.metrics_pipeline import markdown, summarize, tick_seconds
from bench.metricsplot import svg

LINE = re.compile(r'^(\w+)(\{[^}]*\})? (\S+)( \d+)?$')


def test_payload_is_a_kubelets_resource_metrics_for_30_pods_of_2_containers() -> None:
    payload = NodePayload(make_pods(0, random.Random(1)))
    first = payload.render(2_000_000_000.0).decode()
    families: dict[str, int] = {}
    for line in first.splitlines():
        if line.startswith("# TYPE"):
            families[line.split()[2]] = 0
        elif not line.startswith("#"):
            m = LINE.match(line)
            assert m, line
            families[m.group(1)] += 1
    assert list(families) == sorted(families)  # a kubelet sorts families by name
    per_container = PODS_PER_NODE * len(CONTAINERS)
    assert families["container_cpu_usage_seconds_total"] == per_container
    assert families["container_memory_working_set_bytes"] == per_container
    assert families["container_start_time_seconds"] == per_container
    assert families["pod_cpu_usage_seconds_total"] == PODS_PER_NODE
    assert families["node_cpu_usage_seconds_total"] == 1

    def cpu(text: str) -> float:
        return float(next(ln for ln in text.splitlines()
                          if ln.startswith("container_cpu_usage_seconds_total{")).split()[1])

    later = payload.render(2_000_000_015.0).decode()
    rate = (cpu(later) - cpu(first)) / 15
    assert 0.001 <= rate <= 0.25  # a real rate between two scrapes


def test_fleet_lists_nodes_pointing_at_their_kubelet_ports_and_running_pods() -> None:
    fleet = Fleet.__new__(Fleet)
    fleet.payloads = [NodePayload(make_pods(i, random.Random(i))) for i in range(3)]
    fleet.ports = [10001, 10002, 10003]
    fleet.lists = {}
    fleet.build_lists()
    nodes = json.loads(fleet.lists["nodes"])
    assert nodes["kind"] == "NodeList"
    ports = [n["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] for n in nodes["items"]]
    assert ports == fleet.ports
    pods = json.loads(fleet.lists["pods"])["items"]
    assert len(pods) == 3 * PODS_PER_NODE
    assert {p["status"]["phase"] for p in pods} == {"Running"}
    meta = json.loads(fleet.lists["pods-meta"])
    assert meta["kind"] == "PartialObjectMetadataList"
    assert meta["items"][0]["metadata"]["labels"] == pods[0]["metadata"]["labels"]


def test_summary_takes_medians_and_ratios_and_renders() -> None:
    def run(server: str, cpu: float) -> dict[str, float | str | None]:
        return {"server": server, "nodes": 100, "cpu_s_per_cycle": cpu,
                "millicores_per_node": cpu / 15 / 100 * 1000, "peak_rss_mib": 100.0,
                "rss_mib_per_node": 1.0, "cycle_wall_s": None, "list_ms": 10.0}

    table = summarize([run("ours", 0.1), run("ours", 0.3), run("upstream", 0.4)])
    [row] = table
    assert row["ours_cpu_s_per_cycle"] == 0.2
    assert row["ratio_cpu_s_per_cycle"] == 0.5
    assert row["ours_cycle_wall_s"] is None and row["ratio_cycle_wall_s"] is None
    assert "| 100 | CPU s/cycle | 0.200 | 0.400 | 0.50 |" in markdown(table)
    assert svg(table).startswith("<svg")


def test_tick_seconds_is_the_mean_between_two_samples() -> None:
    key = "metrics_server_manager_tick_duration_seconds"
    assert tick_seconds({f"{key}_sum": 1.0, f"{key}_count": 2},
                        {f"{key}_sum": 4.0, f"{key}_count": 5}) == 1.0
    assert tick_seconds({}, {}) is None


def test_ours_resolution_applies_to_ours_only_and_cpu_per_15s_is_summarised() -> None:
    import argparse

    from bench.metrics_pipeline import resolution_of

    args = argparse.Namespace(resolution=15, ours_resolution=5)
    assert resolution_of("ours", args) == 5
    assert resolution_of("upstream", args) == 15
    assert resolution_of("ours", argparse.Namespace(resolution=15, ours_resolution=None)) == 15

    def run(server: str, per_15s: float) -> dict[str, float | str | None]:
        return {"server": server, "nodes": 1000, "cpu_s_per_cycle": 1.0,
                "cpu_s_per_15s": per_15s, "millicores_per_node": 0.1, "peak_rss_mib": 100.0,
                "rss_mib_per_node": 0.1, "cycle_wall_s": None, "list_ms": 10.0}

    [row] = summarize([run("ours", 1.5), run("upstream", 1.0)])
    assert row["ratio_cpu_s_per_15s"] == 1.5
    assert "| 1,000 | CPU s/15 s | 1.500 | 1.000 | 1.50 |" in markdown([row])
