"""`python -m bench.metrics_pipeline`: our metrics server beside metrics-server v0.8.0, scraping
the same simulated kubelet fleet at the same resolution, runs interleaved.

Setup per fleet size (100, 1,000, 5,000 nodes; 30 pods x 2 containers each):
- `bench.kubelet_fleet` in its own process: one HTTPS kubelet per node on 127.0.0.1 (serving
  cert from the envtest cluster CA, verified by both servers), plus the list+watch of its
  Nodes and Pods that the servers' informers read (`--kubeconfig` points there);
- a real envtest control plane (etcd, kube-apiserver, ...) for everything else: delegated
  authentication and authorization (`--authentication-kubeconfig`/`--authorization-kubeconfig`)
  and the aggregator, through which each server is registered as v1beta1.metrics.k8s.io.

Per run (one server, one size): start, wait until every node's metrics are served, skip a
warm-up cycle, then over a window of `--cycles` resolutions measure the server's CPU seconds
(utime+stime of its process tree), its peak RSS (VmHWM), the scrapes the fleet answered and the
mean scrape cycle wall time
(the servers' own `metrics_server_manager_tick_duration_seconds`); then the latency of listing all
PodMetrics across namespaces as JSON through kube-apiserver (median of `--lists`).

`--ours-resolution` runs ours at another resolution than upstream in the same run (the
issue's comparison: ours at 5 s against upstream at 15 s); the CPU is then compared per 15 s
(`CPU s/15 s`), whatever each server's cycle.

Prints a table with the ratios ours/upstream, writes bench/out/metrics_pipeline.{json,md,svg}.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import ssl
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.gobuild import metrics_server_binary
from bench.metricsplot import svg
from bench.procs import cpu_seconds, memory_bytes
from k8s_aggapi.envtest import ControlPlane
from k8s_aggapi.envtest.controlplane import NO_PROXY
from k8s_aggapi.envtest.pki import KUBELET_SERVING
from k8s_aggapi.envtest.processes import ManagedProcess, free_port, wait_for
from k8s_aggapi.kubeconfig import kubeconfig, write_kubeconfig
from k8s_aggapi.serving.certs import KeyPair

OUT = Path(__file__).parent / "out"
SERVERS = ("ours", "upstream")
BASE = "/apis/metrics.k8s.io/v1beta1"
PODS_PER_NODE = 30


@dataclass
class Fleet:
    nodes: int
    process: ManagedProcess
    apiserver_port: int
    stats_port: int

    def stats(self) -> dict[str, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.stats_port, timeout=30)
        try:
            conn.request("GET", "/stats")
            return dict(json.loads(conn.getresponse().read()))
        finally:
            conn.close()


def start_fleet(cp: ControlPlane, nodes: int, work: Path) -> Fleet:
    state = work / f"fleet-{nodes}"
    state.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, "-m", "bench.kubelet_fleet", f"--nodes={nodes}",
            f"--state-dir={state}", f"--cert={cp.pki.crt(KUBELET_SERVING)}",
            f"--key={cp.pki.key(KUBELET_SERVING)}"]
    proc = ManagedProcess(f"fleet-{nodes}", argv, state / "fleet.log",
                          env={**os.environ, "NO_PROXY": NO_PROXY})
    proc.start()
    wait_for("the fleet listening", lambda: (state / "fleet.json").exists(), proc,
             timeout=60 + nodes / 20)
    info = json.loads((state / "fleet.json").read_text())
    return Fleet(nodes, proc, info["apiserver_port"], info["stats_port"])


def fleet_kubeconfig(cp: ControlPlane, fleet: Fleet, path: Path) -> Path:
    """The servers' `--kubeconfig`: the fleet's apiserver, as admin (it checks nothing)."""
    pair = KeyPair.load(cp.pki.crt("admin"), cp.pki.key("admin"))
    return write_kubeconfig(path, kubeconfig(
        f"https://127.0.0.1:{fleet.apiserver_port}", cp.pki.ca.cert_pem(), "admin",
        pair.cert_pem(), pair.key_pem(), cluster="fleet"))


def server_argv(which: str, resolution: int) -> list[str]:
    program = ([str(metrics_server_binary())] if which == "upstream"
               else [sys.executable, "-m", "examples.metrics_server"])
    return [*program, f"--metric-resolution={resolution}s", "--kubelet-use-node-status-port",
            "--kubelet-preferred-address-types=InternalIP,Hostname"]


class Client:
    """A kept-alive HTTPS client of kube-apiserver as admin (what kubectl get --raw does)."""

    def __init__(self, cp: ControlPlane) -> None:
        self.port = cp.ports.apiserver
        self.ctx = ssl.create_default_context(cafile=str(cp.pki.crt("ca")))
        self.ctx.load_cert_chain(cp.pki.crt("admin"), cp.pki.key("admin"))
        self.conn: http.client.HTTPSConnection | None = None

    def get(self, path: str) -> tuple[int, bytes]:
        for attempt in range(2):
            if self.conn is None:
                self.conn = http.client.HTTPSConnection("127.0.0.1", self.port,
                                                        context=self.ctx, timeout=120)
            try:
                self.conn.request("GET", path, headers={"Accept": "application/json"})
                resp = self.conn.getresponse()
                return resp.status, resp.read()
            except (OSError, http.client.HTTPException):
                self.conn.close()
                self.conn = None
                if attempt:
                    raise
        raise AssertionError("unreachable")


def server_metrics(port: int, ctx: ssl.SSLContext) -> dict[str, float]:
    """The server's own /metrics (as admin): unlabelled samples by name."""
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=30)
    try:
        conn.request("GET", "/metrics")
        text = conn.getresponse().read().decode()
    finally:
        conn.close()
    samples = {}
    for line in text.splitlines():
        name, _, value = line.partition(" ")
        if line[:1] != "#" and "{" not in name and value:
            samples[name] = float(value.split()[0])
    return samples


def tick_seconds(before: dict[str, float], after: dict[str, float]) -> float | None:
    """Mean `metrics_server_manager_tick_duration_seconds` between two samples."""
    key = "metrics_server_manager_tick_duration_seconds"
    count = after.get(f"{key}_count", 0) - before.get(f"{key}_count", 0)
    if count <= 0:
        return None
    return (after[f"{key}_sum"] - before.get(f"{key}_sum", 0)) / count


def wait_requests(fleet: Fleet, count: int, timeout: float) -> None:
    """Until the fleet has answered `count` more scrapes."""
    goal = fleet.stats()["total"] + count
    deadline = time.monotonic() + timeout
    while fleet.stats()["total"] < goal:
        if time.monotonic() > deadline:
            raise RuntimeError(f"fewer than {count} scrapes in {timeout:.0f}s")
        time.sleep(0.5)


def resolution_of(which: str, args: argparse.Namespace) -> int:
    """The --metric-resolution (seconds) `which` runs at."""
    if which == "ours" and args.ours_resolution is not None:
        return int(args.ours_resolution)
    return int(args.resolution)


def run_one(cp: ControlPlane, client: Client, fleet: Fleet, which: str, args: argparse.Namespace,
            work: Path) -> dict[str, Any]:
    resolution = resolution_of(which, args)
    port = free_port()
    cert, key = cp.pki.serving_cert_for("metrics-server", "kube-system")
    admin = cp.admin_kubeconfig
    argv = [*server_argv(which, resolution),
            f"--kubelet-certificate-authority={cp.kubelet_ca}",
            f"--kubeconfig={fleet_kubeconfig(cp, fleet, work / 'fleet.kubeconfig')}",
            f"--authentication-kubeconfig={admin}", f"--authorization-kubeconfig={admin}",
            f"--secure-port={port}", "--bind-address=127.0.0.1",
            f"--tls-cert-file={cert}", f"--tls-private-key-file={key}"]
    log = work / f"{which}-{fleet.nodes}-{int(time.time())}.log"
    proc = ManagedProcess(which, argv, log, env={**os.environ, "NO_PROXY": NO_PROXY})
    t0 = time.monotonic()
    proc.start()
    assert proc.pid is not None
    try:
        cp.register_apiservice("metrics.k8s.io", "v1beta1", port, service="metrics-server",
                               namespace="kube-system")
        cp.wait_apiservice_available("v1beta1.metrics.k8s.io", timeout=120)

        def all_nodes() -> bool:
            status, body = client.get(f"{BASE}/nodes")
            return status == 200 and len(json.loads(body)["items"]) >= fleet.nodes

        wait_for(f"{which}: metrics of all {fleet.nodes} nodes", all_nodes, proc,
                 timeout=resolution * 6 + fleet.nodes / 50)
        ready_s = time.monotonic() - t0
        wait_requests(fleet, fleet.nodes, resolution * 3)  # a warm-up cycle
        # a fixed window of `cycles` resolutions, at whatever phase: CPU per resolution is
        # CPU per scrape cycle, whether a server scrapes in bursts or spreads its requests
        m0, req0, cpu0, w0 = (server_metrics(port, client.ctx), fleet.stats()["total"],
                              cpu_seconds(proc.pid), time.monotonic())
        time.sleep(args.cycles * resolution)
        m1, req1, cpu1, w1 = (server_metrics(port, client.ctx), fleet.stats()["total"],
                              cpu_seconds(proc.pid), time.monotonic())
        latencies, items = [], 0
        for _ in range(args.lists):
            t = time.perf_counter()
            status, body = client.get(f"{BASE}/pods")
            latencies.append(time.perf_counter() - t)
            assert status == 200, body[:300]
            items = len(json.loads(body)["items"])
        rss = memory_bytes(proc.pid)
        cpu_cycle = (cpu1 - cpu0) * resolution / (w1 - w0)
        return {
            "server": which, "nodes": fleet.nodes, "pods_listed": items,
            "resolution_s": resolution, "cpu_s_per_cycle": cpu_cycle,
            "cpu_s_per_15s": (cpu1 - cpu0) * 15 / (w1 - w0),
            "millicores_per_node": cpu_cycle / resolution / fleet.nodes * 1000,
            "peak_rss_mib": rss / 2**20, "rss_mib_per_node": rss / 2**20 / fleet.nodes,
            "cycle_wall_s": tick_seconds(m0, m1),
            "scrapes_per_node_per_cycle": (req1 - req0) / fleet.nodes * resolution
            / (w1 - w0),
            "list_ms": statistics.median(latencies) * 1000, "ready_s": ready_s,
        }
    finally:
        cp.unregister_apiservice("metrics.k8s.io", "v1beta1")
        proc.stop()


def summarize(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keys = ("cpu_s_per_cycle", "cpu_s_per_15s", "millicores_per_node", "peak_rss_mib",
            "rss_mib_per_node", "cycle_wall_s", "list_ms")
    table = []
    for nodes in sorted({r["nodes"] for r in results}):
        row: dict[str, Any] = {"nodes": nodes}
        for which in SERVERS:
            runs = [r for r in results if r["nodes"] == nodes and r["server"] == which]
            for k in keys:
                values = [r[k] for r in runs if r.get(k) is not None]
                row[f"{which}_{k}"] = statistics.median(values) if values else None
        for k in keys:
            o, u = row[f"ours_{k}"], row[f"upstream_{k}"]
            row[f"ratio_{k}"] = (o / u) if o is not None and u else None
        table.append(row)
    return table


COLUMNS = (("cpu_s_per_cycle", "CPU s/cycle", ".3f"), ("cpu_s_per_15s", "CPU s/15 s", ".3f"),
           ("millicores_per_node", "mCPU/node", ".4f"),
           ("peak_rss_mib", "peak RSS MiB", ".0f"), ("rss_mib_per_node", "MiB/node", ".3f"),
           ("cycle_wall_s", "cycle wall s", ".2f"), ("list_ms", "list PodMetrics ms", ".0f"))


def _fmt(v: float | None, fmt: str) -> str:
    return "-" if v is None else format(v, fmt)


def markdown(table: list[dict[str, Any]]) -> str:
    lines = ["| nodes | metric | ours | upstream v0.8.0 | ours / upstream |",
             "|---:|---|---:|---:|---:|"]
    for row in table:
        for key, title, fmt in COLUMNS:
            lines.append(f"| {row['nodes']:,} | {title} | {_fmt(row[f'ours_{key}'], fmt)} | "
                         f"{_fmt(row[f'upstream_{key}'], fmt)} | "
                         f"{_fmt(row[f'ratio_{key}'], '.2f')} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.metrics_pipeline", description=__doc__)
    p.add_argument("--nodes", default="100,1000", help="fleet sizes, comma-separated")
    p.add_argument("--servers", default=",".join(SERVERS))
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--cycles", type=int, default=3, help="measured scrape cycles per run")
    p.add_argument("--lists", type=int, default=5, help="PodMetrics lists per run")
    p.add_argument("--resolution", type=int, default=15, help="--metric-resolution, seconds")
    p.add_argument("--ours-resolution", type=int, default=None,
                   help="ours at this resolution instead (seconds), upstream at --resolution;"
                        " compare the CPU s/15 s row")
    p.add_argument("--out", type=Path, default=OUT / "metrics_pipeline.json")
    args = p.parse_args(argv)
    servers = [s for s in SERVERS if s in args.servers.split(",")]
    if "upstream" in servers:
        metrics_server_binary()  # build before anything is measured
    results: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    with ControlPlane() as cp, tempfile.TemporaryDirectory(prefix="aggapi-mbench-") as tmp:
        work = Path(tmp)
        client = Client(cp)
        for nodes in (int(n) for n in args.nodes.split(",")):
            fleet = start_fleet(cp, nodes, work)
            try:
                for n in range(args.rounds):
                    order = servers if n % 2 == 0 else servers[::-1]  # interleaved
                    for which in order:
                        r = run_one(cp, client, fleet, which, args, work)
                        r["round"] = n
                        results.append(r)
                        print(f"{nodes:>5} nodes round {n + 1} {which:<8} "
                              f"cpu {r['cpu_s_per_cycle']:.3f} s/cycle "
                              f"({r['cpu_s_per_15s']:.3f} s/15 s at {r['resolution_s']} s) "
                              f"({r['millicores_per_node']:.4f} m/node) "
                              f"rss {r['peak_rss_mib']:.0f} MiB "
                              f"tick {_fmt(r['cycle_wall_s'], '.2f')} s "
                              f"list {r['list_ms']:.0f} ms ({r['pods_listed']} pods)",
                              flush=True)
            finally:
                fleet.process.stop()
    table = summarize(results)
    print(markdown(table))
    conditions = {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                  "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
                  "rounds": args.rounds, "cycles": args.cycles, "resolution": args.resolution,
                  "ours_resolution": resolution_of("ours", args),
                  "pods_per_node": PODS_PER_NODE, "containers_per_pod": 2}
    print("conditions:", json.dumps(conditions))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"conditions": conditions, "results": results,
                                    "table": table}, indent=1))
    args.out.with_suffix(".md").write_text(markdown(table))
    args.out.with_suffix(".svg").write_text(svg(table))
    print(f"data: {args.out}\nplot: {args.out.with_suffix('.svg')}")


if __name__ == "__main__":
    main()
