"""Child processes of envtest: one log file each, leashed (`lifetime.spawn`), never left behind.

Every started process is remembered until stopped; an atexit hook stops the rest, and a
process that dies without it (SIGKILL) takes them all with it. `stop_all` stops many at once;
`wait_for` polls a readiness check and fails with the tail of the process's log.
"""

from __future__ import annotations

import atexit
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path

from k8s_aggapi.envtest.lifetime import Leashed, spawn

_live: set[ManagedProcess] = set()


class StartupError(RuntimeError):
    """A process exited or did not become ready in time; the message ends with its log tail."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ManagedProcess:
    """A leashed command (its own process group) with stdout and stderr going to `log_path`."""

    def __init__(
        self, name: str, argv: Sequence[str], log_path: Path, *,
        env: Mapping[str, str] | None = None, cwd: Path | None = None,
    ) -> None:
        self.name, self.argv, self.log_path = name, list(argv), log_path
        self.env, self.cwd = env, cwd
        self._popen: Leashed | None = None

    @property
    def pid(self) -> int | None:
        return self._popen.pid if self._popen else None

    def start(self) -> None:
        if self.running:
            return
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            log.write(f"--- {time.strftime('%H:%M:%S')} {' '.join(self.argv)}\n".encode())
            log.flush()
            self._popen = spawn(
                self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=None if self.env is None else dict(self.env), cwd=self.cwd,
                start_new_session=True,  # a Ctrl-C at the terminal is for our parent to handle
            )
        _live.add(self)

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self._popen is None else self._popen.poll()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, then SIGKILL it and all descendants after `timeout` s."""
        stop_all([self], timeout)

    def tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def failure(self, what: str) -> StartupError:
        state = "running" if self.running else f"exited with code {self.returncode}"
        return StartupError(
            f"{self.name}: {what} ({state}); last lines of {self.log_path}:\n{self.tail()}"
        )


def wait_for(
    what: str, check: Callable[[], bool], process: ManagedProcess, *,
    timeout: float = 60.0, interval: float = 0.2,
) -> None:
    """Poll `check` until it returns True; raise StartupError if `process` dies or time runs out."""
    deadline = time.monotonic() + timeout
    last_error = ""
    while True:
        try:
            if check():
                return
        except Exception as e:  # not ready yet: connection refused, 5xx, not found, ...
            last_error = f"{type(e).__name__}: {e}"
        if not process.running:
            raise process.failure(f"exited before {what}")
        if time.monotonic() > deadline:
            detail = f"; last error: {last_error}" if last_error else ""
            raise process.failure(f"{what} not reached within {timeout:.0f}s{detail}")
        time.sleep(interval)


def stop_all(procs: Iterable[ManagedProcess] | None = None, timeout: float = 10.0) -> None:
    """SIGTERM all of `procs` (default: every live one) at once; SIGKILL, with all their
    descendants, those still running `timeout` seconds later."""
    popens = []
    for proc in list(_live) if procs is None else list(procs):
        _live.discard(proc)
        if proc._popen is not None and proc._popen.poll() is None:
            proc._popen.terminate()
            popens.append(proc._popen)
    deadline = time.monotonic() + timeout
    for popen in popens:
        try:
            popen.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            popen.kill()
    for popen in popens:
        try:
            popen.wait(5.0)  # the leash exits once every descendant is gone
        except subprocess.TimeoutExpired:
            os.kill(popen.pid, signal.SIGKILL)  # a stuck leash: its command dies with it
            popen.wait()


atexit.register(stop_all, None, 5.0)
