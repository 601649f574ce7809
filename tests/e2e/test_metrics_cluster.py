"""`make cluster`: the whole loop, started as the Makefile starts it (its recipe from
`make -n cluster`), read with real kubectl (APIServices, custom metrics discovery, `kubectl
top`, the HPAs' current values), then SIGKILLed: every child dies with it. And its metrics
wiring alone: `python -m k8s_aggapi.envtest cluster` with a metrics server as
v1beta1.metrics.k8s.io and `--demo-workload` gives `kubectl top` data, for ours (the
Makefile's command) and for upstream metrics-server v0.8.0 with the same flags.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from metrics_support import millicores, top_rows, wait_until

from k8s_aggapi.envtest import alive, descendants, spawn
from k8s_aggapi.envtest.controlplane import NO_PROXY
from k8s_aggapi.envtest.demo import DEMO_DEPLOYMENTS

pytestmark = pytest.mark.e2e

REPO = Path(__file__).parents[2]


def makefile_metrics_flags() -> list[str]:
    """The flags `make cluster` gives the metrics server (METRICS_SERVER_CMD)."""
    text = (REPO / "Makefile").read_text().replace("\\\n", " ")
    match = re.search(r"^METRICS_SERVER_CMD := (.*)$", text, re.M)
    assert match, "no METRICS_SERVER_CMD in the Makefile"
    argv = match.group(1).split()
    assert argv[:3] == ["$(BIN)/python", "-m", "examples.metrics_server"], argv
    return argv[3:]


@pytest.mark.parametrize("which", ["ours", "upstream"])
def test_cluster_with_the_metrics_server_shows_kubectl_top_of_the_demo_pods(
        which: str, tmp_path: Path, envtest_binaries: dict[str, Path]) -> None:
    if which == "upstream":
        from bench.gobuild import metrics_server_binary

        program = str(metrics_server_binary())
    else:
        program = f"{sys.executable} -m examples.metrics_server"
    command = " ".join([program, *makefile_metrics_flags()])
    state = tmp_path / "cluster"
    log = tmp_path / "cluster.log"
    with open(log, "wb") as out:
        proc = spawn([sys.executable, "-m", "k8s_aggapi.envtest", "cluster",
                      f"--state-dir={state}", f"--server=metrics.k8s.io/v1beta1={command}",
                      "--demo-workload"], cwd=REPO, stdout=out, stderr=subprocess.STDOUT,
                     stdin=subprocess.DEVNULL)
    try:
        wait_until("the cluster ready", lambda: (state / "ready").exists() or proc.poll(),
                   timeout=240)
        assert proc.poll() is None, log.read_text()[-3000:]
        env = {**os.environ, "NO_PROXY": NO_PROXY, "no_proxy": NO_PROXY}
        kubectl = [str(envtest_binaries["kubectl"]), f"--kubeconfig={state / 'kubeconfig'}"]
        expected = sum(replicas for replicas, *_ in DEMO_DEPLOYMENTS.values())

        def top() -> list[list[str]]:
            res = subprocess.run([*kubectl, "top", "pod", "-n", "demo", "--no-headers"],
                                 capture_output=True, text=True, env=env, timeout=30)
            rows = top_rows(res.stdout) if res.returncode == 0 else []
            return rows if len(rows) == expected else []

        rows = wait_until("kubectl top pod -n demo", top, timeout=180, interval=3)
        by_app = {r[0].rsplit("-", 2)[0]: millicores(r[1]) for r in rows}
        # worker: 2 containers x 600m; web: 250m; idle: 5m (a rate: a few percent off)
        assert by_app["worker"] > by_app["web"] > by_app["idle"], rows

        def top_node() -> str:
            # a node's first point can come a cycle after its pods' (kwok's node CPU starts at
            # 0, and a node with 0 CPU is left out, as upstream): polled, not read once
            res = subprocess.run([*kubectl, "top", "node", "--no-headers"],
                                 capture_output=True, text=True, env=env, timeout=30)
            return res.stdout if res.returncode == 0 and "kwok-node-0" in res.stdout else ""

        wait_until("kubectl top node", top_node, timeout=90, interval=3)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


# ---- the whole loop, as `make cluster` runs it ----

OUR_APISERVICES = {"v1alpha1.wardle.example.com", "v1beta1.wardle.example.com",
                   "v1beta1.metrics.k8s.io", "v1beta2.custom.metrics.k8s.io",
                   "v1beta1.custom.metrics.k8s.io", "v1beta1.external.metrics.k8s.io"}
# /proc/PID/comm of what must die with the cluster command
CHILDREN = {"etcd", "kube-apiserver", "kube-controller", "kube-scheduler", "kwok", "prometheus"}


def make_cluster_argv(state: Path) -> list[str]:
    """`make cluster`'s command line, as make expands it, with this interpreter's bin/ and
    `state` as the state directory, relative to the repository as the Makefile's is."""
    out = subprocess.run(["make", "-s", "-n", "cluster", f"BIN={Path(sys.executable).parent}"],
                         cwd=REPO, capture_output=True, text=True, check=True, timeout=60).stdout
    [line] = [ln for ln in out.replace("\\\n", " ").splitlines() if ln.startswith("exec ")]
    argv = shlex.split(line)[1:]
    argv[argv.index("--state-dir") + 1] = os.path.relpath(state, REPO)
    return argv


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def read_ready_line(log: Path, proc: subprocess.Popen[bytes]) -> dict[str, Any]:
    def ready() -> dict[str, Any] | None:
        for line in log.read_text(errors="replace").splitlines():
            if line.startswith("ready: "):
                found: dict[str, Any] = json.loads(line.removeprefix("ready: "))
                return found
        return {"exited": proc.returncode} if proc.poll() is not None else None

    found: dict[str, Any] = wait_until("the ready line", ready, timeout=600, interval=1)
    assert "exited" not in found, log.read_text()[-4000:]
    return found


def test_make_cluster_runs_the_whole_loop_and_dies_with_its_parent(
        tmp_path: Path, envtest_binaries: dict[str, Path], prometheus_binary: Path) -> None:
    state, log = tmp_path / "cluster", tmp_path / "cluster.log"
    with open(log, "wb") as out:  # a plain child: under a leash, its leash would clean up
        proc = subprocess.Popen(make_cluster_argv(state), cwd=REPO, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    seen = {proc.pid}
    try:
        ready = read_ready_line(log, proc)
        assert json.loads((state / "ready").read_text()) == ready
        assert set(ready["apiservices"]) == OUR_APISERVICES
        env = {**os.environ, "NO_PROXY": NO_PROXY, "no_proxy": NO_PROXY}
        kubectl_argv = [str(envtest_binaries["kubectl"]), f"--kubeconfig={ready['kubeconfig']}"]

        def kubectl(*args: str) -> subprocess.CompletedProcess[str]:
            return subprocess.run([*kubectl_argv, *args], capture_output=True, text=True,
                                  env=env, timeout=30, check=False)

        def kubectl_json(*args: str) -> Any:
            res = kubectl(*args)
            return json.loads(res.stdout) if res.returncode == 0 else None

        # every APIService Available, ours among them
        services = kubectl_json("get", "apiservices", "-o", "json")["items"]
        available = {s["metadata"]["name"] for s in services if any(
            c["type"] == "Available" and c["status"] == "True"
            for c in s["status"].get("conditions", []))}
        assert available == {s["metadata"]["name"] for s in services}
        assert available >= OUR_APISERVICES
        table = kubectl("get", "apiservices").stdout
        for name in OUR_APISERVICES:
            assert re.search(rf"^{re.escape(name)}\s+\S+\s+True\s", table, re.M), table

        # discovery lists the adapter's metrics, in both custom versions and the external one
        def listed(path: str, metric: str) -> list[str]:
            doc = kubectl_json("get", "--raw", path) or {"resources": []}
            names = [r["name"] for r in doc["resources"]]
            return names if metric in names else []

        for version in ("v1beta2", "v1beta1"):
            wait_until(f"custom.metrics.k8s.io/{version} lists the RED metric",
                       lambda v=version: listed(f"/apis/custom.metrics.k8s.io/{v}",
                                                "pods/http_requests_per_second"),
                       timeout=120, interval=2)
        wait_until("external.metrics.k8s.io lists the queue depth",
                   lambda: listed("/apis/external.metrics.k8s.io/v1beta1", "queue_depth"),
                   timeout=120, interval=2)
        group = kubectl_json("get", "--raw", "/apis/custom.metrics.k8s.io")
        assert group["preferredVersion"]["version"] == "v1beta2"

        # OpenAPI through the aggregator: kube-apiserver serves the adapter's documents
        def openapi_v3() -> Any:
            root = kubectl_json("get", "--raw", "/openapi/v3") or {"paths": {}}
            entry = root["paths"].get("apis/custom.metrics.k8s.io/v1beta2", {})
            url = entry.get("serverRelativeURL")
            return kubectl_json("get", "--raw", url) if url else None

        doc = wait_until("custom.metrics.k8s.io/v1beta2 in /openapi/v3", openapi_v3,
                         timeout=120, interval=2)
        operations = {item["get"]["operationId"] for item in doc["paths"].values()
                      if "get" in item}
        assert "listCustomMetricsV1beta2NamespacedMetricValue" in operations, operations
        v2 = kubectl_json("get", "--raw", "/openapi/v2")
        assert "/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/{resource}" in (
            v2["paths"])

        # kubectl top: the metrics server on the kwok pods of namespace demo
        def top() -> list[list[str]]:  # the HPA demo's pods come last: wait for them too
            res = kubectl("top", "pod", "-n", "demo", "--no-headers")
            rows = top_rows(res.stdout) if res.returncode == 0 else []
            apps = {r[0].rsplit("-", 2)[0] for r in rows}
            return rows if apps >= {"web", "worker", "frontend", "consumer"} else []

        wait_until("kubectl top pod -n demo", top, timeout=180, interval=3)

        # the HPAs read current values through the aggregator: a Pods and an External metric
        def current() -> dict[str, str]:
            hpas = kubectl_json("get", "hpa", "-n", "demo", "-o", "json") or {"items": []}
            values = {}
            for h in hpas["items"]:
                for m in h.get("status", {}).get("currentMetrics") or []:
                    value = m.get(m["type"].lower(), {}).get("current", {}).get("averageValue")
                    if value:
                        values[f"{h['metadata']['name']}/{m['type']}"] = value
            return values if len(values) == 2 else {}

        values = wait_until("both HPAs have current metric values", current, timeout=300,
                            interval=3)
        assert set(values) == {"frontend/Pods", "consumer/External"}, values

        # Prometheus scrapes kube-apiserver and every server of ours, and has their USE data
        def query(promql: str) -> dict[str, str]:
            params = urllib.parse.urlencode({"query": promql})
            with urllib.request.urlopen(f"{ready['prometheus']}/api/v1/query?{params}",
                                        timeout=10) as r:
                result = json.loads(r.read())["data"]["result"]
            return {s["metric"]["job"]: s["value"][1] for s in result}

        def up() -> dict[str, str]:
            jobs = query("up")
            return jobs if set(jobs.values()) == {"1"} and len(jobs) >= 6 else {}

        ours = {"wardle.example.com", "metrics.k8s.io", "custom.metrics.k8s.io"}
        jobs = wait_until("every scrape target up", up, timeout=120, interval=2)
        assert set(jobs) >= {"kube-apiserver", "exporter", *ours}, jobs
        fds = wait_until("USE: each server's fd saturation recorded",
                         lambda: (found := query("job:process_open_fds:ratio")).keys() >= ours
                         and found, timeout=120, interval=2)
        assert all(0 < float(fds[job]) < 1 for job in ours), fds
        dashboard = json.loads((REPO / "monitoring" / "grafana-dashboard.json").read_text())
        for panel in dashboard["panels"]:  # every panel has data for the adapter
            for target in panel["targets"]:
                expr = target["expr"].replace("$job", "custom.metrics.k8s.io")
                wait_until(f"{panel['title']}: {expr}", lambda e=expr: query(e), timeout=180,
                           interval=3)

        # SIGKILL: nothing is left behind
        tree = descendants(proc.pid)
        seen |= tree
        assert {comm(p) for p in tree} >= CHILDREN
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
        deadline = time.monotonic() + 20
        while (left := [p for p in tree if alive(p)]) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert [f"{p} {comm(p)}" for p in left] == []
    finally:
        seen |= descendants(proc.pid)
        for pid in seen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait(10)
