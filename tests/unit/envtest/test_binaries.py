"""Binary resolution: env folder, then cache, then `go build` (a fake `go` here), nothing else."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest

from k8s_aggapi.envtest import binaries
from k8s_aggapi.envtest.binaries import (
    ALL_BINARIES,
    BinariesUnavailable,
    cache_dir,
    component_set_of,
    ensure_binaries,
    find_binary,
)

FAKE_GO = """#!/bin/sh
test -f go.mod && test -f go.sum || { echo "no go.mod in $PWD" >&2; exit 9; }
echo "$*" >> "$FAKE_GO_LOG"
while [ $# -gt 0 ]; do [ "$1" = "-o" ] && out=$2; shift; done
printf '#!/bin/sh\\necho built\\n' > "$out" && chmod +x "$out"
"""


def make_exe(path: Path, text: str = "#!/bin/sh\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    path.chmod(0o755)
    return path


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache, no env folder, and a PATH holding only a fake `go` (in tmp/gobin)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv(binaries.ENV_BINARIES, raising=False)
    monkeypatch.setenv("FAKE_GO_LOG", str(tmp_path / "go.log"))
    make_exe(tmp_path / "gobin" / "go", FAKE_GO)
    monkeypatch.setenv("PATH", f"{tmp_path / 'gobin'}:/usr/bin:/bin")
    return tmp_path


def go_calls(tmp: Path) -> list[str]:
    log = tmp / "go.log"
    return log.read_text().splitlines() if log.exists() else []


def test_versions_come_from_the_wrapper_modules() -> None:
    assert component_set_of("kube-apiserver").version() == "v1.34.4"
    assert component_set_of("etcd").version() == "v3.6.14"
    assert component_set_of("kwok").version() == "v0.7.0"
    with pytest.raises(KeyError, match="unknown envtest binary"):
        component_set_of("kubelet")


def test_kubernetes_ldflags_stamp_the_version() -> None:
    flags = component_set_of("kubectl").ldflags()
    assert "-X k8s.io/component-base/version.gitVersion=v1.34.4" in flags
    assert "-X k8s.io/client-go/pkg/version.gitMinor=34" in flags
    assert "-X k8s.io/component-base/version.gitTreeState=clean" in flags
    assert component_set_of("etcd").ldflags() == "-s -w"


def test_cache_dir_is_per_component_set_and_version(env: Path) -> None:
    assert cache_dir(component_set_of("kubectl")) == (
        env / "cache" / "k8s-aggapi" / "bin" / "kubernetes-v1.34.4")


def test_env_folder_wins_over_cache(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cached = make_exe(cache_dir(component_set_of("kubectl")) / "kubectl")
    assert find_binary("kubectl") == cached
    provided = make_exe(env / "provided" / "kubectl")
    monkeypatch.setenv(binaries.ENV_BINARIES, str(env / "provided"))
    assert find_binary("kubectl") == provided
    assert find_binary("etcd") is None


def test_non_executable_files_do_not_count(env: Path) -> None:
    path = cache_dir(component_set_of("etcd")) / "etcd"
    path.parent.mkdir(parents=True)
    path.write_text("not executable")
    assert find_binary("etcd") is None


def test_builds_only_what_is_missing_into_the_cache(env: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    make_exe(env / "provided" / "etcd")
    monkeypatch.setenv(binaries.ENV_BINARIES, str(env / "provided"))
    make_exe(cache_dir(component_set_of("kubectl")) / "kubectl")
    out = io.StringIO()
    paths = ensure_binaries(out=out)
    assert set(paths) == set(ALL_BINARIES)
    built = sorted(call.split()[-1] for call in go_calls(env))
    assert built == ["k8s.io/kubernetes/cmd/kube-apiserver",
                     "k8s.io/kubernetes/cmd/kube-controller-manager",
                     "k8s.io/kubernetes/cmd/kube-scheduler", "sigs.k8s.io/kwok/cmd/kwok"]
    assert paths["etcd"] == env / "provided" / "etcd"
    assert paths["kwok"] == cache_dir(component_set_of("kwok")) / "kwok"
    assert os.access(paths["kwok"], os.X_OK)
    assert not list(paths["kwok"].parent.glob(".*.tmp"))  # built under a temp name, renamed
    assert "envtest: built kwok in" in out.getvalue()
    assert ensure_binaries(out=out) == paths  # second run: all found, nothing built
    assert len(go_calls(env)) == 4


def test_no_go_and_no_binaries_is_one_clear_error(env: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(env / "empty"))
    with pytest.raises(BinariesUnavailable, match=r"missing \(etcd, .*install Go") as info:
        ensure_binaries()
    assert "\n" not in str(info.value)


def test_build_false_never_builds(env: Path) -> None:
    with pytest.raises(BinariesUnavailable):
        ensure_binaries(["kwok"], build=False)
    assert go_calls(env) == []


def test_a_failed_build_leaves_nothing_behind(env: Path) -> None:
    make_exe(env / "gobin" / "go", "#!/bin/sh\necho 'compile error' >&2\nexit 1\n")
    with pytest.raises(RuntimeError, match="exit code 1"):
        ensure_binaries(["kwok"], out=io.StringIO())
    assert [p.name for p in cache_dir(component_set_of("kwok")).iterdir()] == [".lock"]
