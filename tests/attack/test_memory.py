"""Memory while the heavy cases run: the server's VmRSS sampled every 20 ms, each case's peak
compared with the RSS just before it.

The bound, 150 MiB over the baseline per case: the largest honest cost is four concurrent
3 MiB bodies, each held as bytes, decoded, copied into storage and written back (about 5
copies, 60 MiB in all), plus 64 half-open TLS connections (~100 KiB each). A header read
whole (issue 6: 64 MiB, or 8 x 32 MiB) or an amplified JSON patch (hundreds of MiB) is
well past it; a server that refuses them early stays far below.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import orjson
import pytest

from tests.attack import corpus
from tests.attack.http import ConnectionLost, Reader, Response
from tests.attack.oracle import COUNTS, judge
from tests.attack.server import GV, RSSSampler, SampleServer

BOUND_MIB = 150.0
MiB = 1024 * 1024


def _big_header(server: SampleServer, size: int, results: list[str]) -> None:
    """One anonymous GET with a `size`-byte header, sent in 1 MiB pieces; the answer is
    whatever comes back once the server stops reading (431 upstream)."""
    client = server.client(None)
    sock = client.connect()
    try:
        sock.sendall(f"GET {GV}/fischers HTTP/1.1\r\nHost: x\r\nX-Big: ".encode())
        with contextlib.suppress(OSError):
            for _ in range(size // MiB):
                sock.sendall(b"a" * MiB)
            sock.sendall(b"\r\n\r\n")
        try:
            resp = client.read(Reader(sock), "GET", read_limit=5.0)
        except (ConnectionLost, OSError) as exc:
            results.append(f"no answer ({exc!r})")
            return
        judge(resp, f"{size // MiB} MiB header")
        results.append(str(resp.status))
    finally:
        sock.close()


def _concurrently(count: int, work: Callable[[int], None]) -> None:
    threads = [threading.Thread(target=work, args=(i,)) for i in range(count)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)


@pytest.fixture
def measure(dev_server: SampleServer) -> Iterator[Callable[[str], RSSSampler]]:
    samplers: list[tuple[str, RSSSampler]] = []

    def start(what: str) -> RSSSampler:
        sampler = RSSSampler(lambda: dev_server.pid, interval=0.02)
        samplers.append((what, sampler))
        return sampler.__enter__()

    yield start
    for what, sampler in samplers:
        sampler.__exit__()
        growth = (sampler.peak - sampler.baseline) / 1024
        COUNTS.rss_growth_mib = max(COUNTS.rss_growth_mib, growth)
        COUNTS.peak_rss_mib = max(COUNTS.peak_rss_mib, sampler.peak / 1024)
        print(f"\nmemory: {what}: {sampler.baseline / 1024:.0f} -> "
              f"{sampler.peak / 1024:.0f} MiB (+{growth:.0f})")


def _growth(sampler: RSSSampler) -> float:
    sampler.__exit__()
    return (sampler.peak - sampler.baseline) / 1024


def test_one_64mib_header(dev_server: SampleServer, measure: Callable[[str], RSSSampler]) -> None:
    sampler = measure("one 64 MiB header")
    results: list[str] = []
    _big_header(dev_server, 64 * MiB, results)
    growth = _growth(sampler)
    assert results == ["431"], results
    assert growth < BOUND_MIB, f"+{growth:.0f} MiB for one 64 MiB header"


def test_eight_32mib_headers(dev_server: SampleServer,
                             measure: Callable[[str], RSSSampler]) -> None:
    sampler = measure("8 concurrent 32 MiB headers")
    results: list[str] = []
    _concurrently(8, lambda i: _big_header(dev_server, 32 * MiB, results))
    growth = _growth(sampler)
    assert results == ["431"] * 8, results
    assert growth < BOUND_MIB, f"+{growth:.0f} MiB for 8 x 32 MiB headers"


def _runner(server: SampleServer) -> corpus.Runner:
    return corpus.Runner({"admin": server.client("admin")})


@pytest.mark.parametrize("case_id", [
    "json-patch-copy-amplification", "nesting-merge-patch-995", "nesting-create-arrays-100000",
    "nesting-json-patch-value-600", "json-patch-too-many-operations", "annotations-3m",
])
def test_heavy_corpus_case(case_id: str, dev_server: SampleServer,
                           measure: Callable[[str], RSSSampler]) -> None:
    case = next(c for c in corpus.load() if c["id"] == case_id)
    runner = _runner(dev_server)
    sampler = measure(case_id)
    problems = runner.run(case, f"mem-{case_id[:40]}")
    growth = _growth(sampler)
    runner.admin.close()
    assert growth < BOUND_MIB and not sampler.killed, f"+{growth:.0f} MiB for {case_id}"
    assert not problems, "\n".join(problems)


def test_four_concurrent_3mib_bodies(dev_server: SampleServer,
                                     measure: Callable[[str], RSSSampler]) -> None:
    sampler = measure("4 concurrent 3 MiB creates")
    codes: list[int] = []

    def create(i: int) -> None:
        client = dev_server.client("admin")
        body = orjson.dumps({"apiVersion": "wardle.example.com/v1alpha1", "kind": "Fischer",
                             "metadata": {"name": f"mem-body-{i}"},
                             "disallowedFlunders": ["x" * 1000] * 3000})
        resp: Response = client.request("POST", f"{GV}/fischers", body=body,
                                        headers={"Content-Type": "application/json"})
        judge(resp, "3 MiB create")
        codes.append(resp.status)
        client.request("DELETE", f"{GV}/fischers/mem-body-{i}")
        client.close()

    _concurrently(4, create)
    growth = _growth(sampler)
    assert sorted(codes) == [201] * 4, codes
    assert growth < BOUND_MIB, f"+{growth:.0f} MiB for 4 x 3 MiB bodies"


def test_many_half_open_connections(dev_server: SampleServer,
                                    measure: Callable[[str], RSSSampler]) -> None:
    """64 TLS connections that send half a request head and stall (slowloris): the server
    keeps answering others, within the memory bound."""
    sampler = measure("64 half-open connections")
    with dev_server.half_open(64):
        client = dev_server.client("admin")
        resp = client.request("GET", f"{GV}/fischers")
        client.close()
        judge(resp, "LIST while 64 connections stall")
        assert resp.status == 200
        assert dev_server.ready()
    growth = _growth(sampler)
    assert growth < BOUND_MIB, f"+{growth:.0f} MiB for 64 half-open connections"
