"""`python -m bench`: the request hot path in-process (full handler chain, no TLS, no network).

Lists of N flunders as JSON, Table and PartialObjectMetadataList, and single-object GETs,
through the real app built by `k8s_aggapi.testing`. Prints a table and writes
bench/out/list_latency.svg. Bounded: a fixed number of requests per row.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

from examples.sample_apiserver.apis import wardle_group
from k8s_aggapi.testing import build_test_app

NS = "/apis/wardle.example.com/v1alpha1/namespaces/bench/flunders"
ACCEPT = {
    "json": "application/json",
    "table": "application/json;as=Table;v=v1;g=meta.k8s.io",
    "partial": "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
}
SIZES = (100, 1_000, 10_000)
OUT = Path(__file__).parent / "out"


async def call(app: Any, method: str, path: str, body: bytes = b"", accept: str = "") -> int:
    status = 0
    sent = False

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.sleep(3600)
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    headers = [(b"content-type", b"application/json")]
    if accept:
        headers.append((b"accept", accept.encode()))
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(),
             "query_string": b"", "headers": headers, "scheme": "https", "server": None,
             "client": None, "root_path": "", "http_version": "1.1"}
    await app(scope, receive, send)
    return status


async def timed(app: Any, repeat: int, *args: Any, **kwargs: Any) -> float:
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        assert await call(app, *args, **kwargs) == 200
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples) * 1000


async def main() -> list[tuple[str, int, float]]:
    rows: list[tuple[str, int, float]] = []
    for size in SIZES:
        app = build_test_app([wardle_group()])
        for i in range(size):
            body = (b'{"metadata":{"name":"f%d","labels":{"app":"bench"}},'
                    b'"spec":{"reference":"x"}}' % i)
            assert await call(app, "POST", NS, body) == 201
        repeat = max(5, 20_000 // size)
        for name, accept in ACCEPT.items():
            rows.append((f"list {name}", size, await timed(app, repeat, "GET", NS, accept=accept)))
        rows.append(("get one", size, await timed(app, 2000, "GET", f"{NS}/f0")))
    return rows


def svg(rows: list[tuple[str, int, float]]) -> str:
    """A dependency-free bar chart: one group of bars per list size, log-free, in ms."""
    series = sorted({r[0] for r in rows})
    colors = ["#4e79a7", "#f28e2b", "#59a14f", "#e15759"]
    width, height, pad = 760, 320, 50
    top = max(r[2] for r in rows)
    group_w = (width - 2 * pad) / len(SIZES)
    bar_w = group_w / (len(series) + 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
             'font-family="sans-serif" font-size="11">',
             f'<text x="{pad}" y="18">median latency per request (ms), in-process</text>']
    for g, size in enumerate(SIZES):
        x0 = pad + g * group_w
        parts.append(f'<text x="{x0 + group_w / 3:.0f}" y="{height - 8}">{size} objects</text>')
        for s, name in enumerate(series):
            ms = next(r[2] for r in rows if r[0] == name and r[1] == size)
            h = (height - 2 * pad) * ms / top
            x, y = x0 + s * bar_w, height - pad - h
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" '
                         f'height="{h:.1f}" fill="{colors[s % 4]}"/>')
            parts.append(f'<text x="{x:.1f}" y="{y - 3:.1f}">{ms:.1f}</text>')
    for s, name in enumerate(series):
        parts.append(f'<rect x="{width - 150}" y="{30 + 16 * s}" width="10" height="10" '
                     f'fill="{colors[s % 4]}"/><text x="{width - 135}" y="{39 + 16 * s}">'
                     f'{name}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


if __name__ == "__main__":
    results = asyncio.run(main())
    print(f"{'request':<14} {'objects':>8} {'median ms':>10} {'objects/s':>12}")
    for name, size, ms in results:
        per_s = size / ms * 1000 if name.startswith("list") else 1000 / ms
        print(f"{name:<14} {size:>8} {ms:>10.2f} {per_s:>12,.0f}")
    OUT.mkdir(exist_ok=True)
    (OUT / "list_latency.svg").write_text(svg(results))
    print(f"plot: {OUT / 'list_latency.svg'}")
