"""`aggapi init` and `aggapi create resource`: the files written, the registration added,
the generated unit tests run (with this interpreter), the conversion stub failing until written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from k8s_aggapi.cli.scaffold import install_source, scaffold_root
from tests.unit.cli.conftest import Run

ROOT = Path(__file__).parents[3]
GROUP = "widgets.example.com"


def generated_pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "not e2e",
         "tests", *args], cwd=project, capture_output=True, text=True, timeout=120,
        env={"PYTHONPATH": str(project), "PATH": "/usr/bin:/bin"})


@pytest.fixture
def project(aggapi: Run, tmp_path: Path) -> Path:
    r = aggapi("init", str(tmp_path / "widgets"), "--group", GROUP)
    assert r.code == 0, r.err
    return tmp_path / "widgets"


def test_init_writes_a_whole_project(project: Path) -> None:
    files = sorted(str(p.relative_to(project)) for p in project.rglob("*") if p.is_file())
    assert files == [".gitignore", "Dockerfile", "Makefile", "README.md", "pyproject.toml",
                     "tests/__init__.py", "tests/e2e/__init__.py", "tests/e2e/test_e2e.py",
                     "tests/test_app.py", "widgets/__init__.py", "widgets/__main__.py",
                     "widgets/apis.py", "widgets/app.py"]
    readme = (project / "README.md").read_text()
    assert "make run " in readme
    assert "make test " in readme
    makefile = (project / "Makefile").read_text()
    assert f"AGGAPI ?= {ROOT}\n" in makefile
    assert "\taggapi" not in makefile and "$(BIN)/aggapi run widgets.app:server --dev" in makefile
    assert "@{" not in "".join(p.read_text() for p in project.rglob("*") if p.is_file())
    assert 'name="widgets-apiserver"' in (project / "widgets" / "app.py").read_text()


def test_a_fresh_project_passes_its_unit_tests(project: Path) -> None:
    result = generated_pytest(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout


def test_two_resources_then_a_second_version(aggapi: Run, project: Path) -> None:
    base = ("create", "resource", "--project", str(project), "--group", GROUP)
    assert aggapi(*base, "--version", "v1alpha1", "--kind", "Widget", "--short-names",
                  "wd").code == 0
    r = aggapi(*base, "--version", "v1alpha1", "--kind", "Policy", "--cluster-scoped")
    assert r.code == 0, r.err
    model = (project / "widgets" / "v1alpha1" / "policy.py").read_text()
    assert 'plural="policies"' in model
    assert "namespaced=False" in model
    assert "short_names=('wd',)" in (project / "widgets" / "v1alpha1" / "widget.py").read_text()
    result = generated_pytest(project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout

    r = aggapi(*base, "--version", "v1", "--kind", "Widget")
    assert r.code == 0, r.err
    assert "write the v1 <-> v1alpha1 conversion" in r.out
    result = generated_pytest(project)
    assert result.returncode == 1
    assert "FAILED tests/test_widget_v1_conversion.py::" in result.stdout
    assert "4 passed" in result.stdout
    (project / "widgets" / "v1" / "widget_conversion.py").write_text(
        "def to_v1alpha1(obj):\n    return {**obj, 'apiVersion': 'widgets.example.com/v1alpha1'}\n"
        "def from_v1alpha1(obj):\n    return {**obj, 'apiVersion': 'widgets.example.com/v1'}\n")
    result = generated_pytest(project)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(("argv", "message"), [
    (("--group", "other.example.com", "--version", "v1", "--kind", "Widget"),
     "this project serves widgets.example.com, not other.example.com"),
    (("--group", GROUP, "--version", "1", "--kind", "Widget"), "is not a Kubernetes version"),
    (("--group", GROUP, "--version", "v1", "--kind", "widget"), "must be CamelCase"),
    (("--group", GROUP, "--version", "v1", "--kind", "W", "--plural", "Ws"),
     "must be lower-case"),
])
def test_create_resource_errors(aggapi: Run, project: Path, argv: tuple[str, ...],
                                message: str) -> None:
    r = aggapi("create", "resource", "--project", str(project), *argv)
    assert r.code == 1
    assert r.err.count("\n") == 1
    assert message in r.err


def test_create_resource_never_overwrites(aggapi: Run, project: Path) -> None:
    args = ("create", "resource", "--project", str(project), "--group", GROUP, "--version",
            "v1", "--kind", "Widget")
    assert aggapi(*args).code == 0
    apis = (project / "widgets" / "apis.py").read_text()
    r = aggapi(*args)
    assert r.code == 1
    assert "Widget already exists in v1" in r.err
    assert (project / "widgets" / "apis.py").read_text() == apis


def test_create_resource_outside_a_project(aggapi: Run, tmp_path: Path) -> None:
    r = aggapi("create", "resource", "--project", str(tmp_path), "--group", GROUP,
               "--version", "v1", "--kind", "Widget")
    assert r.code == 1
    assert "run inside a project made by aggapi init" in r.err


def test_init_refuses_to_overwrite(aggapi: Run, tmp_path: Path) -> None:
    (tmp_path / "keep.txt").write_text("mine")
    r = aggapi("init", str(tmp_path), "--group", GROUP)
    assert r.code == 1
    assert r.err == f"aggapi init: error: {tmp_path} exists and is not empty (aggapi init never overwrites)\n"
    assert [p.name for p in tmp_path.iterdir()] == ["keep.txt"]


@pytest.mark.parametrize(("argv", "message"), [
    (("--group", "widgets"), "is not a DNS subdomain with a dot"),
    (("--group", GROUP, "--module", "class"), "is not a lower-case Python identifier"),
])
def test_init_input_errors(aggapi: Run, tmp_path: Path, argv: tuple[str, ...],
                           message: str) -> None:
    r = aggapi("init", str(tmp_path / "p"), *argv)
    assert r.code == 1
    assert message in r.err
    assert not (tmp_path / "p").exists()


def test_init_records_an_overridden_source(aggapi: Run, tmp_path: Path) -> None:
    r = aggapi("init", str(tmp_path / "p"), "--group", GROUP, "--aggapi-source", "/x/k.whl")
    assert r.code == 0
    assert "AGGAPI ?= /x/k.whl\n" in (tmp_path / "p" / "Makefile").read_text()


def test_this_checkout_is_the_install_source() -> None:
    assert install_source() == str(ROOT)
    assert scaffold_root() == ROOT / "scaffold"


def test_templates_are_only_tpl_files() -> None:
    files = [p for p in (ROOT / "scaffold").rglob("*") if p.is_file()]
    assert files
    assert [p.name for p in files if not p.name.endswith("-tpl")] == ["README.md"]
