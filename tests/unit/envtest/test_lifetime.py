"""Leashed children: they and their descendants die with the spawner, however it dies.

The parents here are plain `subprocess.Popen` children on purpose: under a leash their own
leash would reap everything and hide whether the leashes they made work. Each parent exits
by itself within a minute, and each test kills what it saw in `finally`.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pytest

from k8s_aggapi.envtest.lifetime import alive, descendants, run, spawn

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="leashes are Linux-only")

# a tree: sh, a sleep in its group and one that left it (setsid), then a marker line
TREE = "sleep 300 & setsid sleep 301 & echo started >> {marker}; wait"
PARENT = """
import os, sys, threading, time
from k8s_aggapi.envtest.lifetime import spawn
cmd = ["sh", "-c", sys.argv[1]]
spawn(cmd)                                               # from the main thread
worker = threading.Thread(target=spawn, args=(cmd,))     # and from a thread that ends
worker.start(); worker.join()
if sys.argv[2] == "fork" and os.fork() == 0:             # a forked child outliving us
    time.sleep(60); os._exit(0)
time.sleep(60)
"""


def wait_until(what: str, check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not within {timeout}s: {what}"
        time.sleep(0.05)


def survivors(pids: Iterable[int], timeout: float = 10.0) -> list[int]:
    """Poll until every pid is gone; return those still alive at the deadline."""
    deadline = time.monotonic() + timeout
    while (left := [p for p in pids if alive(p)]) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "?"


def tree_with_sleeps(pid: int, sleeps: int) -> set[int]:
    """The descendants of `pid` once `sleeps` of them run `sleep` (setsid execs it first)."""
    tree: set[int] = set()

    def found() -> bool:
        nonlocal tree
        tree = descendants(pid)
        return [comm(p) for p in tree].count("sleep") == sleeps

    wait_until(f"{sleeps} sleeps under {pid}", found)
    return tree


@contextlib.contextmanager
def killed_afterwards(pids: set[int]) -> Iterator[set[int]]:
    try:
        yield pids
    finally:
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.mark.parametrize("how", ["SIGKILL", "SIGTERM then SIGKILL"])
@pytest.mark.parametrize("fork", ["fork", "nofork"])
def test_children_and_grandchildren_die_with_a_killed_parent(
        tmp_path: Path, how: str, fork: str) -> None:
    marker = tmp_path / "started"
    parent = subprocess.Popen([sys.executable, "-c", PARENT, TREE.format(marker=marker), fork],
                              start_new_session=True)
    with killed_afterwards({parent.pid}) as seen:
        wait_until("both trees started", lambda: marker.exists()
                   and len(marker.read_text().split()) == 2)
        tree = tree_with_sleeps(parent.pid, 4)
        seen |= tree
        if how != "SIGKILL":
            os.kill(parent.pid, signal.SIGTERM)
            time.sleep(1)  # the scenario of the issue: SIGKILL one second after SIGTERM
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        forked = {p for p in tree if comm(p) == "python"}
        left = survivors(tree - forked)
        assert left == [], [(p, comm(p)) for p in left]


def test_children_spawned_from_a_thread_live_on_after_the_thread(tmp_path: Path) -> None:
    out = tmp_path / "out"
    started: list[subprocess.Popen[bytes]] = []
    worker = threading.Thread(target=lambda: started.append(spawn(
        ["sh", "-c", f"read line; echo $line > {out}"], stdin=subprocess.PIPE)))
    worker.start()
    worker.join()
    proc = started[0]
    try:
        assert proc.stdin is not None
        proc.stdin.write(b"still here\n")
        proc.stdin.close()
        assert proc.wait(10) == 0
        assert out.read_text() == "still here\n"
    finally:
        proc.kill()
        proc.wait()


def test_plain_pdeathsig_from_a_thread_would_kill_the_child_when_the_thread_ends() -> None:
    """Why the leash does not tie the command to the spawning thread (PR_SET_PDEATHSIG does)."""
    libc = ctypes.CDLL(None, use_errno=True)
    started: list[subprocess.Popen[bytes]] = []

    def naive() -> None:
        started.append(subprocess.Popen(  # the hazard shown
            ["sleep", "30"], preexec_fn=lambda: libc.prctl(1, signal.SIGKILL, 0, 0, 0)))

    worker = threading.Thread(target=naive)
    worker.start()
    worker.join()
    try:
        assert started[0].wait(10) == -signal.SIGKILL
    finally:
        started[0].kill()
        started[0].wait()


def test_kill_takes_the_whole_tree_and_terminate_reaches_the_group(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    for stop, code in (("terminate", -signal.SIGTERM), ("kill", -signal.SIGKILL)):
        marker.unlink(missing_ok=True)
        proc = spawn(["sh", "-c", TREE.format(marker=marker)])
        with killed_afterwards(set()) as seen:
            wait_until("tree started", marker.exists)
            tree = tree_with_sleeps(proc.pid, 2)
            seen |= tree
            assert len(tree) == 3, [comm(p) for p in tree]  # sh, sleep, setsid'd sleep
            getattr(proc, stop)()
            assert proc.wait(10) == code
            assert survivors(tree, timeout=0) == []  # wait() returns when all are gone


def test_exit_codes_and_a_missing_program() -> None:
    assert run(["sh", "-c", "exit 3"]).returncode == 3
    assert run(["sh", "-c", "kill -TERM $$"]).returncode == -signal.SIGTERM
    assert run(["cat"], input="in", capture_output=True, text=True).stdout == "in"
    missing = run(["no-such-program-here"], capture_output=True, text=True)
    assert missing.returncode == 127
    assert "leash: cannot run 'no-such-program-here'" in missing.stderr
    with pytest.raises(subprocess.CalledProcessError) as err:
        run(["false"], check=True)
    assert err.value.cmd == ["false"]


@pytest.mark.parametrize("call", [lambda: spawn("sleep 1"), lambda: spawn(["true"], shell=True),
                                  lambda: spawn(["x"], executable="/bin/true")])
def test_spawn_takes_an_argument_list_only(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="list of arguments"):
        call()


def test_run_timeout_kills_the_tree(tmp_path: Path) -> None:
    marker = tmp_path / "started"
    with pytest.raises(subprocess.TimeoutExpired):
        run(["sh", "-c", f"setsid sleep 301 & echo $! > {marker}; wait"], timeout=1)
    assert survivors([int(marker.read_text())]) == []


def test_descendants_sees_a_tree_and_alive_knows_zombies() -> None:
    proc = subprocess.Popen(["true"])
    wait_until("true exited", lambda: comm(proc.pid) == "?" or not alive(proc.pid))
    assert proc.pid in descendants(os.getpid())  # a zombie until reaped
    proc.wait()
    assert not alive(proc.pid)
    assert alive(os.getpid())
