"""Managed processes: a whole process group stops, and failures quote the log tail."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from k8s_aggapi.envtest import processes
from k8s_aggapi.envtest.lifetime import alive, descendants
from k8s_aggapi.envtest.processes import ManagedProcess, StartupError, free_port, wait_for


def test_stop_kills_the_whole_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "child.pid"
    proc = ManagedProcess("sh", ["sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"],
                          tmp_path / "sh.log")
    proc.start()
    wait_for("child pid written", lambda: pidfile.exists() and pidfile.read_text() != "", proc)
    child = int(pidfile.read_text())
    assert proc in processes._live
    proc.stop(timeout=2)
    assert not proc.running
    assert proc not in processes._live
    deadline = time.monotonic() + 2
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(child)


def test_wait_for_reports_exit_and_log_tail(tmp_path: Path) -> None:
    proc = ManagedProcess("failing", ["sh", "-c", "echo boom: bad flag; exit 3"],
                          tmp_path / "failing.log")
    proc.start()
    with pytest.raises(StartupError, match=r"(?s)exited with code 3.*boom: bad flag"):
        wait_for("ready", lambda: False, proc, timeout=5)


def test_wait_for_times_out_with_the_last_error(tmp_path: Path) -> None:
    proc = ManagedProcess("sleeper", ["sleep", "30"], tmp_path / "sleeper.log")
    proc.start()
    try:
        def refuse() -> bool:
            raise ConnectionRefusedError("nobody home")

        with pytest.raises(StartupError, match=r"not reached within 0s.*nobody home"):
            wait_for("ready", refuse, proc, timeout=0.3)
    finally:
        proc.stop()


def test_free_port_is_bindable() -> None:
    assert 1024 < free_port() < 65536


def test_stop_all_stops_at_once_and_kills_what_ignores_sigterm(tmp_path: Path) -> None:
    procs = [ManagedProcess(f"p{i}", ["sh", "-c", f"{trap} sleep 60 & wait"],
                            tmp_path / f"p{i}.log")
             for i, trap in enumerate(["", "trap '' TERM;", "trap '' TERM;"])]
    for proc in procs:
        proc.start()
    wait_for("children started", lambda: all(len(descendants(p.pid or 0)) == 2 for p in procs),
             procs[0])
    tree = {pid for p in procs for pid in descendants(p.pid or 0)}
    processes.stop_all(procs, timeout=0.5)
    assert [p.returncode for p in procs] == [-15, -9, -9]
    assert [pid for pid in tree if alive(pid)] == []
