"""`python -m bench.custom_metrics`: a `pods/*/<metric>` request over 1,000 pods.

Two sources behind the same framework, in-process (full handler chain, no TLS):
- **cache**: a provider answering from values it holds (the framework's own cost: routing,
  selectors, 1,000 items to JSON);
- **prometheus**: the Prometheus adapter, whose request becomes one PromQL query over 1,000
  pod names sent to a real Prometheus (Debian's) scraping 1,000 series from a loopback exporter.
Interleaved rounds; latency percentiles, our process's CPU and Prometheus's CPU per request.
Prints a table, writes bench/out/custom_metrics.svg.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from bench.__main__ import OUT
from bench.wireplot import svg
from examples.prometheus_adapter.config import parse_config
from examples.prometheus_adapter.mapper import ResourceMapper
from examples.prometheus_adapter.prometheus import PrometheusClient
from examples.prometheus_adapter.provider import PrometheusCustomMetrics
from examples.prometheus_adapter.registry import SeriesRegistry
from k8s_aggapi.custommetrics import (
    CustomMetricInfo,
    MetricValue,
    ObjectReference,
    metric_not_found_for,
    metrics_groups,
)
from k8s_aggapi.envtest.exporter import Exporter
from k8s_aggapi.envtest.lifetime import descendants
from k8s_aggapi.envtest.prometheus import Prometheus
from k8s_aggapi.errors import GroupResource
from k8s_aggapi.registry.selectors import LabelSelector
from k8s_aggapi.testing import build_test_app

PODS = GroupResource("", "pods")
N = 1_000
NAMES = [f"web-{i:04d}" for i in range(N)]
PATH = "/apis/custom.metrics.k8s.io/v1beta2/namespaces/bench/pods/*/http_requests_per_second"
RULES = """
rules:
- seriesQuery: 'http_requests_total{namespace!="",pod!=""}'
  resources: {overrides: {namespace: {resource: namespace}, pod: {resource: pod}}}
  name: {matches: "^(.*)_total$", as: "${1}_per_second"}
  metricsQuery: 'sum(rate(<<.Series>>{<<.LabelMatchers>>}[30s])) by (<<.GroupBy>>)'
"""


class Cached:
    """Values held in memory, as a provider with its own cache would answer."""

    def __init__(self) -> None:
        self.values = {n: float(i) for i, n in enumerate(NAMES)}

    async def list_all_metrics(self) -> Sequence[CustomMetricInfo]:
        return [CustomMetricInfo(PODS, True, "http_requests_per_second")]

    def _value(self, namespace: str, name: str) -> MetricValue:
        return MetricValue(ObjectReference("Pod", name, namespace, "/v1"),
                           "http_requests_per_second", self.values[name])

    async def get_metric_by_name(self, namespace: str, name: str, info: CustomMetricInfo,
                                 metric_selector: LabelSelector) -> MetricValue:
        if name not in self.values:
            raise metric_not_found_for(PODS, info.metric, name)
        return self._value(namespace, name)

    async def get_metric_by_selector(self, namespace: str, selector: LabelSelector,
                                     info: CustomMetricInfo,
                                     metric_selector: LabelSelector) -> Sequence[MetricValue]:
        return [self._value(namespace, n) for n in NAMES if selector.matches({"app": "web"})]


class AllPods:
    async def names(self, gr: GroupResource, namespace: str, selector: LabelSelector) -> list[str]:
        return NAMES


async def call(app: Any) -> tuple[int, int]:
    status, size, sent = 0, 0, False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status, size
        if message["type"] == "http.response.start":
            status = message["status"]
        else:
            size += len(message.get("body", b""))

    scope: dict[str, Any] = {
        "type": "http", "method": "GET", "path": PATH, "raw_path": PATH.encode(),
             "query_string": b"labelSelector=app%3Dweb", "headers": [], "scheme": "https",
             "server": None, "client": None, "root_path": "", "http_version": "1.1"}
    await app(scope, receive, send)
    return status, size


def _cpu_of(pid: int) -> float:
    """utime + stime of `pid` in seconds (/proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def measure(app: Any, requests: int, prometheus_pid: int | None) -> dict[str, Any]:
    samples = []
    cpu0, prom0 = time.process_time(), _cpu_of(prometheus_pid) if prometheus_pid else 0.0
    size = 0
    for _ in range(requests):
        t0 = time.perf_counter()
        status, size = await call(app)
        assert status == 200, status
        samples.append(time.perf_counter() - t0)
    ours = (time.process_time() - cpu0) / requests
    theirs = ((_cpu_of(prometheus_pid) - prom0) / requests) if prometheus_pid else 0.0
    return {"samples": samples, "ours": ours, "prometheus": theirs, "bytes": size}


async def run(rounds: int, requests: int, prometheus: Prometheus) -> list[dict[str, Any]]:
    cached_app = build_test_app(metrics_groups(custom=[Cached()]))
    config = parse_config(RULES)
    registry = SeriesRegistry(config.rules, (), PrometheusClient(prometheus.url, timeout=30),
                              ResourceMapper(), max_age=600)
    await registry.relist()
    prom_app = build_test_app(metrics_groups(
        custom=[PrometheusCustomMetrics(registry, AllPods())]))  # type: ignore[arg-type]
    leash = prometheus.process.pid
    below = descendants(leash) if leash else set()
    prom_pid = next(iter(below)) if len(below) == 1 else leash
    results: dict[str, list[dict[str, Any]]] = {"cache": [], "prometheus": []}
    for _ in range(rounds):  # interleaved: the machine's load falls on both alike
        results["cache"].append(await measure(cached_app, requests, None))
        results["prometheus"].append(await measure(prom_app, requests, prom_pid))
    await registry.prometheus.close()
    rows = []
    for name, runs in results.items():
        samples = sorted(s for r in runs for s in r["samples"])
        rows.append({
            "row": name, "op": f"pods/* x{N}",
            "p50_ms": statistics.median(samples) * 1000,
            "p99_ms": samples[int(len(samples) * 0.99) - 1] * 1000,
            "ours_ms": statistics.median(r["ours"] for r in runs) * 1000,
            "prometheus_ms": statistics.median(r["prometheus"] for r in runs) * 1000,
            "bytes": runs[-1]["bytes"],
        })
    for row in rows:
        row["rps"] = 1000 / row["p50_ms"]
        row["cpu_per_10k"] = (row["ours_ms"] + row["prometheus_ms"]) * 10
    return rows


def main(argv: Sequence[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.custom_metrics")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--requests", type=int, default=40, help="per round and source")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp, Exporter() as exporter:
        for i, name in enumerate(NAMES):
            exporter.set_rate("http_requests_total", {"namespace": "bench", "pod": name}, i / 100)
        with Prometheus(Path(tmp), {"exporter": [exporter.target]}) as prometheus:
            prometheus.wait_for(f'count(rate(http_requests_total[30s]) > 0) == {N - 1}',
                                timeout=120)
            rows = asyncio.run(run(args.rounds, args.requests, prometheus))
    print(f"pods/*/http_requests_per_second over {N} pods, {args.rounds} interleaved rounds of "
          f"{args.requests} requests (in-process, full handler chain)")
    print(f"{'source':<12}{'p50 ms':>9}{'p99 ms':>9}{'our CPU ms':>12}{'Prom CPU ms':>13}"
          f"{'bytes':>9}")
    for r in rows:
        print(f"{r['row']:<12}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}{r['ours_ms']:>12.1f}"
              f"{r['prometheus_ms']:>13.1f}{r['bytes']:>9}")
    base = rows[0]
    for r in rows[1:]:
        print(f"{r['row']} / {base['row']}: p50 x{r['p50_ms'] / base['p50_ms']:.1f}, "
              f"CPU (ours + Prometheus) x{r['cpu_per_10k'] / base['cpu_per_10k']:.1f}")
    OUT.mkdir(exist_ok=True)
    (OUT / "custom_metrics.svg").write_text(svg(rows))
    print(f"plot: {OUT / 'custom_metrics.svg'}")


if __name__ == "__main__":
    main()
