"""`python -m bench.chain`: one GET through the whole handler chain with real authentication.

In-process like `python -m bench`, but the request carries what uvicorn hands over: a verified
client certificate in the TLS extension, and for the front-proxy row the `X-Remote-*` headers,
so the real front-proxy and x509 authenticators (dev PKI, `DelegatingAuthentication` from CA
files) run; authorization allows everything (`testing.FakeAuthorizer`). CPU microseconds per
GET (process time), the minimum and median of the rounds. With `--baseline-tree DIR` (e.g. a
`git archive` of main) the same worker runs against that tree too, interleaved.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

W = "/apis/wardle.example.com/v1alpha1/namespaces/bench/flunders"
FLUNDER = (b'{"apiVersion":"wardle.example.com/v1alpha1","kind":"Flunder","metadata":'
           b'{"name":"f0"},"spec":{"reference":"other"}}')
PROXY_HEADERS = [(b"x-remote-user", b"bench-user"), (b"x-remote-group", b"bench-group"),
                 (b"x-remote-extra-scopes", b"bench")]


async def worker(pki_dir: Path, requests: int) -> dict[str, float]:
    """The measurement, in whichever tree is on sys.path (only names both trees have)."""
    from examples.sample_apiserver.apis import wardle_group
    from k8s_aggapi.authentication.delegating import (
        AuthenticationOptions,
        DelegatingAuthentication,
    )
    from k8s_aggapi.config import CompletedConfig
    from k8s_aggapi.devmode import ensure_dev_pki
    from k8s_aggapi.health import HealthChecks
    from k8s_aggapi.metrics import ServerMetrics
    from k8s_aggapi.server import build_app
    from k8s_aggapi.testing import FakeAuthorizer

    pki = ensure_dev_pki(pki_dir, server="https://127.0.0.1:8443")
    authn = DelegatingAuthentication(AuthenticationOptions(
        client_ca_file=str(pki.client_ca), requestheader_client_ca_file=str(pki.front_proxy_ca),
        requestheader_allowed_names=("front-proxy-client",), skip_lookup=True))
    await authn.start()
    config = CompletedConfig(
        groups=(wardle_group(),), serving=None, authenticator=authn.authenticator,
        authorizer=FakeAuthorizer(), health=HealthChecks(), metrics=ServerMetrics(),
        strip_headers=authn.strip_headers)
    app: Any = build_app(config)

    def der(name: str) -> bytes:
        return ssl.PEM_cert_to_DER_cert(pki.pair(name)[0].read_text())

    async def call(method: str, cert: bytes, headers: list[tuple[bytes, bytes]],
                   path: str = f"{W}/f0", body: bytes = b"") -> int:
        scope = {
            "type": "http", "http_version": "1.1", "method": method, "path": path,
            "raw_path": path.encode(), "query_string": b"", "root_path": "", "scheme": "https",
            "server": ("127.0.0.1", 8443), "client": ("127.0.0.1", 50000),
            "headers": [(b"host", b"127.0.0.1:8443"), (b"user-agent", b"bench"),
                        (b"accept", b"application/json"),
                        (b"content-type", b"application/json"), *headers],
            "extensions": {"tls": {"client_cert_der": cert}},
        }
        status, received = 0, False

        async def receive() -> dict[str, Any]:
            nonlocal received
            if received:
                await asyncio.Event().wait()
            received = True
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: dict[str, Any]) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]

        await app(scope, receive, send)
        return status

    admin, proxy = der("admin"), der("front-proxy-client")
    await call("POST", admin, [], W, FLUNDER)
    rows = {"x509": (admin, []), "proxy": (proxy, PROXY_HEADERS)}
    for cert, headers in rows.values():
        assert await call("GET", cert, headers) == 200
    out = {}
    for name, (cert, headers) in rows.items():
        start = time.process_time()
        for _ in range(requests):
            await call("GET", cert, headers)
        out[name] = (time.process_time() - start) / requests * 1e6
    return out


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.chain", description=__doc__)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--requests", type=int, default=3000)
    p.add_argument("--baseline-tree", type=Path, default=None)
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--pki", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(asyncio.run(worker(args.pki, args.requests))))
        return
    here = Path(__file__).resolve().parent.parent
    trees = {"ours": here}
    if args.baseline_tree is not None:
        trees = {"base": args.baseline_tree.resolve(), **trees}
    results: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-chain-") as tmp:
        for n in range(args.rounds):
            for tree_name, tree in trees.items():
                out = subprocess.run(
                    [sys.executable, str(Path(__file__).resolve()), "--worker",
                     f"--pki={tmp}", f"--requests={args.requests}"],
                    cwd=tree, env={**os.environ, "PYTHONPATH": str(tree)}, check=True,
                    capture_output=True, text=True).stdout
                for row, us in json.loads(out.splitlines()[-1]).items():
                    results.setdefault((tree_name, row), []).append(us)
                    print(f"round {n + 1}/{args.rounds} {tree_name:<5} {row:<6} {us:7.1f} us/GET",
                          flush=True)
    print("\n| tree | auth | min us/GET | median us/GET |\n| --- | --- | ---: | ---: |")
    for (tree_name, row), values in results.items():
        print(f"| {tree_name} | {row} | {min(values):.1f} | {statistics.median(values):.1f} |")
    print("load average:", os.getloadavg())


if __name__ == "__main__":
    main()
