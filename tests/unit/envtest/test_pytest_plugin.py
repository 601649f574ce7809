"""The pytest plugin: cheap to load, skips without binaries and Go, fails instead on CI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import k8s_aggapi.envtest
from k8s_aggapi.envtest import run
from k8s_aggapi.envtest.pytest_plugin import e2e_required

REPO = Path(k8s_aggapi.envtest.__file__).parents[2]
USES_CONTROL_PLANE = "def test_needs_cluster(control_plane):\n    raise AssertionError\n"


def run_pytest(tmp_path: Path, extra_env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """pytest in a subprocess, with no envtest binaries and no `go` on PATH."""
    (tmp_path / "test_it.py").write_text(USES_CONTROL_PLANE)
    env = {k: v for k, v in os.environ.items()
           if k not in ("CI", "AGGAPI_E2E_REQUIRED", "AGGAPI_ENVTEST_BINARIES")}
    env |= {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": str(tmp_path / "nothing"),
            "PYTHONPATH": str(REPO), **extra_env,
            # load the plugin once, by -p, whether or not its entry point is installed
            "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    argv = [sys.executable, "-m", "pytest", "-p", "k8s_aggapi.envtest.pytest_plugin",
            "-p", "no:cacheprovider", "-rs", "-q", str(tmp_path)]
    return run(argv, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize(("env", "expected"), [
    ({}, False), ({"CI": "true"}, True), ({"CI": "false"}, False), ({"CI": "0"}, False),
    ({"AGGAPI_E2E_REQUIRED": "1"}, True), ({"AGGAPI_E2E_REQUIRED": "0"}, False),
])
def test_e2e_required(env: dict[str, str], expected: bool,
                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("AGGAPI_E2E_REQUIRED", raising=False)
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    assert e2e_required() is expected


def test_importing_the_plugin_starts_nothing_and_skips_the_kubernetes_client() -> None:
    code = ("import sys, k8s_aggapi.envtest.pytest_plugin; "
            "print('kubernetes' in sys.modules)")
    out = run([sys.executable, "-c", code], capture_output=True, text=True,
              env={**os.environ, "PYTHONPATH": str(REPO)}, check=True).stdout
    assert out.strip() == "False"


def test_skips_with_one_line_without_binaries_and_go(tmp_path: Path) -> None:
    res = run_pytest(tmp_path, {})
    assert res.returncode == 0, res.stdout + res.stderr
    assert "1 skipped" in res.stdout
    skip_lines = [ln for ln in res.stdout.splitlines() if ln.startswith("SKIPPED")]
    assert len(skip_lines) == 1
    assert "install Go" in skip_lines[0]


@pytest.mark.parametrize("env", [{"CI": "true"}, {"AGGAPI_E2E_REQUIRED": "1"}])
def test_fails_instead_of_skipping_when_required(tmp_path: Path, env: dict[str, str]) -> None:
    res = run_pytest(tmp_path, env)
    assert res.returncode == 1, res.stdout + res.stderr
    assert "1 error" in res.stdout
    assert "install Go" in res.stdout
