"""Slowloris, idle connections and slow watch readers (issue 6: 200 half-open connections
were all still held after 30 s). A sample with short `--read-header-timeout` and
`--idle-timeout` must close them, as Go's http.Server does with ReadHeaderTimeout and
IdleTimeout; a watcher that stops reading is ended once `--watch-queue-length` events wait, as
upstream's cacher ends a watcher whose buffer is full.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections.abc import Iterator

import orjson
import pytest

from tests.attack.http import Reader
from tests.attack.server import GV, RSSSampler, SampleServer

HEADER_TIMEOUT, IDLE_TIMEOUT, QUEUE = 2.0, 3.0, 16
BIG = "x" * 100_000  # a 100 KB annotation: 60 events outgrow the kernel's socket buffers


@pytest.fixture(scope="module")
def short_timeouts(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleServer]:
    directory = tmp_path_factory.mktemp("attack-timeouts")
    server = SampleServer(directory, [
        "--dev", f"--cert-dir={directory}", f"--read-header-timeout={HEADER_TIMEOUT:g}s",
        f"--idle-timeout={IDLE_TIMEOUT:g}s", f"--watch-queue-length={QUEUE}"],
        ca=directory / "serving-ca.crt")
    try:
        server.start()
        yield server
    finally:
        server.stop()


def _closed_by_server(sock: ssl.SSLSocket) -> bool:
    """True once the server has acted: closed it, or answered (a 408/400 before closing)."""
    sock.settimeout(0.05)
    try:
        sock.recv(65536)
    except TimeoutError:
        return False
    except (OSError, ssl.SSLError):
        return True
    return True


def _wait_all_closed(socks: list[ssl.SSLSocket], within: float) -> int:
    """Poll until the server has closed every socket; how many are still held."""
    open_ = list(socks)
    deadline = time.monotonic() + within
    while open_ and time.monotonic() < deadline:
        open_ = [s for s in open_ if not _closed_by_server(s)]
        time.sleep(0.2)
    return len(open_)


def test_slowloris_connections_are_closed(short_timeouts: SampleServer) -> None:
    with short_timeouts.half_open(50, "X-Slow: a") as socks:
        held = _wait_all_closed(socks, within=HEADER_TIMEOUT * 5 + 10)
    assert held == 0, f"{held} of 50 half-open connections still held"
    assert short_timeouts.ready()


def test_idle_keepalive_connections_are_closed(short_timeouts: SampleServer) -> None:
    client = short_timeouts.client("admin")
    assert client.request("GET", f"{GV}/fischers").status == 200
    sock = client._sock
    assert sock is not None
    held = _wait_all_closed([sock], within=IDLE_TIMEOUT * 3 + 10)
    client.close()
    assert held == 0, "an idle keep-alive connection was never closed"


def test_a_stalled_watcher_is_ended(short_timeouts: SampleServer) -> None:
    """A watch whose reader stalls while 60 large events happen: the server drops it after at
    most QUEUE queued events instead of holding all of them, and stays within memory."""
    watcher = short_timeouts.client("admin")
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.settimeout(10)
    raw.connect(("127.0.0.1", short_timeouts.port))
    sock = short_timeouts.identity("admin").context().wrap_socket(raw, server_hostname="localhost")
    admin = short_timeouts.client("admin")
    with RSSSampler(lambda: short_timeouts.pid) as sampler:
        sock.sendall(f"GET {GV}/fischers?watch=1 HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        for i in range(60):
            body = {"apiVersion": "wardle.example.com/v1alpha1", "kind": "Fischer",
                    "metadata": {"name": f"slow-{i}", "annotations": {"big": BIG}}}
            created = admin.request("POST", f"{GV}/fischers", body=orjson.dumps(body),
                                    headers={"Content-Type": "application/json"})
            assert created.status == 201, created.body[:200]
        time.sleep(3)  # past the full queue's grace
        resp = watcher.read(Reader(sock), "GET", read_limit=20)
    sock.close()
    for i in range(60):
        admin.request("DELETE", f"{GV}/fischers/slow-{i}")
    admin.close()
    events = [line for line in resp.body.splitlines() if line.strip()]
    assert resp.status == 200
    assert not resp.truncated, "the stalled watch was never ended"
    assert len(events) < 60, f"all {len(events)} events were held for a stalled reader"
    growth = (sampler.peak - sampler.baseline) / 1024
    assert growth < 150, f"+{growth:.0f} MiB while a watcher stalled"

