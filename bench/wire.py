"""`python -m bench.wire`: requests over real TLS from a separate load generator (bench/loadgen).

Servers on core 0, the load generator on core 1 (taskset), HTTP/1.1 keep-alive, a client
certificate on every connection. Targets: the bare Starlette+uvicorn ceiling, our sample with
x509 and through the front proxy (SubjectAccessReview to envtest's kube-apiserver, cached),
and Go's sample-apiserver v0.34.4 (objects in envtest's etcd). GET, LIST of 100, CREATE, in
interleaved rounds; CPU seconds of the server process from /proc. Prints a table, writes
bench/out/wire.json and bench/out/wire.svg. Bounded: rounds x cells x seconds.

`--instructions` runs each Python server under valgrind's callgrind instead and reports the
server's instructions per request at the margin (`callgrind_control` zeroes and dumps the
counters around a short and a long load run after a warm one; their difference over the
difference of their requests leaves out each run's TLS handshakes): a CPU measure that a
loaded machine does not disturb. The servers
are ~50x slower there, so requests/s and latencies of such a run mean nothing; the
SubjectAccessReview cache TTL is raised to an hour, so that kube-apiserver's answer is
fetched once, as at full speed, and not once per few hundred requests.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import ssl
import statistics
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.gobuild import loadgen_binary, sample_apiserver_binary
from bench.procs import cpu_seconds, memory_bytes, proc_stats, tree
from bench.wireplot import svg
from k8s_aggapi.envtest import ControlPlane
from k8s_aggapi.envtest.processes import ManagedProcess, free_port, wait_for

OUT = Path(__file__).parent / "out"
WARDLE = "/apis/wardle.example.com/v1alpha1"
PROXY_USER = "bench-user"
OPS = {
    "get": ("GET", f"{WARDLE}/namespaces/bench/flunders/f0"),
    "list": ("GET", f"{WARDLE}/namespaces/bench-list/flunders"),
    "create": ("POST", f"{WARDLE}/namespaces/bench-create/flunders"),
    "list10k": ("GET", f"{WARDLE}/namespaces/bench-list10k/flunders"),
    "list10k-rv0": ("GET", f"{WARDLE}/namespaces/bench-list10k/flunders?resourceVersion=0"),
    "watch": ("WATCH", f"{WARDLE}/namespaces/bench-watch/flunders"),  # see measure_watch
}
DEFAULT_OPS = ("get", "list", "create")
NAMESPACES = ("bench", "bench-list", "bench-create", "bench-list10k", "bench-watch")
FLUNDER = ('{"apiVersion":"wardle.example.com/v1alpha1","kind":"Flunder","metadata":'
           '{"name":"%s","labels":{"app":"bench"}},"spec":{"reference":"other"}}')
RBAC = [
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
     "metadata": {"name": "bench-flunders"},
     "rules": [{"apiGroups": ["wardle.example.com"], "resources": ["flunders"],
                "verbs": ["get", "list", "watch", "create"]}]},
    {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
     "metadata": {"name": "bench-flunders"},
     "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole",
                 "name": "bench-flunders"},
     "subjects": [{"apiGroup": "rbac.authorization.k8s.io", "kind": "User",
                   "name": PROXY_USER}]},
]


@dataclass(frozen=True)
class Row:
    """One line of the table: a server and how the load generator authenticates to it."""

    name: str
    server: str  # ceiling | ours | base | etcd (ours with --storage=etcd) | base-etcd | go
    auth: str  # x509 | proxy


ROWS = (
    Row("ceiling", "ceiling", "x509"),
    Row("base-x509", "base", "x509"),
    Row("base-proxy", "base", "proxy"),
    Row("ours-x509", "ours", "x509"),
    Row("ours-proxy", "ours", "proxy"),
    Row("etcd-x509", "etcd", "x509"),
    Row("etcd-proxy", "etcd", "proxy"),
    Row("base-etcd-proxy", "base-etcd", "proxy"),
    Row("go-proxy", "go", "proxy"),
    Row("go-x509", "go", "x509"),
)


@dataclass
class Server:
    process: ManagedProcess
    port: int
    callgrind_out: Path | None = None  # the dump files' prefix, when under callgrind

    def descendants(self) -> list[int]:
        assert self.process.pid is not None
        return sorted(tree(self.process.pid, proc_stats()))

    def callgrind_pid(self) -> int:
        for pid in self.descendants():
            try:
                argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            except OSError:
                continue
            # valgrind itself (not the leash whose command line names it)
            if Path(argv[0].decode()).name.startswith("valgrind") and b"--tool=callgrind" in argv:
                return pid
        raise RuntimeError(f"no callgrind process under {self.process.pid}")

    def instructions(self, pid: int) -> int:
        """Dump the counters since the last zeroing; the instructions counted."""
        assert self.callgrind_out is not None
        before = set(self.callgrind_out.parent.glob(f"{self.callgrind_out.name}.{pid}.*"))
        subprocess.run(["callgrind_control", "-d", str(pid)], check=True,
                       capture_output=True, timeout=300)
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline:
            for dump in set(self.callgrind_out.parent.glob(
                    f"{self.callgrind_out.name}.{pid}.*")) - before:
                match = re.search(r"^summary: (\d+)$", dump.read_text(errors="replace"), re.M)
                if match:
                    return int(match.group(1))
            time.sleep(0.5)
        raise RuntimeError("callgrind wrote no dump")

    def cpu_seconds(self) -> float:
        """utime + stime of the process and its descendants (envtest runs each command
        under a leash process, so the server is a child of the pid we started)."""
        assert self.process.pid is not None
        return cpu_seconds(self.process.pid)


@dataclass
class Bench:
    cp: ControlPlane
    loadgen: Path
    seconds: float
    connections: int
    baseline: Path | None = None
    instructions: bool = False
    servers: dict[str, Server] = field(default_factory=dict)
    ops: tuple[str, ...] = DEFAULT_OPS
    watchers: int = 1000
    watch_events: int = 100

    def client(self, auth: str) -> tuple[Path, Path]:
        name = "admin" if auth == "x509" else "front-proxy-client"
        return self.cp.pki.crt(name), self.cp.pki.key(name)

    def ssl_context(self) -> ssl.SSLContext:
        ctx = ssl.create_default_context(cafile=str(self.cp.pki.crt("ca")))
        ctx.load_cert_chain(*self.client("x509"))
        return ctx

    def start(self, kind: str, cert: Path, key: Path) -> None:
        port, pki, run = free_port(), self.cp.pki, self.cp.run_dir
        kubeconfig = str(self.cp.admin_kubeconfig)
        delegated = [f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
                     f"--authorization-kubeconfig={kubeconfig}"]
        serving = [f"--secure-port={port}", "--bind-address=127.0.0.1",
                   f"--tls-cert-file={cert}", f"--tls-private-key-file={key}"]
        if kind == "ceiling":
            client_ca = run / "bench-client-ca.crt"
            client_ca.write_bytes(pki.crt("ca").read_bytes() + pki.crt("front-proxy-ca")
                                  .read_bytes())
            argv = [sys.executable, "-m", "bench.ceiling", f"--port={port}", f"--cert={cert}",
                    f"--key={key}", f"--client-ca={client_ca}"]
            ready = OPS["get"][1]
        elif kind in ("ours", "base"):
            argv = [sys.executable, "-m", "examples.sample_apiserver", *serving, *delegated]
            ready = "/readyz"
        elif kind in ("etcd", "base-etcd"):  # ours on the same etcd as Go's, own prefix
            argv = [sys.executable, "-m", "examples.sample_apiserver", *serving, *delegated,
                    "--storage=etcd", f"--etcd-servers=http://127.0.0.1:{self.cp.ports.etcd}",
                    f"--etcd-prefix=/bench-{'ours' if kind == 'etcd' else 'base'}"]
            ready = "/readyz"
        else:
            argv = [str(sample_apiserver_binary()), *serving, *delegated,
                    f"--etcd-servers=http://127.0.0.1:{self.cp.ports.etcd}",
                    "--etcd-prefix=/bench-go",
                    f"--requestheader-client-ca-file={pki.crt('front-proxy-ca')}",
                    "--requestheader-allowed-names=front-proxy-client",
                    "--requestheader-username-headers=X-Remote-User",
                    "--requestheader-group-headers=X-Remote-Group",
                    "--requestheader-extra-headers-prefix=X-Remote-Extra-"]
            ready = "/readyz"
        env = {**os.environ, "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1",
               "GOMAXPROCS": "1"}
        callgrind_out = None
        if self.instructions and kind != "go":
            callgrind_out = run / f"callgrind-{kind}"
            if kind != "ceiling":
                argv.append("--authorization-webhook-cache-authorized-ttl=1h")
            argv = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={callgrind_out}.%p",
                    *argv]
        tree = Path(__file__).parent.parent
        if kind in ("base", "base-etcd"):  # the same sample from another tree (before/after)
            assert self.baseline is not None
            tree = self.baseline
            env["PYTHONPATH"] = str(tree)
        proc = ManagedProcess(f"bench-{kind}", ["taskset", "-c", "0", *argv],
                              run / "logs" / f"bench-{kind}.log", env=env, cwd=tree)
        proc.start()
        server = Server(proc, port, callgrind_out)
        self.servers[kind] = server
        ctx = self.ssl_context()
        wait_for(f"{kind} {ready}", lambda: _request(ctx, port, "GET", ready)[0] == 200, proc,
                 timeout=900 if callgrind_out else 120)
        if kind != "ceiling":
            self.seed(server, ctx)

    def seed(self, server: Server, ctx: ssl.SSLContext) -> None:
        """f0 in bench, f0..f99 in bench-list, and f0..f9999 in bench-list10k when a list10k
        op runs (creates go to bench-create)."""
        seeds = [("bench", 1), ("bench-list", 100)]
        if any(op.startswith("list10k") for op in self.ops):
            seeds.append(("bench-list10k", 10_000))

        def one(namespace: str, i: int) -> None:
            body = (FLUNDER % f"f{i}").encode()
            status, text = _request(ctx, server.port, "POST",
                                    f"{WARDLE}/namespaces/{namespace}/flunders", body)
            if status not in (201, 409):
                raise RuntimeError(f"seeding {namespace}/f{i}: {status} {text[:300]!r}")

        with ThreadPoolExecutor(8) as pool:
            for namespace, count in seeds:
                list(pool.map(lambda i, ns=namespace: one(ns, i), range(count)))

    def pids(self, server: Server) -> list[int]:
        """The server's process and its descendants (the leash and the taskset'd server)."""
        assert server.process.pid is not None
        parents: dict[int, int] = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                with contextlib.suppress(OSError):
                    stat = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
                    parents[int(entry)] = int(stat[1])
        tree = {server.process.pid}
        for _ in range(8):
            tree |= {pid for pid, ppid in parents.items() if ppid in tree}
        return sorted(tree)

    def measure_watch(self, row: Row, tag: str) -> dict[str, Any]:
        """`watchers` watch streams from one list's resourceVersion, then `watch_events`
        creates 20 ms apart; delivery = receive time - the create's send time; the server's
        CPU from the first create to the last delivery, per delivered event."""
        server = self.servers[row.server]
        cert, key = self.client(row.auth)
        argv = ["taskset", "-c", "1", str(self.loadgen), "-mode=watch",
                f"-url=https://127.0.0.1:{server.port}{OPS['watch'][1]}",
                f"-cert={cert}", f"-key={key}", f"-cacert={self.cp.pki.crt('ca')}",
                f"-watchers={self.watchers}", f"-events={self.watch_events}",
                "-body=" + FLUNDER % "{{n}}", f"-tag={tag}",
                "-cpu-pids=" + ",".join(map(str, self.pids(server)))]
        if row.auth == "proxy":
            argv += [f"-H=X-Remote-User: {PROXY_USER}", "-H=X-Remote-Group: bench-group",
                     "-H=X-Remote-Extra-Scopes: bench"]
        out = subprocess.run(argv, capture_output=True, text=True, timeout=300,
                             env={**os.environ, "GOMAXPROCS": "1"}, check=True)
        result: dict[str, Any] = json.loads(out.stdout)
        result["cpu_s"] = result["server_cpu_s"]
        result["cpu_per_10k"] = result["cpu_s"] / max(result["delivered"], 1) * 10_000
        result["errors"] = {**result["errors"], **(
            {"undelivered": result["expected"] - result["delivered"]}
            if result["delivered"] < result["expected"] else {})}
        return result

    def measure(self, row: Row, op: str, tag: str) -> dict[str, Any]:
        """One cell; with the server's resident set after it and its peak so far (MiB)."""
        result = self.measure_watch(row, tag) if op == "watch" else self.measure_requests(
            row, op, tag)
        pid = self.servers[row.server].process.pid
        assert pid is not None
        result["rss_mib"] = memory_bytes(pid, "VmRSS") / 2**20
        result["peak_rss_mib"] = memory_bytes(pid, "VmHWM") / 2**20
        return result

    def measure_requests(self, row: Row, op: str, tag: str) -> dict[str, Any]:
        server = self.servers[row.server]
        method, path = OPS[op]
        cert, key = self.client(row.auth)
        argv = ["taskset", "-c", "1", str(self.loadgen), f"-url=https://127.0.0.1:{server.port}"
                f"{path}", f"-method={method}", f"-cert={cert}", f"-key={key}",
                f"-cacert={self.cp.pki.crt('ca')}", f"-c={self.connections}",
                f"-d={self.seconds}s", "-warmup=1s"]
        if method == "POST":
            argv.append("-body=" + FLUNDER % f"{tag}-{{{{n}}}}")
        if row.auth == "proxy":
            argv += [f"-H=X-Remote-User: {PROXY_USER}", "-H=X-Remote-Group: bench-group",
                     "-H=X-Remote-Extra-Scopes: bench"]
        env = {**os.environ, "GOMAXPROCS": "1"}
        if server.callgrind_out is not None:
            return self.measure_instructions(server, argv, env)
        before = server.cpu_seconds()
        out = subprocess.run(argv, capture_output=True, text=True, timeout=self.seconds + 60,
                             env=env, check=True)
        cpu = server.cpu_seconds() - before
        result: dict[str, Any] = json.loads(out.stdout)
        result["cpu_s"] = cpu
        result["cpu_per_10k"] = cpu / max(result["total_requests"], 1) * 10_000
        return result

    def measure_instructions(self, server: Server, argv: list[str], env: dict[str, str]
                             ) -> dict[str, Any]:
        """Instructions per request at the margin: a warm run (first requests, the
        SubjectAccessReview), then a short and a long run, each counted from zero; the
        difference of the two over the difference of their requests leaves out what every
        run pays once (the connections' TLS handshakes)."""
        pid = server.callgrind_pid()
        runs = []
        for seconds in (2.0, self.seconds / 4, self.seconds):
            subprocess.run(["callgrind_control", "-z", str(pid)], check=True,
                           capture_output=True, timeout=300)
            timed = [a for a in argv if not a.startswith(("-d=", "-warmup="))]
            out = subprocess.run([*timed, f"-d={seconds}s", "-warmup=0s"], capture_output=True,
                                 text=True, timeout=seconds + 120, env=env, check=True)
            result: dict[str, Any] = json.loads(out.stdout)
            runs.append((server.instructions(pid), result))
        (short, first), (long, result) = runs[1], runs[2]
        result["instructions"] = (long - short) / max(
            result["total_requests"] - first["total_requests"], 1)
        result["instructions_total"] = [long, short]
        result["cpu_s"] = result["cpu_per_10k"] = 0.0
        return result


def _request(ctx: ssl.SSLContext, port: int, method: str, path: str,
             body: bytes | None = None) -> tuple[int, bytes]:
    req = urllib.request.Request(f"https://127.0.0.1:{port}{path}", data=body, method=method,
                                 headers={"Content-Type": "application/json"})
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=ctx))
    try:
        with opener.open(req, timeout=10) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def summarize(results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Median over rounds per (row, op); ratios to the ceiling and to Go (front proxy)."""
    cells: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in results:
        cells.setdefault((r["row"], r["op"]), []).append(r)
    table = []
    for (row, op), runs in cells.items():
        med = {k: statistics.median(r[k] for r in runs)
               for k in ("rps", "p50_ms", "p99_ms", "cpu_per_10k", "rss_mib")}
        med["peak_rss_mib"] = max(r["peak_rss_mib"] for r in runs)
        if all("instructions" in r for r in runs):
            med["instructions"] = statistics.median(r["instructions"] for r in runs)
        errors = sum(sum(r["errors"].values()) for r in runs)
        table.append({"row": row, "op": op, **med, "errors": errors,
                      "rps_min": min(r["rps"] for r in runs),
                      "rps_max": max(r["rps"] for r in runs)})
    for line in table:
        for ref, key in (("ceiling", "vs_ceiling"), ("go-proxy", "vs_go")):
            base = next((t for t in table if t["row"] == ref and t["op"] == line["op"]), None)
            line[key] = line["rps"] / base["rps"] if base and base["rps"] else None
        ceiling = next((t for t in table if t["row"] == "ceiling" and t["op"] == line["op"]),
                       None)
        if ceiling and "instructions" in ceiling and "instructions" in line:
            # the share of the ceiling's requests/s a core could serve at these costs
            line["vs_ceiling_instructions"] = ceiling["instructions"] / line["instructions"]
    order = [r.name for r in ROWS]
    return sorted(table, key=lambda t: (list(OPS).index(t["op"]), order.index(t["row"])))


def print_table(table: list[dict[str, Any]]) -> None:
    head = (f"{'op':<7} {'target':<11} {'req/s':>8} {'range':>13} {'p50 ms':>7} {'p99 ms':>7} "
            f"{'CPU s/10k':>9} {'RSS MiB':>7} {'/ceiling':>8} {'/go':>6} {'errors':>6}")
    print(head)
    if any("instructions" in t for t in table):
        print("(under callgrind: requests/s and latencies are ~50x slower, read the "
              "instruction columns)")
    for t in table:
        def pct(v: float | None) -> str:
            return f"{v:.0%}" if v is not None else "-"
        span = f"{t['rps_min']:,.0f}-{t['rps_max']:,.0f}"
        print(f"{t['op']:<7} {t['row']:<11} {t['rps']:>8,.0f} {span:>13} {t['p50_ms']:>7.2f} "
              f"{t['p99_ms']:>7.2f} {t['cpu_per_10k']:>9.2f} {t['rss_mib']:>7.0f} "
              f"{pct(t['vs_ceiling']):>8} "
              f"{pct(t['vs_go']):>6} {t['errors']:>6}" + (
                  f"  {t['instructions']:>10,.0f} instr/req "
                  f"{pct(t.get('vs_ceiling_instructions')):>5} of the ceiling's"
                  if "instructions" in t else ""))


def markdown(table: list[dict[str, Any]]) -> str:
    """The table as docs/benchmarks.md shows it."""
    def pct(v: float | None) -> str:
        return f"{v:.0%}" if v is not None else "-"
    lines = ["| op | target | req/s | p50 ms | p99 ms | CPU s / 10k req | RSS MiB | peak RSS MiB "
             "| vs ceiling | vs Go |",
             "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
    lines += [f"| {t['op'].upper()} | {t['row']} | {t['rps']:,.0f} | {t['p50_ms']:.2f} | "
              f"{t['p99_ms']:.2f} | {t['cpu_per_10k']:.2f} | {t['rss_mib']:.0f} | "
              f"{t['peak_rss_mib']:.0f} | {pct(t['vs_ceiling'])} | {pct(t['vs_go'])} |"
              for t in table]
    if any("instructions" in t for t in table):
        lines = ["| op | target | instructions / request | ceiling's / ours |",
                 "| --- | --- | ---: | ---: |"]
        lines += [f"| {t['op'].upper()} | {t['row']} | {t['instructions']:,.0f} | "
                  f"{pct(t.get('vs_ceiling_instructions'))} |"
                  for t in table if "instructions" in t]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.wire", description=__doc__)
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--seconds", type=float, default=8.0)
    p.add_argument("--connections", type=int, default=8)
    p.add_argument("--rows", default=",".join(r.name for r in ROWS
                                              if not r.server.startswith("base")))
    p.add_argument("--baseline-tree", type=Path, default=None,
                   help="a source tree (e.g. `git archive main`) whose sample runs as base-*")
    p.add_argument("--ops", default=",".join(DEFAULT_OPS), help=f"of {', '.join(OPS)}")
    p.add_argument("--watchers", type=int, default=1000, help="watch: streams")
    p.add_argument("--watch-events", type=int, default=100, help="watch: creates")
    p.add_argument("--instructions", action="store_true",
                   help="servers under valgrind's callgrind: instructions per request")
    p.add_argument("--out", type=Path, default=OUT / "wire.json")
    p.add_argument("--svg", type=Path, default=OUT / "wire.svg")
    args = p.parse_args(argv)
    if args.instructions and args.out == OUT / "wire.json":
        args.out = OUT / "wire-instructions.json"
    names = args.rows.split(",")
    if args.baseline_tree is not None and not any(n.startswith("base-") for n in names):
        names += ["base-x509", "base-proxy"]
    rows = [r for r in ROWS if r.name in names]
    ops = [o for o in OPS if o in args.ops.split(",")]
    if os.cpu_count() != 2:
        print(f"note: {os.cpu_count()} CPUs; servers use core 0, the load generator core 1")
    loadgen = loadgen_binary()
    results: list[dict[str, Any]] = []
    load_before = os.getloadavg()
    with ControlPlane() as cp:
        for namespace in NAMESPACES:
            cp.kubectl("create", "namespace", namespace)
        for manifest in RBAC:
            cp.apply(manifest)
        bench = Bench(cp, loadgen, args.seconds, args.connections, args.baseline_tree,
                      args.instructions, ops=tuple(ops), watchers=args.watchers,
                      watch_events=args.watch_events)
        cert, key = cp.pki.serving_cert_for("api", "bench")
        for kind in dict.fromkeys(r.server for r in rows):
            bench.start(kind, cert, key)
        for n in range(args.rounds):
            for op in ops:
                for row in rows:
                    result = bench.measure(row, op, f"r{n}-{row.name}-{int(time.time())}")
                    result.update(row=row.name, op=op, round=n)
                    results.append(result)
                    instructions = (f" {result['instructions']:,.0f} instr/req"
                                    if "instructions" in result else "")
                    print(f"round {n + 1}/{args.rounds} {op:<6} {row.name:<11} "
                          f"{result['rps']:>8,.0f} req/s p99 {result['p99_ms']:.2f} ms "
                          f"cpu {result['cpu_per_10k']:.2f} s/10k errors {result['errors']}"
                          f"{instructions}", flush=True)
    table = summarize(results)
    print_table(table)
    conditions = {"cpus": os.cpu_count(), "python": sys.version.split()[0],
                  "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
                  "rounds": args.rounds, "seconds": args.seconds,
                  "connections": args.connections, "instructions": args.instructions}
    print("conditions:", json.dumps(conditions))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps({"conditions": conditions, "results": results,
                                    "table": table}, indent=1))
    args.out.with_suffix(".md").write_text(markdown(table))
    print(f"data: {args.out} (table: {args.out.with_suffix('.md')})")
    if not args.instructions:  # requests/s and CPU under callgrind would plot nothing useful
        args.svg.parent.mkdir(parents=True, exist_ok=True)
        args.svg.write_text(svg([t for t in table if t["op"] != "watch"]))  # events/s apart
        print(f"plot: {args.svg}")


if __name__ == "__main__":
    main()
