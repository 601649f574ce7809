"""`python -m bench.storage`: what the watch cache buys, on memory and on a real etcd.

Four backends side by side, the storage layer alone (in-process, no HTTP): memory, the
watch cache over memory, etcd (v3.6.14, started here, leashed), and the watch cache over
etcd. Per backend: GET of one object, LIST of 100 and of 10,000 objects at the latest
revision (what resourceVersion "" and "0" read), CREATE, and watch fan-out (1,000 watchers of
one resource, 50 creates, delivery latency p50/p99 and process CPU per delivered event).
Rounds are interleaved (every backend once per round, 3 rounds); the table shows the median
of the rounds and writes bench/out/storage.svg.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench.wireplot import COLORS, PANEL, WIDTH, _panel
from k8s_aggapi.envtest.etcd import EtcdCluster
from k8s_aggapi.storage import MemoryStorage, Storage
from k8s_aggapi.storage.cacher import Cacher
from k8s_aggapi.storage.etcd import EtcdConfig, EtcdStorage

OUT = Path(__file__).parent / "out"
SMALL, LARGE = "/bench/small/", "/bench/large/"


def _flunder(name: str) -> dict[str, Any]:
    return {"apiVersion": "wardle.example.com/v1alpha1", "kind": "Flunder",
            "metadata": {"name": name, "namespace": "bench", "uid": f"uid-{name}",
                         "labels": {"app": "bench", "n": name[-1]},
                         "creationTimestamp": "2026-01-01T00:00:00Z"},
            "spec": {"reference": f"ref-{name}", "referenceType": "Flunder"}}


async def _load(storage: Storage, large: int) -> None:
    sem = asyncio.Semaphore(32)

    async def one(prefix: str, i: int) -> None:
        async with sem:
            await storage.create(f"{prefix}bench/o{i:06}", _flunder(f"o{i:06}"))

    await asyncio.gather(*(one(SMALL, i) for i in range(100)))
    await asyncio.gather(*(one(LARGE, i) for i in range(large)))


async def _timed(fn: Callable[[], Awaitable[Any]], n: int) -> tuple[float, float]:
    """(operations per second, p99 latency in ms) of `n` sequential calls."""
    latencies = []
    t0 = time.perf_counter()
    for _ in range(n):
        s = time.perf_counter()
        await fn()
        latencies.append(time.perf_counter() - s)
    total = time.perf_counter() - t0
    latencies.sort()
    return n / total, latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] * 1e3


async def _fanout(storage: Storage, watchers: int, events: int, tag: str) -> dict[str, float]:
    prefix = f"/bench/watched-{tag}/"
    start = (await storage.list(prefix)).revision
    received: list[tuple[int, float]] = []  # (revision, when a watcher got it)
    sent: dict[int, float] = {}  # revision -> when its create was sent
    got = 0
    done = asyncio.Event()

    async def watcher() -> None:
        nonlocal got
        seen = 0
        async for event in storage.watch(prefix, after_revision=start):
            if event.type == "BOOKMARK":
                continue
            received.append((event.revision, time.perf_counter()))
            seen += 1
            got += 1
            if got == watchers * events:
                done.set()
            if seen == events:
                return

    tasks = [asyncio.create_task(watcher()) for _ in range(watchers)]
    await asyncio.sleep(0.5)  # every watcher subscribed (etcd: every stream created)
    cpu0 = time.process_time()
    for i in range(events):
        t = time.perf_counter()
        created = await storage.create(f"{prefix}bench/e{i:04}", _flunder(f"e{i:04}"))
        sent[int(created["metadata"]["resourceVersion"])] = t
        await asyncio.sleep(0.01)
    await asyncio.wait_for(done.wait(), 120)
    cpu = time.process_time() - cpu0
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    delays = sorted(when - sent[revision] for revision, when in received)
    return {"p50_ms": delays[len(delays) // 2] * 1e3,
            "p99_ms": delays[int(len(delays) * 0.99)] * 1e3,
            "cpu_us_per_event": cpu / len(delays) * 1e6}


async def _round(name: str, storage: Storage, round_: int, watchers: int,
                 large: int) -> list[dict[str, Any]]:
    rows = []
    for op, fn, n in (
        ("get", lambda: storage.get(f"{SMALL}bench/o000042"), 300),
        ("list 100", lambda: storage.list(SMALL), 100),
        (f"list {large:,}", lambda: storage.list(LARGE), 5),
    ):
        await fn()  # warm (the cache loads the resource on its first list)
        ops, p99 = await _timed(fn, n)
        rows.append({"row": name, "op": op, "ops": ops, "p99_ms": p99})
    counter = iter(range(10**9))
    tag = f"{name.replace(' ', '').replace('+', '-')}-{round_}"

    async def create() -> None:
        i = next(counter)
        await storage.create(f"/bench/created/bench/{tag}-{i:06}", _flunder(f"c{i}"))

    ops, p99 = await _timed(create, 200)
    rows.append({"row": name, "op": "create", "ops": ops, "p99_ms": p99})
    fan = await _fanout(storage, watchers, 50, tag)
    rows.append({"row": name, "op": f"watch x{watchers}", "ops": 0.0, **fan})
    return rows


def _median(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keyed: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in rows:
        keyed.setdefault((r["row"], r["op"]), []).append(r)
    out = []
    for (row, op), rs in keyed.items():
        merged: dict[str, Any] = {"row": row, "op": op}
        for k in rs[0]:
            if k not in ("row", "op"):
                merged[k] = statistics.median(r[k] for r in rs)
        out.append(merged)
    return out


def _table(rows: list[dict[str, Any]]) -> str:
    etcd = {r["op"]: r for r in rows if r["row"] == "etcd"}
    lines = ["| backend | operation | ops/s | p99 ms | vs etcd | watch p50 ms | "
             "watch p99 ms | CPU µs/event |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for r in rows:
        base = etcd.get(r["op"])
        if r["op"].startswith("watch"):
            ratio = (f"{base['p99_ms'] / r['p99_ms']:.1f}x p99" if base and r["p99_ms"]
                     else "")
            lines.append(f"| {r['row']} | {r['op']} | | | {ratio} | {r['p50_ms']:.1f} | "
                         f"{r['p99_ms']:.1f} | {r['cpu_us_per_event']:.0f} |")
        else:
            ratio = f"{r['ops'] / base['ops']:.1f}x" if base and base["ops"] else ""
            lines.append(f"| {r['row']} | {r['op']} | {r['ops']:,.0f} | {r['p99_ms']:.2f} | "
                         f"{ratio} | | | |")
    return "\n".join(lines)


def _svg(rows: list[dict[str, Any]]) -> str:
    ops = [r for r in rows if not r["op"].startswith("watch")]
    watch = [{**r, "op": "fan-out"} for r in rows if r["op"].startswith("watch")]
    names = list(dict.fromkeys(r["row"] for r in rows))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
             f'height="{2 * PANEL + 20}" font-family="sans-serif" font-size="11">',
             '<rect width="100%" height="100%" fill="white"/>',
             *_panel(ops, "ops", "operations/s (higher is better)", 4, ",.0f"),
             *_panel(watch, "p99_ms", "watch delivery p99, ms (lower is better)",
                     PANEL + 10, ".1f")]
    for s, name in enumerate(names):
        y = 40 + 16 * s
        parts.append(f'<rect x="{WIDTH - 160}" y="{y}" width="10" height="10" '
                     f'fill="{COLORS[s % len(COLORS)]}"/><text x="{WIDTH - 145}" '
                     f'y="{y + 9}">{name}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


async def _main(rounds: int, watchers: int, large: int, directory: Path) -> None:
    cluster = EtcdCluster(directory / "etcd").start()
    config = EtcdConfig(servers=tuple(cluster.servers), prefix="/registry")
    try:
        memory, etcd = MemoryStorage(), EtcdStorage(config)
        await _load(memory, large)
        await _load(etcd, large)
        cached_memory, cached_etcd = Cacher(memory), Cacher(EtcdStorage(config))
        backends: list[tuple[str, Storage]] = [
            ("memory", memory), ("cache+memory", cached_memory),
            ("etcd", etcd), ("cache+etcd", cached_etcd)]
        rows: list[dict[str, Any]] = []
        for r in range(rounds):
            for name, storage in backends:
                rows += await _round(name, storage, r, watchers, large)
                print(f"round {r + 1}/{rounds}: {name} done", flush=True)
        table = _median(rows)
        print(_table(table))
        OUT.mkdir(exist_ok=True)
        (OUT / "storage.svg").write_text(_svg(table))
        print(f"wrote {OUT / 'storage.svg'}")
        await cached_memory.stop()
        await cached_etcd.stop()
        await etcd.close()
    finally:
        cluster.stop()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--watchers", type=int, default=1000)
    p.add_argument("--large", type=int, default=10_000)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-storage-") as tmp:
        asyncio.run(_main(args.rounds, args.watchers, args.large, Path(tmp)))


if __name__ == "__main__":
    main()
