"""Child processes of envtest: one process group and one log file each, never left behind.

Every started process is remembered until stopped; an atexit hook stops the rest. `wait_for`
polls a readiness check and fails with the tail of the process's log.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

_live: set[ManagedProcess] = set()


class StartupError(RuntimeError):
    """A process exited or did not become ready in time; the message ends with its log tail."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the OS picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ManagedProcess:
    """A command run in its own process group with stdout and stderr going to `log_path`."""

    def __init__(
        self, name: str, argv: Sequence[str], log_path: Path, *,
        env: Mapping[str, str] | None = None, cwd: Path | None = None,
    ) -> None:
        self.name, self.argv, self.log_path = name, list(argv), log_path
        self.env, self.cwd = env, cwd
        self._popen: subprocess.Popen[bytes] | None = None

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
            self._popen = subprocess.Popen(
                self.argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                env=None if self.env is None else dict(self.env), cwd=self.cwd,
                start_new_session=True,  # own process group: killpg reaches its children too
            )
        _live.add(self)

    @property
    def running(self) -> bool:
        return self._popen is not None and self._popen.poll() is None

    @property
    def returncode(self) -> int | None:
        return None if self._popen is None else self._popen.poll()

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the process group, then SIGKILL it after `timeout` seconds."""
        _live.discard(self)
        if self._popen is None:
            return
        for sig, wait in ((signal.SIGTERM, timeout), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self._popen.pid, sig)
            try:
                self._popen.wait(wait)
                break
            except subprocess.TimeoutExpired:
                continue
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self._popen.pid, signal.SIGKILL)  # leftovers of the group

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


@atexit.register
def stop_all() -> None:
    """Stop every process still running (interpreter exit, or a test run that forgot)."""
    for proc in list(_live):
        proc.stop(timeout=5.0)
