"""`make cluster` helpers: server specs, and stopping when the parent (`make`) is gone."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from k8s_aggapi.envtest.cluster import parse_server_spec, split_groups
from k8s_aggapi.envtest.lifetime import alive, descendants

# a parent shell whose child asks for SIGTERM when the shell exits, and records that it came
CHILD = """
import signal, sys, time
from pathlib import Path
from k8s_aggapi.envtest.cluster import stop_when_parent_exits
def got(*_):  # written whole, then renamed: the test never reads a half-written marker
    Path(sys.argv[1] + ".tmp").write_text("SIGTERM")
    Path(sys.argv[1] + ".tmp").rename(sys.argv[1])
    sys.exit(0)
signal.signal(signal.SIGTERM, got)
stop_when_parent_exits()
Path(sys.argv[1] + ".armed").touch()
time.sleep(60)
"""


def test_parse_server_spec() -> None:
    assert parse_server_spec("g.example.com/v1,v2=python -m x") == ("g.example.com/v1,v2",
                                                                   "python -m x")
    with pytest.raises(ValueError, match="GROUP/VERSION"):
        parse_server_spec("g.example.com/v1")


def test_split_groups_starts_a_group_at_each_slash() -> None:
    assert split_groups("custom.metrics.k8s.io/v1beta2,v1beta1,external.metrics.k8s.io/v1beta1") == [
        "custom.metrics.k8s.io/v1beta2,v1beta1", "external.metrics.k8s.io/v1beta1"]
    assert split_groups("g.example.com/v1, v2,") == ["g.example.com/v1,v2"]


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux-only")
def test_stop_with_parent_turns_the_parents_sigkill_into_our_sigterm(tmp_path: Path) -> None:
    marker = tmp_path / "got"
    child: set[int] = set()
    shell = subprocess.Popen(["sh", "-c", f'"{sys.executable}" -c "$0" "$1"; exit 0',
                              CHILD, str(marker)], start_new_session=True)
    try:
        deadline = time.monotonic() + 15
        while not Path(f"{marker}.armed").exists():
            assert time.monotonic() < deadline, "child never armed"
            time.sleep(0.05)
        child = descendants(shell.pid)
        os.kill(shell.pid, signal.SIGKILL)
        shell.wait(10)
        while not marker.exists():
            assert time.monotonic() < deadline + 15, "no SIGTERM after the parent died"
            time.sleep(0.05)
        assert marker.read_text() == "SIGTERM"
    finally:
        for pid in [shell.pid, *child]:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while any(alive(p) for p in child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not any(alive(p) for p in child)


def test_make_cluster_registers_every_version_the_sample_serves() -> None:
    """Each version the sample serves needs its APIService, or kube-apiserver never proxies
    it (`kubectl get flunders.v1beta1.wardle.example.com` would be a 404)."""
    import re

    from examples.sample_apiserver.apis import wardle_group

    makefile = (Path(__file__).parents[3] / "Makefile").read_text()
    specs = [parse_server_spec(s) for s in re.findall(r'--server "([^"]+)"', makefile)]
    wardle = [gvs for gvs, _ in specs if gvs.startswith("wardle.example.com/")]
    assert re.search(r"^SAMPLE_CMD := .*examples\.sample_apiserver", makefile, re.M)
    assert len(wardle) == 1, specs
    group, _, versions = wardle[0].partition("/")
    served = wardle_group()
    assert group == served.name
    assert sorted(versions.split(",")) == sorted(v.name for v in served.versions)
