"""The rows of `python -m bench` in one process, for one source tree: CPU time per request.

`python bench/inproc.py ROOT [SIZES]` imports `k8s_aggapi` and the sample from ROOT (this
tree, or an older commit extracted by `python -m bench --baseline REV`) and prints one JSON
row per line. Standalone on purpose: nothing from this tree is imported before ROOT is first
on the path, so the baseline runs its own code. Works with the API of every commit since
`build_test_app(groups)` and `wardle_group()` exist (both unchanged since db3b5f7).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
from typing import Any

ACCEPT = {
    "json": "application/json",
    "table": "application/json;as=Table;v=v1;g=meta.k8s.io",
    "partial": "application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io",
}
SIZES = (100, 1_000, 10_000)
NS = "/apis/wardle.example.com/v1alpha1/namespaces/bench/flunders"
GETS = 2000


async def call(app: Any, method: str, path: str, body: bytes = b"", accept: str = "") -> int:
    """One ASGI request to `app`, as uvicorn hands it over (no TLS); the status."""
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


async def measure(app: Any, repeat: int, path: str, accept: str = "") -> dict[str, float]:
    """`repeat` GETs of `path` after a warm-up: median wall ms and CPU µs per request."""
    for _ in range(max(2, repeat // 10)):
        assert await call(app, "GET", path, accept=accept) == 200
    walls = []
    cpu0 = time.process_time()
    for _ in range(repeat):
        t0 = time.perf_counter()
        assert await call(app, "GET", path, accept=accept) == 200
        walls.append(time.perf_counter() - t0)
    cpu = time.process_time() - cpu0
    return {"ms": statistics.median(walls) * 1000, "cpu_us": cpu / repeat * 1e6}


async def rows(sizes: tuple[int, ...] = SIZES) -> list[dict[str, Any]]:
    from examples.sample_apiserver.apis import wardle_group
    from k8s_aggapi.testing import build_test_app

    out: list[dict[str, Any]] = []
    for size in sizes:
        app = build_test_app([wardle_group()])
        for i in range(size):
            body = (b'{"metadata":{"name":"f%d","labels":{"app":"bench"}},'
                    b'"spec":{"reference":"x"}}' % i)
            assert await call(app, "POST", NS, body) == 201
        repeat = max(5, 20_000 // size)
        for name, accept in ACCEPT.items():
            out.append({"request": f"list {name}", "objects": size,
                        **await measure(app, repeat, NS, accept)})
        out.append({"request": "get one", "objects": size,
                    **await measure(app, GETS, f"{NS}/f0")})
    return out


if __name__ == "__main__":
    root = sys.argv[1]
    sys.path[0] = root  # the tree measured, not this script's directory
    chosen = tuple(int(s) for s in sys.argv[2].split(",")) if len(sys.argv) > 2 else SIZES
    import k8s_aggapi

    if not str(k8s_aggapi.__file__).startswith(root):
        raise SystemExit(f"k8s_aggapi came from {k8s_aggapi.__file__}, not {root}")
    for row in asyncio.run(rows(chosen)):
        print(json.dumps(row), flush=True)
