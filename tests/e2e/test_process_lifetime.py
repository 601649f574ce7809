"""A real control plane dies with the process that started it, however that process ends.

The parents are plain `subprocess.Popen` children on purpose (under a leash, their own leash
would clean up and hide the result); each parent is SIGKILLed with its whole tree in `finally`.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from k8s_aggapi.envtest import alive, descendants

pytestmark = [pytest.mark.e2e,
              pytest.mark.skipif(sys.platform != "linux", reason="leashes are Linux-only")]

REPO = Path(__file__).parents[2]
# as /proc/PID/comm has them (15 characters at most)
CONTROL_PLANE = {"etcd", "kube-apiserver", "kube-controller", "kube-scheduler", "kwok"}
# the sample server, started by a shell that leaves a `sleep` behind as the server's child
SAMPLE = f'sh -c "sleep 300 & exec {sys.executable} -m examples.sample_apiserver \\"$@\\"" sh'
PARENT = """
import sys, time
from pathlib import Path
from k8s_aggapi.envtest import ControlPlane, start_aggregated_server
run_dir = Path(sys.argv[1])
cp = ControlPlane(run_dir / "run").start()
start_aggregated_server(sys.argv[2], "wardle.example.com/v1alpha1", control_plane=cp)
(run_dir / "ready").touch()
time.sleep(120)
"""


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def wait_until(what: str, check: Callable[[], bool], proc: subprocess.Popen[bytes],
               log: Path, timeout: float = 180.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert proc.poll() is None, f"exited with {proc.returncode}:\n{log.read_text()[-3000:]}"
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}\n{log.read_text()}"
        time.sleep(0.2)


def survivors(pids: set[int], timeout: float = 15.0) -> list[str]:
    deadline = time.monotonic() + timeout
    while (left := [p for p in pids if alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.1)
    return [f"{p} {comm(p)}" for p in left]


@contextlib.contextmanager
def parent(argv: list[str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as out:
        proc = subprocess.Popen(argv, cwd=REPO, stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)
    seen = {proc.pid}
    try:
        yield proc
    finally:
        seen |= descendants(proc.pid)
        for pid in seen:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        proc.wait(10)


def the_tree(proc: subprocess.Popen[bytes]) -> set[int]:
    tree = descendants(proc.pid)
    names = {comm(p) for p in tree}
    assert names >= CONTROL_PLANE and "sleep" in names, names
    return tree


def cluster(state: Path) -> list[str]:
    return [sys.executable, "-m", "k8s_aggapi.envtest", "cluster", f"--state-dir={state}",
            f"--server=wardle.example.com/v1alpha1={SAMPLE}"]


def test_sigkilled_parent_takes_control_plane_and_servers_with_it(
        envtest_binaries: dict[str, Path], tmp_path: Path) -> None:
    log = tmp_path / "parent.log"
    with parent([sys.executable, "-c", PARENT, str(tmp_path), SAMPLE], log) as proc:
        wait_until("control plane and server ready", (tmp_path / "ready").exists, proc, log)
        tree = the_tree(proc)
        os.kill(proc.pid, signal.SIGKILL)
        assert survivors(tree) == []


def test_cluster_killed_one_second_after_sigterm_leaves_nothing(
        envtest_binaries: dict[str, Path], tmp_path: Path) -> None:
    log = tmp_path / "cluster.log"
    with parent(cluster(tmp_path), log) as proc:
        wait_until("cluster ready", (tmp_path / "ready").exists, proc, log)
        tree = the_tree(proc)
        os.kill(proc.pid, signal.SIGTERM)
        time.sleep(1)  # the scenario: SIGKILL while the cleanup runs
        os.kill(proc.pid, signal.SIGKILL)
        assert survivors(tree) == []


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_cluster_stops_everything_within_seconds_on_a_signal(
        envtest_binaries: dict[str, Path], tmp_path: Path, sig: signal.Signals) -> None:
    log = tmp_path / "cluster.log"
    with parent(cluster(tmp_path), log) as proc:
        wait_until("cluster ready", (tmp_path / "ready").exists, proc, log)
        tree = the_tree(proc)
        os.kill(proc.pid, sig)
        assert proc.wait(10) == 0, log.read_text()  # STOP_TIMEOUT (5 s) plus the unregistering
        assert survivors(tree, timeout=0) == []
        assert not (tmp_path / "ready").exists()
        assert f"{sig.name}: stopping" in log.read_text()
