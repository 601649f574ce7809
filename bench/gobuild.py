"""The Go programs the wire benchmark runs, built once into the envtest binary cache.

Our load generator (bench/loadgen, stdlib only) is cached under a hash of its sources; Go's
k8s.io/sample-apiserver is a `go install` of the published module, cached by version.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from k8s_aggapi.envtest.binaries import cache_root

LOADGEN_DIR = Path(__file__).parent / "loadgen"
SAMPLE_APISERVER = "k8s.io/sample-apiserver"
SAMPLE_APISERVER_VERSION = "v0.34.4"


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
