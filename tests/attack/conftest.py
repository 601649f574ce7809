"""The attack suite's fixtures: the sample in dev mode over real TLS (one per session), a
health check after every test, and the counts printed at the end of the run (`make test`).

Every test here is marked `attack` (`-m "not attack"` deselects them); plain `pytest` runs
only tests/unit.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.attack import summary
from tests.attack.oracle import COUNTS
from tests.attack.server import RSSSampler, SampleServer

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.attack)


def pytest_configure(config: pytest.Config) -> None:
    summary.register(config)


@pytest.fixture(scope="session")
def dev_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SampleServer]:
    directory = tmp_path_factory.mktemp("attack-dev")
    server = SampleServer(directory, ["--dev", f"--cert-dir={directory}"],
                          ca=directory / "serving-ca.crt")
    try:
        server.start()
        with RSSSampler(lambda: server.pid, interval=0.05) as sampler:
            yield server
        COUNTS.peak_rss_mib = max(COUNTS.peak_rss_mib, sampler.peak / 1024)
        if sampler.killed:
            COUNTS.note(f"server SIGKILLed {sampler.killed}x: RSS over baseline + 512 MiB")
    finally:
        server.stop()


def check_health(server: SampleServer, what: str) -> str:
    """'' when the server is alive and ready; else count a crash, restart it, say why."""
    if server.alive() and server.ready():
        return ""
    COUNTS.crashes += 1
    state = "exited" if not server.alive() else "alive but /readyz does not answer 200"
    COUNTS.note(f"{what}: server {state}")
    log = server.tail()
    server.stop()
    server.start()
    return f"server {state} after {what}:\n{log}"


@pytest.fixture(autouse=True)
def _server_survives(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "dev_server" in request.fixturenames:
        server: SampleServer = request.getfixturevalue("dev_server")
        if problem := check_health(server, request.node.nodeid):
            pytest.fail(problem)
