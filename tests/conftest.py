"""How `make test` spreads the suite over pytest-xdist workers (`-n 2 --dist loadgroup`).

Each worker has its own session: its own control plane, its own dev servers. Tests that share
an expensive module- or session-scoped fixture get one `xdist_group`, so that fixture starts
once, on one worker: a module with a module-scoped server is one group (one per parameter of
a parametrised one), the metrics tests are one group per server under test
(`metrics_server:ours`, `:upstream`), the attack tests on the shared dev server one group.
Everything else (unit tests, e2e tests that need only the control plane) is scheduled test by
test. The controller hands out the heaviest groups first (`Scheduler`): seconds measured by
the previous run (pytest's cache) where known, else a guess by directory. Plain `pytest`
(unit tests, serial) only pays for the marking hook, which returns at once.
"""

from __future__ import annotations

from collections import OrderedDict
from pathlib import Path
from typing import Any

import pytest

HERE = Path(__file__).parent
UNIT = HERE / "unit"
DURATIONS_KEY = "k8s-aggapi/durations"
# fixtures of tests/ each worker may set up for itself (cheap, or what the groups run on);
# those of plugins (tmp_path_factory, event_loop_policy, envtest_binaries) are too
PER_WORKER = {"control_plane", "metrics_workload", "kubectl_bin"}
# a guess of one test's seconds (setup included) where the cache has none, by directory
GUESS = {"e2e": 12.0, "integration": 3.0, "attack": 1.0}
GROUP_SETUP_GUESS = {"e2e": 20.0, "integration": 3.0, "attack": 3.0}
# tests known to take minutes (wheel, venvs, a cluster of their own), seconds measured on a
# loaded 2-core machine: handed out first even without a cache
SLOW_GUESS = {"tests/e2e/test_cli_scaffold.py": 400.0, "tests/e2e/test_tutorial.py": 300.0,
              "tests/e2e/test_metrics_cluster.py": 60.0, "tests/e2e/test_process_lifetime.py": 30.0}


def _group(item: pytest.Item) -> str | None:
    """The xdist group of a test outside tests/unit, or None to schedule it alone."""
    callspec = getattr(item, "callspec", None)
    params: dict[str, Any] = dict(callspec.params) if callspec is not None else {}
    if "metrics_server" in params:  # the session-scoped, parametrised one of tests/e2e
        return f"e2e/metrics_server:{params['metrics_server']}"
    fixturenames = getattr(item, "fixturenames", ())
    if "dev_server" in fixturenames and HERE / "attack" in item.path.parents:
        return "attack/dev_server"
    defs = getattr(getattr(item, "_fixtureinfo", None), "name2fixturedefs", {})
    shared = [name for name in fixturenames if name not in PER_WORKER and name in defs
              and defs[name][-1].scope in ("module", "session") and defs[name][-1].baseid]
    if not shared:
        return None
    module = item.path.relative_to(HERE).as_posix()
    module_params = [f"{name}={params[name]}" for name in sorted(params)
                     if name in defs and defs[name][-1].scope == "module"]
    # no "]" at the end: xdist reads a node id ending in "]" as having no group
    return module + (f":{','.join(module_params)}" if module_params else "")


@pytest.hookimpl(tryfirst=True)  # before xdist appends the group to each node id
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not hasattr(config, "workerinput"):  # only a worker's node ids carry the groups
        return
    for item in items:
        if UNIT not in item.path.parents and (group := _group(item)) is not None:
            item.add_marker(pytest.mark.xdist_group(group))


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput") and config.getoption("dist", "no") != "no":
        # the controller prints the attack counts its workers send (tests/attack/summary.py)
        from tests.attack import summary

        summary.register(config)
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(Durations(config), "k8s-aggapi-durations")


class Durations:
    """Seconds per test (setup, call, teardown), kept in pytest's cache for the scheduler."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.seconds: dict[str, float] = {}
        self.failed: set[str] = set()  # an error's seconds say nothing of the next run's

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        nodeid = _plain(report.nodeid)
        self.seconds[nodeid] = self.seconds.get(nodeid, 0.0) + report.duration
        if report.failed:
            self.failed.add(nodeid)

    def pytest_sessionfinish(self) -> None:
        cache = getattr(self.config, "cache", None)  # None under -p no:cacheprovider
        if cache is None or not self.seconds:
            return
        known: dict[str, float] = cache.get(DURATIONS_KEY, {})
        known.update({k: round(v, 3) for k, v in self.seconds.items() if k not in self.failed})
        cache.set(DURATIONS_KEY, known)


def _plain(nodeid: str) -> str:
    """A node id without the `@group` suffix loadgroup gives it."""
    return nodeid.split("@")[0] if nodeid.rfind("@") > nodeid.rfind("]") else nodeid


def _guess(nodeid: str) -> float:
    if (slow := SLOW_GUESS.get(nodeid.split("::", 1)[0])) is not None:
        return slow
    top = nodeid.removeprefix("tests/").split("/", 1)[0]
    return GUESS.get(top, 0.02)


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getoption("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    cache = getattr(config, "cache", None)
    known: dict[str, float] = cache.get(DURATIONS_KEY, {}) if cache is not None else {}

    class Scheduler(LoadGroupScheduling):
        """loadgroup, handing out work units longest first instead of largest first."""

        ordered = False

        def weight(self, scope: str, nodeids: dict[str, bool]) -> float:
            guessed = [_guess(_plain(n)) for n in nodeids if _plain(n) not in known]
            total = sum(known.get(_plain(n), 0.0) for n in nodeids) + sum(guessed)
            if guessed and scope not in nodeids:  # a group whose setup was not measured
                total += GROUP_SETUP_GUESS.get(scope.split("/", 1)[0], 0.0)
            return total

        def _assign_work_unit(self, node: Any) -> None:
            if not self.ordered:
                self.ordered = True
                self.workqueue = OrderedDict(sorted(
                    self.workqueue.items(), key=lambda kv: -self.weight(*kv)))
            super()._assign_work_unit(node)

    return Scheduler(config, log)
