"""Every command has --help with examples; usage errors are one line with exit 2."""

from __future__ import annotations

import pytest

from tests.unit.cli.conftest import Run

COMMANDS = [("init",), ("create", "resource"), ("run",), ("certs",), ("manifests",)]


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_has_examples(aggapi: Run, command: tuple[str, ...]) -> None:
    r = aggapi(*command, "--help")
    assert r.code == 0
    assert "examples:\n  aggapi " in r.out
    assert f"usage: aggapi {' '.join(command)}" in r.out


def test_top_level_help_lists_every_command(aggapi: Run) -> None:
    r = aggapi("--help")
    assert r.code == 0
    for name in ("init", "create", "run", "certs", "manifests"):
        assert f"    {name}" in r.out


@pytest.mark.parametrize(("argv", "message"), [
    ((), "aggapi: error: the following arguments are required: COMMAND"),
    (("certs", "--namespace", "n"), "aggapi certs: error: the following arguments are "
                                    "required: --service"),
    (("manifests", "a:b", "--namespace", "n", "--image", "i"),
     "aggapi manifests: error: one of the arguments --ca-bundle --insecure-skip-tls-verify "
     "is required"),
    (("nope",), "aggapi: error: argument COMMAND: invalid choice: 'nope'"),
])
def test_usage_errors_are_one_line(aggapi: Run, argv: tuple[str, ...], message: str) -> None:
    r = aggapi(*argv)
    assert r.code == 2
    assert r.err.count("\n") == 1
    assert r.err.startswith(message)
    assert "--help)" in r.err


def test_the_console_script_runs() -> None:
    import subprocess
    import sys
    from pathlib import Path

    script = Path(sys.executable).parent / "aggapi"
    res = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith("usage: aggapi")
    res = subprocess.run([str(script), "create"], capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    assert res.stderr == ("aggapi create: error: the following arguments are required: WHAT "
                          "(see aggapi create --help)\n")
