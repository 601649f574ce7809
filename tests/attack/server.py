"""The sample server as the attack target: a child process leashed to the test run (envtest's
`spawn`: it dies with pytest, SIGKILL included), its PKI, and its memory as /proc reports it.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from k8s_aggapi.envtest import Leashed, descendants, spawn
from k8s_aggapi.envtest.processes import free_port
from tests.attack.http import Client, Identity

ROOT = Path(__file__).parents[2]
GV = "/apis/wardle.example.com/v1alpha1"


def rss_kib(pid: int) -> int:
    """VmRSS of `pid` in KiB (0 when it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return 0
    return 0


class SampleServer:
    """`python -m examples.sample_apiserver` with `args`, on a free port, logging to a file."""

    def __init__(self, directory: Path, args: Sequence[str], *, ca: Path,
                 port: int | None = None) -> None:
        self.dir, self.port = directory, port or free_port()
        self.args, self.ca = list(args), ca
        self.log_path = directory / "server.log"
        self.proc: Leashed | None = None
        self._pid = 0

    @property
    def pid(self) -> int:
        """The server's own pid (the leash's child), for /proc."""
        assert self.proc is not None
        if not self._pid:
            kids = descendants(self.proc.pid)
            self._pid = min(kids) if kids else self.proc.pid
        return self._pid

    def identity(self, cert: str | None = None, **headers: str) -> Identity:
        pair = (self.dir / f"{cert}.crt", self.dir / f"{cert}.key") if cert else None
        return Identity(self.ca, pair, dict(headers))

    @contextlib.contextmanager
    def half_open(self, count: int, head_tail: str = "X-Slow: ") -> Iterator[list[ssl.SSLSocket]]:
        """`count` TLS connections, each stopped in the middle of a request head (its last
        bytes `head_tail`); all closed afterwards."""
        ctx = self.identity(None).context()
        socks: list[ssl.SSLSocket] = []
        try:
            for _ in range(count):
                raw = socket.create_connection(("127.0.0.1", self.port), timeout=10)
                sock = ctx.wrap_socket(raw, server_hostname="localhost")
                sock.sendall(f"GET {GV}/fischers HTTP/1.1\r\nHost: x\r\n{head_tail}".encode())
                socks.append(sock)
            yield socks
        finally:
            for sock in socks:
                with contextlib.suppress(OSError):
                    sock.close()

    def client(self, cert: str | None = "admin", **headers: str) -> Client:
        return Client(self.port, self.identity(cert, **headers))

    def start(self, timeout: float = 60.0) -> None:
        with open(self.log_path, "ab") as log:
            self.proc = spawn(
                [sys.executable, "-m", "examples.sample_apiserver",
                 f"--secure-port={self.port}", *self.args],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
            )
        self._pid = 0
        self.wait_ready(timeout)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def ready(self) -> bool:
        try:
            client = Client(self.port, Identity(self.ca), timeout=10)
        except OSError:  # no PKI yet
            return False
        try:
            return client.request("GET", "/readyz").status == 200
        except (OSError, ValueError):
            return False
        finally:
            client.close()

    def wait_ready(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not self.ready():
            if not self.alive():
                raise RuntimeError(f"server exited:\n{self.tail()}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"server not ready in {timeout}s:\n{self.tail()}")
            time.sleep(0.2)

    def tail(self, lines: int = 60) -> str:
        with contextlib.suppress(OSError):
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        return ""

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)


class RSSSampler:
    """Samples a process's VmRSS every `interval` seconds on a thread and keeps the peak.

    Past `ceiling_mib` over its baseline the process is SIGKILLed: an unfixed amplification
    must not take the shared machine down with it (the kill then counts as a crash)."""

    def __init__(self, pid: Callable[[], int], interval: float = 0.02,
                 ceiling_mib: float = 512.0) -> None:
        self.pid, self.interval = pid, interval
        self.peak = self.baseline = rss_kib(pid())
        self.ceiling_kib = self.baseline + int(ceiling_mib * 1024)
        self.killed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="rss")

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            pid = self.pid()
            rss = rss_kib(pid)
            self.peak = max(self.peak, rss)
            if rss > self.ceiling_kib:
                self.killed += 1
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def __enter__(self) -> RSSSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        self.peak = max(self.peak, rss_kib(self.pid()))
