"""`aggapi run MODULE:ATTR`: the server's own flags after the target; any server object."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from k8s_aggapi.api import APIGroup
from k8s_aggapi.application import Application
from k8s_aggapi.cli.base import CLIError
from k8s_aggapi.cli.target import load_application
from tests.unit.cli.conftest import Run

ROOT = Path(__file__).parents[3]


def test_flags_after_the_target_are_the_servers(aggapi: Run) -> None:
    r = aggapi("run", "examples.sample_apiserver.app:server", "--help")
    assert r.code == 0
    assert r.out.startswith("usage: aggapi run examples.sample_apiserver.app:server")
    assert "--requestheader-client-ca-file" in r.out
    assert "--dev" in r.out


def test_a_server_flag_error_is_the_servers(aggapi: Run) -> None:
    r = aggapi("run", "examples.sample_apiserver.app:server", "--secure-port", "nope")
    assert r.code == 2
    assert "argument --secure-port: invalid int value: 'nope'" in r.err


def test_main_module_keeps_its_prog_and_flags() -> None:
    out = subprocess.run([sys.executable, "-m", "examples.sample_apiserver", "--help"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60, check=True).stdout
    assert out.startswith("usage: python -m examples.sample_apiserver")
    assert "--tls-san" in out


def test_targets_may_be_groups_or_factories(monkeypatch: pytest.MonkeyPatch,
                                            tmp_path: Path) -> None:
    (tmp_path / "mygroups.py").write_text(
        "from k8s_aggapi.api import APIGroup\n"
        "group = APIGroup('widgets.example.com')\n"
        "def groups():\n    return [group]\n"
        "nothing = []\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    for spec in ("mygroups:group", "mygroups:groups"):
        app = load_application(spec)
        assert isinstance(app, Application)
        assert app.name == "widgets-apiserver"
        assert [g.name for g in app.groups()] == ["widgets.example.com"]
        assert isinstance(app.groups()[0], APIGroup)
    with pytest.raises(CLIError, match="empty list of API groups"):
        load_application("mygroups:nothing")


def test_the_sample_object_serves_what_main_serves() -> None:
    from examples.sample_apiserver.app import server

    groups = server.groups()
    assert [g.name for g in groups] == ["wardle.example.com"]
    assert groups[0].preferred.name == "v1beta1"
    assert sorted(groups[0].preferred.resources) == ["flunders"]
    assert sorted(groups[0].version("v1alpha1").resources) == ["fischers", "flunders"]
    assert server.groups()[0] is not groups[0]  # fresh storage per server
