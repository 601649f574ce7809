"""`make cluster`'s metrics wiring: `python -m k8s_aggapi.envtest cluster` with a metrics server
as v1beta1.metrics.k8s.io and `--demo-workload` gives `kubectl top` data, for ours (the
Makefile's command) and for upstream metrics-server v0.8.0 with the same flags.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from metrics_support import millicores, top_rows, wait_until

from k8s_aggapi.envtest import spawn
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
        nodes = subprocess.run([*kubectl, "top", "node", "--no-headers"], capture_output=True,
                               text=True, env=env, timeout=30)
        assert nodes.returncode == 0 and "kwok-node-0" in nodes.stdout, nodes
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
