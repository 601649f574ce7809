"""`python -m bench.chain`: one GET through the whole handler chain with real authentication and
the real delegated authorizer.

In-process like `python -m bench`, but the request carries what uvicorn hands over: a verified
client certificate in the TLS extension, and for the front-proxy row the `X-Remote-*` headers,
so the real front-proxy and x509 authenticators run (dev PKI, `DelegatingAuthentication` from CA
files). Authorization is the chain a delegated server builds (`build_authorizer`: always-allow
groups, always-allow paths, SubjectAccessReview with its cache): the admin certificate is
allowed as `system:masters`, the proxied user by a SubjectAccessReview answered once in-process
and then from the cache, as the front-proxy server runs between kube-apiserver's answers.

Two measures per row (x509, proxy), after a warm-up that fills every cache:
- CPU microseconds per GET (process time): the minimum and median of the rounds;
- `--instructions`: instructions per GET counted by valgrind's callgrind, which a loaded
  machine does not disturb. The worker marks the measured loop with `os.getppid()` (counters
  zeroed) and `os.getpgrp()` (counters dumped), so start-up and warm-up are not counted.

`--baseline-tree REV` runs the same worker against another commit (`git archive REV` into a
temporary folder; a folder is taken as it is), interleaved, in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import ssl
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path
from typing import Any

W = "/apis/wardle.example.com/v1alpha1/namespaces/bench/flunders"
FLUNDER = (b'{"apiVersion":"wardle.example.com/v1alpha1","kind":"Flunder","metadata":'
           b'{"name":"f0"},"spec":{"reference":"other"}}')
PROXY_HEADERS = [(b"x-remote-user", b"bench-user"), (b"x-remote-group", b"bench-group"),
                 (b"x-remote-extra-scopes", b"bench")]
ROWS = ("x509", "proxy")
WARMUP = 200
# a cache TTL longer than any run (under callgrind a run takes minutes): the measured loop
# must not meet an expired entry that the server would refresh once per 10 s
SAR_TTL = 3600.0
HERE = Path(__file__).resolve().parent.parent


class LocalSubjectAccessReviews:
    """kube-apiserver's answer to the bench user's reviews, given in-process: only the first
    request of a row asks (the authorizer caches the answer)."""

    def __init__(self) -> None:
        self.calls = 0

    async def create_subject_access_review(
        self, review: dict[str, Any], *, request_timeout: float = 10.0
    ) -> dict[str, Any]:
        self.calls += 1
        allowed = review["spec"].get("user") == "bench-user"
        return {**review, "status": {
            "allowed": allowed,
            "reason": 'RBAC: allowed by ClusterRoleBinding "bench-flunders" of ClusterRole '
                      '"bench-flunders" to User "bench-user"' if allowed else ""}}


async def worker(pki_dir: Path, requests: int, rows: list[str]) -> dict[str, Any]:
    """The measurement, in whichever tree is on sys.path (only names both trees have)."""
    from examples.sample_apiserver.apis import wardle_group
    from k8s_aggapi.authentication.delegating import (
        AuthenticationOptions,
        DelegatingAuthentication,
    )
    from k8s_aggapi.authorization.delegating import AuthorizationOptions, build_authorizer
    from k8s_aggapi.config import CompletedConfig
    from k8s_aggapi.devmode import ensure_dev_pki
    from k8s_aggapi.health import HealthChecks
    from k8s_aggapi.metrics import ServerMetrics
    from k8s_aggapi.server import build_app

    pki = ensure_dev_pki(pki_dir, server="https://127.0.0.1:8443")
    authn = DelegatingAuthentication(AuthenticationOptions(
        client_ca_file=str(pki.client_ca), requestheader_client_ca_file=str(pki.front_proxy_ca),
        requestheader_allowed_names=("front-proxy-client",), skip_lookup=True))
    await authn.start()
    reviews = LocalSubjectAccessReviews()
    authorizer = build_authorizer(
        AuthorizationOptions(cache_authorized_ttl=SAR_TTL, cache_unauthorized_ttl=SAR_TTL),
        reviews)  # type: ignore[arg-type]  # the one method the authorizer calls
    config = CompletedConfig(
        groups=(wardle_group(),), serving=None, authenticator=authn.authenticator,
        authorizer=authorizer, health=HealthChecks(), metrics=ServerMetrics(),
        strip_headers=authn.strip_headers)
    app: Any = build_app(config)

    def der(name: str) -> bytes:
        return ssl.PEM_cert_to_DER_cert(pki.pair(name)[0].read_text())

    async def call(method: str, cert: bytes, headers: list[tuple[bytes, bytes]],
                   path: str = f"{W}/f0", body: bytes = b"") -> int:
        # a new scope per request, as uvicorn makes one (the chain may change it)
        scope = {
            "type": "http", "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1", "method": method, "path": path,
            "raw_path": path.encode(), "query_string": b"", "root_path": "", "scheme": "https",
            "server": ("127.0.0.1", 8443), "client": ("127.0.0.1", 50000),
            "headers": [(b"host", b"127.0.0.1:8443"), (b"user-agent", b"bench-loadgen"),
                        (b"accept", b"application/json"), *headers],
            "state": {},
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
    created = await call("POST", admin, [(b"content-type", b"application/json")], W, FLUNDER)
    assert created == 201, created
    certs = {"x509": (admin, []), "proxy": (proxy, PROXY_HEADERS)}
    out: dict[str, Any] = {}
    for name in rows:
        cert, headers = certs[name]
        for _ in range(WARMUP):
            status = await call("GET", cert, headers)
            assert status == 200, (name, status)
        os.getppid()  # callgrind: zero the counters
        start = time.process_time()
        for _ in range(requests):
            await call("GET", cert, headers)
        seconds = time.process_time() - start
        os.getpgrp()  # callgrind: dump the counters of the loop
        out[name] = seconds / requests * 1e6
    out["reviews"] = reviews.calls
    return out


def tree_of(rev_or_dir: str, tmp: Path) -> Path:
    """A source tree: the folder given, or `git archive` of a revision into `tmp`."""
    if Path(rev_or_dir).is_dir():
        return Path(rev_or_dir).resolve()
    archive = tmp / "baseline.tar"
    subprocess.run(["git", "archive", "--format=tar", "-o", str(archive), rev_or_dir],
                   cwd=HERE, check=True)
    target = tmp / "baseline"
    target.mkdir()
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    return target


def run_worker(tree: Path, pki: str, requests: int, rows: list[str], tmp: Path,
               instructions: bool) -> dict[str, float]:
    argv = [sys.executable, str(Path(__file__).resolve()), "--worker", f"--pki={pki}",
            f"--requests={requests}", f"--rows={','.join(rows)}"]
    env = {**os.environ, "PYTHONPATH": str(tree), "PYTHONHASHSEED": "0"}
    if not instructions:
        out = subprocess.run(argv, cwd=tree, env=env, check=True, capture_output=True,
                             text=True).stdout
        result: dict[str, float] = json.loads(out.splitlines()[-1])
        return result
    prefix = tmp / f"callgrind-{time.monotonic_ns()}"
    subprocess.run(["valgrind", "--tool=callgrind", "--zero-before=getppid",
                    "--dump-before=getpgrp", f"--callgrind-out-file={prefix}.%p", *argv],
                   cwd=tree, env=env, check=True, capture_output=True, text=True)
    dumps = sorted(tmp.glob(f"{prefix.name}.*.*"), key=lambda p: int(p.name.rsplit(".", 1)[1]))
    counts = [int(m.group(1)) for p in dumps
              if (m := re.search(r"^summary: (\d+)", p.read_text(errors="replace"), re.M))]
    if len(counts) != len(rows):
        raise RuntimeError(f"expected {len(rows)} callgrind dumps, found {len(counts)}")
    for path in tmp.glob(f"{prefix.name}.*"):
        path.unlink()
    return {row: count / requests for row, count in zip(rows, counts, strict=True)}


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(prog="python -m bench.chain", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--requests", type=int, default=None,
                   help="GETs measured per row (default 3000; 1000 with --instructions)")
    p.add_argument("--rows", default=",".join(ROWS))
    p.add_argument("--instructions", action="store_true",
                   help="count instructions per GET under valgrind's callgrind")
    p.add_argument("--baseline-tree", default=None, metavar="REV",
                   help="a git revision (or a source folder) measured as `base`")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--pki", type=Path, default=None, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    rows = [r for r in args.rows.split(",") if r]
    if args.worker:
        print(json.dumps(asyncio.run(worker(args.pki, args.requests, rows))))
        return
    requests = args.requests or (1000 if args.instructions else 3000)
    unit = "instructions/GET" if args.instructions else "us/GET"
    results: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="bench-chain-") as tmp_name:
        tmp = Path(tmp_name)
        trees = {"ours": HERE}
        if args.baseline_tree is not None:
            trees = {"base": tree_of(args.baseline_tree, tmp), **trees}
        pki = tmp / "pki"
        for n in range(args.rounds):
            for tree_name, tree in trees.items():
                out = run_worker(tree, str(pki), requests, rows, tmp, args.instructions)
                for row in rows:
                    results.setdefault((tree_name, row), []).append(out[row])
                    print(f"round {n + 1}/{args.rounds} {tree_name:<5} {row:<6} "
                          f"{out[row]:12,.1f} {unit}", flush=True)
    print(f"\n| tree | auth | min {unit} | median {unit} |\n| --- | --- | ---: | ---: |")
    for (tree_name, row), values in results.items():
        print(f"| {tree_name} | {row} | {min(values):,.1f} | {statistics.median(values):,.1f} |")
    if "base" in {t for t, _ in results}:
        print("\n| auth | ours / base (median) |\n| --- | ---: |")
        for row in rows:
            ours = statistics.median(results[("ours", row)])
            base = statistics.median(results[("base", row)])
            print(f"| {row} | {ours / base:.1%} |")
    print("load average:", os.getloadavg())


if __name__ == "__main__":
    main()
