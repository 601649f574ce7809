"""The Go programs the benchmarks and the reference e2e tests run, built once into the envtest
binary cache.

Our load generator (bench/loadgen, stdlib only) is cached under a hash of its sources; Go's
k8s.io/sample-apiserver is a `go install` of the published module, and
sigs.k8s.io/metrics-server a Go tool of the small module `bench/gomod/metrics-server`, both
cached by version.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from k8s_aggapi.envtest.binaries import cache_root
from k8s_aggapi.envtest.lifetime import run

LOADGEN_DIR = Path(__file__).parent / "loadgen"
SAMPLE_APISERVER = "k8s.io/sample-apiserver"
SAMPLE_APISERVER_VERSION = "v0.34.4"
METRICS_SERVER = "sigs.k8s.io/metrics-server"
METRICS_SERVER_MODULE = Path(__file__).parent / "gomod" / "metrics-server"


def _go() -> str:
    go = shutil.which("go") or "/usr/local/go/bin/go"
    if not Path(go).is_file():
        raise RuntimeError("Go is needed to build the wire benchmark's programs (go.dev/dl)")
    return go


def _env() -> dict[str, str]:
    env = {**os.environ, "CGO_ENABLED": "0"}
    env.setdefault("GOTOOLCHAIN", "local")
    return env


def loadgen_binary() -> Path:
    """bench/loadgen built into `<cache>/loadgen-<hash of its sources>/loadgen`."""
    digest = hashlib.sha256()
    for path in sorted(LOADGEN_DIR.iterdir()):
        if path.suffix in (".go", ".mod", ".sum"):
            digest.update(path.name.encode() + b"\0" + path.read_bytes())
    final = cache_root() / f"loadgen-{digest.hexdigest()[:12]}" / "loadgen"
    if not final.exists():
        final.parent.mkdir(parents=True, exist_ok=True)
        tmp = final.with_name(f".loadgen.{os.getpid()}.tmp")
        subprocess.run([_go(), "build", "-trimpath", "-o", str(tmp), "."], cwd=LOADGEN_DIR,
                       env=_env(), check=True)
        os.replace(tmp, final)
    return final


def sample_apiserver_binary() -> Path:
    """Go's sample-apiserver, `go install`ed from the module proxy, cached by version."""
    target = cache_root() / f"sample-apiserver-{SAMPLE_APISERVER_VERSION}"
    final = target / "sample-apiserver"
    if final.exists():
        return final
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="aggapi-gobin-") as gobin:
        print(f"bench: go install {SAMPLE_APISERVER}@{SAMPLE_APISERVER_VERSION} ...",
              file=sys.stderr, flush=True)
        subprocess.run(
            [_go(), "install", "-trimpath", "-ldflags", "-s -w",
             f"{SAMPLE_APISERVER}@{SAMPLE_APISERVER_VERSION}"],
            env={**_env(), "GOBIN": gobin}, check=True, stdin=subprocess.DEVNULL,
        )
        os.replace(Path(gobin) / "sample-apiserver", final)
    return final


def metrics_server_version() -> str:
    """The metrics-server version `bench/gomod/metrics-server/go.mod` requires (v0.8.0)."""
    text = (METRICS_SERVER_MODULE / "go.mod").read_text()
    match = re.search(rf"^\s*(?:require\s+)?{re.escape(METRICS_SERVER)}\s+(v\S+)", text, re.M)
    if match is None:
        raise RuntimeError(f"{METRICS_SERVER} is not required in {METRICS_SERVER_MODULE}/go.mod")
    return match.group(1)


def metrics_server_binary() -> Path:
    """kubernetes-sigs/metrics-server, the Go tool of `bench/gomod/metrics-server` (go.mod and
    go.sum pin it and its dependencies), `go install tool`ed into
    `<cache>/metrics-server-<version>/metrics-server` once; a file lock serialises builders."""
    target = cache_root() / f"metrics-server-{metrics_server_version()}"
    final = target / "metrics-server"
    if final.exists():
        return final
    target.mkdir(parents=True, exist_ok=True)
    with open(target / ".lock", "w") as lock, tempfile.TemporaryDirectory(
            prefix="aggapi-gomod-metrics-server-") as work:
        fcntl.flock(lock, fcntl.LOCK_EX)  # a parallel test session may be building it
        if final.exists():
            return final
        for name in ("go.mod", "go.sum"):
            shutil.copy(METRICS_SERVER_MODULE / name, Path(work) / name)
        gobin = Path(work) / "bin"
        print(f"building {METRICS_SERVER} {metrics_server_version()} (go install tool, "
              "about 3 minutes) ...", file=sys.stderr, flush=True)
        run([_go(), "install", "-trimpath", "-ldflags", "-s -w", "tool"], cwd=work,
            env={**_env(), "GOBIN": str(gobin)}, check=True, stdin=subprocess.DEVNULL)
        os.replace(gobin / "metrics-server", final)
    return final
