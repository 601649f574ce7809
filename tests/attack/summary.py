"""The attack counts at the end of a pytest run, registered once as a plugin by
tests/attack/conftest.py and by the e2e attack tests (whichever runs)."""

from __future__ import annotations

import pytest

from tests.attack.oracle import COUNTS

NAME = "attack-summary"


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if not COUNTS.requests:
        return
    terminalreporter.section("attack suite")
    terminalreporter.write_line(COUNTS.summary())
    for problem in COUNTS.problems[:40]:
        terminalreporter.write_line(f"  {problem[:300]}")


def register(config: pytest.Config) -> None:
    if not config.pluginmanager.has_plugin(NAME):
        import tests.attack.summary as plugin

        config.pluginmanager.register(plugin, NAME)
