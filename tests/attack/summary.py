"""The attack counts at the end of a pytest run, registered once as a plugin by
tests/attack/conftest.py and by the e2e attack tests (whichever runs), and under pytest-xdist
by tests/conftest.py in the controller: each worker sends its counts with its
`workeroutput`, the controller sums them and prints one "attack suite" section."""

from __future__ import annotations

import dataclasses
from typing import Any

import pytest

from tests.attack.oracle import COUNTS, Counts

NAME = "attack-summary"
OUTPUT_KEY = "attack-counts"


def merge(into: Counts, part: dict[str, Any]) -> None:
    """Add one worker's counts: counters sum, peaks are the highest, problems append."""
    for f in dataclasses.fields(Counts):
        value = part.get(f.name)
        if value is None:
            continue
        if f.name == "problems":
            for problem in value:
                into.note(problem)
        elif f.name in ("peak_rss_mib", "rss_growth_mib"):
            setattr(into, f.name, max(getattr(into, f.name), value))
        else:
            setattr(into, f.name, getattr(into, f.name) + value)


def pytest_sessionfinish(session: pytest.Session) -> None:
    output = getattr(session.config, "workeroutput", None)
    if output is not None and COUNTS.requests:  # an xdist worker: hand the counts over
        output[OUTPUT_KEY] = dataclasses.asdict(COUNTS)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    part = getattr(node, "workeroutput", {}).get(OUTPUT_KEY)
    if part:
        merge(COUNTS, part)


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
