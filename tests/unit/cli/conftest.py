"""Running `aggapi` in-process: exit code, stdout and stderr of one command."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from k8s_aggapi.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str


Run = Callable[..., Result]


@pytest.fixture
def aggapi(capsys: pytest.CaptureFixture[str]) -> Run:
    def run(*argv: str) -> Result:
        try:
            code = main(list(argv))
        except SystemExit as e:
            code = int(e.code or 0)
        captured = capsys.readouterr()
        return Result(code, captured.out, captured.err)

    return run
