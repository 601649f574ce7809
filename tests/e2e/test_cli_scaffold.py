"""From a built wheel to a green generated project: build the wheel, install it in a fresh
venv, `aggapi init`, `aggapi create resource` twice, then the project's own `make test`
(its unit tests and its e2e test against k8s_aggapi.envtest), in a fresh folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from k8s_aggapi.envtest.binaries import BinariesUnavailable, ensure_binaries
from k8s_aggapi.envtest.pytest_plugin import e2e_required

pytestmark = pytest.mark.e2e
ROOT = Path(__file__).parents[2]
GROUP = "widgets.example.com"


def run(argv: list[str], cwd: Path, timeout: float, env: dict[str, str] | None = None) -> str:
    """Run in its own process group; on timeout the whole group (make, pytest, the control
    plane it started) is killed."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, _ = proc.communicate()
        pytest.fail(f"{' '.join(argv)} did not finish in {timeout:.0f}s:\n{out[-4000:]}")
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, f"{' '.join(argv)} exited {proc.returncode}:\n{out[-6000:]}"
    return out


def test_wheel_init_create_twice_then_make_test(tmp_path: Path) -> None:
    try:
        ensure_binaries()
    except BinariesUnavailable as e:
        if e2e_required():
            pytest.fail(str(e))
        pytest.skip(str(e))
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    env["AGGAPI_E2E_REQUIRED"] = "1"
    run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(tmp_path / "dist"),
         str(ROOT)], tmp_path, 300, env)
    wheel = next((tmp_path / "dist").glob("k8s_aggapi-*.whl"))
    run([sys.executable, "-m", "venv", str(tmp_path / "tool")], tmp_path, 120, env)
    run([str(tmp_path / "tool/bin/python"), "-m", "pip", "install", "-q", str(wheel)],
        tmp_path, 600, env)
    aggapi = str(tmp_path / "tool/bin/aggapi")
    work = tmp_path / "work"  # nothing of this checkout on the path: templates from the wheel
    work.mkdir()
    run([aggapi, "init", "widgets", "--group", GROUP], work, 60, env)
    project = work / "widgets"
    assert f"AGGAPI ?= {wheel}\n" in (project / "Makefile").read_text()
    for extra in (["--kind", "Widget", "--short-names", "wd"],
                  ["--kind", "Gadget", "--cluster-scoped"]):
        run([aggapi, "create", "resource", "--group", GROUP, "--version", "v1alpha1", *extra],
            project, 60, env)
    out = run(["make", "test"], project, 900, env)
    assert "4 passed" in out, out[-3000:]
