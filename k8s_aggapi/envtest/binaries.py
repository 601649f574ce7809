"""Find or build the control-plane binaries (etcd, kube-*, kubectl, kwok) for envtest.

Order per binary: `$AGGAPI_ENVTEST_BINARIES`, then the versioned cache folder, then `go build`
from the wrapper modules in `gomod/` (copied to a temporary folder, installed atomically).
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from k8s_aggapi.envtest.lifetime import spawn

ENV_BINARIES = "AGGAPI_ENVTEST_BINARIES"
GOMOD_DIR = Path(__file__).parent / "gomod"
HINT = (
    "install Go >= 1.24 (https://go.dev/dl/) and run `python -m k8s_aggapi.envtest build`, "
    f"or set {ENV_BINARIES} to a folder holding the binaries"
)


class BinariesUnavailable(RuntimeError):
    """A binary is neither provided nor cached, and Go is not installed to build it."""


@dataclass(frozen=True)
class ComponentSet:
    """A Go wrapper module under `gomod/<name>` and the binaries it builds."""

    name: str
    module: str  # the required module whose version names the cache folder
    packages: Mapping[str, str]  # binary name -> Go package

    @property
    def module_dir(self) -> Path:
        return GOMOD_DIR / self.name

    def version(self) -> str:
        text = (self.module_dir / "go.mod").read_text()
        match = re.search(rf"^\s*(?:require\s+)?{re.escape(self.module)}\s+(v\S+)", text, re.M)
        if match is None:
            raise RuntimeError(f"{self.module} is not required in {self.module_dir}/go.mod")
        return match.group(1)

    def ldflags(self) -> str:
        if self.name != "kubernetes":
            return "-s -w"
        version = self.version()
        major, minor = version.lstrip("v").split(".")[:2]
        pairs = [(f"k8s.io/{p}/version.git{k}", v) for p in ("component-base", "client-go/pkg")
                 for k, v in (("Version", version), ("Major", major), ("Minor", minor))]
        pairs.append(("k8s.io/component-base/version.gitTreeState", "clean"))
        return " ".join(["-s -w", *(f"-X {k}={v}" for k, v in pairs)])


COMPONENT_SETS = (
    ComponentSet("etcd", "go.etcd.io/etcd/server/v3", {"etcd": "go.etcd.io/etcd/server/v3"}),
    ComponentSet("kubernetes", "k8s.io/kubernetes", {
        name: f"k8s.io/kubernetes/cmd/{name}"
        for name in ("kube-apiserver", "kube-controller-manager", "kube-scheduler", "kubectl")
    }),
    ComponentSet("kwok", "sigs.k8s.io/kwok", {"kwok": "sigs.k8s.io/kwok/cmd/kwok"}),
)
ALL_BINARIES = tuple(name for cs in COMPONENT_SETS for name in cs.packages)


def component_set_of(binary: str) -> ComponentSet:
    for cs in COMPONENT_SETS:
        if binary in cs.packages:
            return cs
    raise KeyError(f"unknown envtest binary {binary!r}; known: {', '.join(ALL_BINARIES)}")


def cache_root() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "k8s-aggapi" / "bin"


def cache_dir(cs: ComponentSet) -> Path:
    return cache_root() / f"{cs.name}-{cs.version()}"


def find_binary(name: str) -> Path | None:
    """The binary from `$AGGAPI_ENVTEST_BINARIES` or the cache, without building."""
    provided = os.environ.get(ENV_BINARIES, "")
    candidates = [Path(provided) / name] if provided else []
    candidates.append(cache_dir(component_set_of(name)) / name)
    return next((c for c in candidates if c.is_file() and os.access(c, os.X_OK)), None)


def can_build() -> bool:
    return shutil.which("go") is not None


def ensure_binaries(
    names: Iterable[str] = ALL_BINARIES, *, build: bool = True, out: TextIO | None = None
) -> dict[str, Path]:
    """Paths of `names`, building the missing ones into the cache when `build` and Go allow."""
    names = list(names)
    found = {name: find_binary(name) for name in names}
    missing = [name for name, path in found.items() if path is None]
    if missing and not (build and can_build()):
        raise BinariesUnavailable(f"envtest binaries missing ({', '.join(missing)}): {HINT}")
    for cs in COMPONENT_SETS:
        todo = [name for name in missing if name in cs.packages]
        if todo:
            found.update(_build(cs, todo, out or sys.stderr))
    return {name: path for name, path in found.items() if path is not None}


def _build(cs: ComponentSet, names: list[str], out: TextIO) -> dict[str, Path]:
    target = cache_dir(cs)
    target.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "CGO_ENABLED": "0"}
    env.setdefault("GOTOOLCHAIN", "local")
    built: dict[str, Path] = {}
    with open(target / ".lock", "w") as lock, tempfile.TemporaryDirectory(
        prefix=f"aggapi-gomod-{cs.name}-"
    ) as work:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be building the same set
        for f in ("go.mod", "go.sum"):
            shutil.copy(cs.module_dir / f, Path(work) / f)
        for name in names:
            final = target / name
            if not final.exists():
                _go_build(cs, name, final, Path(work), env, out)
            built[name] = final
    return built


def _go_build(
    cs: ComponentSet, name: str, final: Path, work: Path, env: dict[str, str], out: TextIO
) -> None:
    tmp = final.with_name(f".{name}.{os.getpid()}.tmp")
    argv = ["go", "build", "-trimpath", "-ldflags", cs.ldflags(), "-o", str(tmp), cs.packages[name]]
    print(f"envtest: building {name} ({cs.module} {cs.version()}) ...", file=out, flush=True)
    start = time.monotonic()
    proc = spawn(argv, cwd=work, env=env, stdin=subprocess.DEVNULL)  # stderr shown
    while True:
        try:
            code = proc.wait(timeout=60)
            break
        except subprocess.TimeoutExpired:
            elapsed = time.monotonic() - start
            print(f"envtest:   still building {name} ({elapsed:.0f}s)", file=out, flush=True)
    elapsed = time.monotonic() - start
    if code != 0:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"`{' '.join(argv)}` failed with exit code {code} (in {work})")
    os.replace(tmp, final)
    size = final.stat().st_size / 1e6
    print(f"envtest: built {name} in {elapsed:.1f}s ({size:.0f} MB) -> {final}",
          file=out, flush=True)
