"""The running server is an object of its own; the completed config it runs stays a value."""

from __future__ import annotations

import dataclasses

import pytest
from starlette.testclient import TestClient

from k8s_aggapi.config import CompletedConfig
from k8s_aggapi.health import HealthChecks
from k8s_aggapi.metrics import ServerMetrics
from k8s_aggapi.running import RunningServer
from k8s_aggapi.server import build_app
from k8s_aggapi.testing import FakeAuthorizer, StaticAuthenticator


class Component:
    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log

    async def start(self) -> None:
        self.log.append(f"start {self.name}")

    async def stop(self) -> None:
        self.log.append(f"stop {self.name}")


def _config(log: list[str]) -> CompletedConfig:
    async def hook() -> None:
        log.append("post-start hook")

    return CompletedConfig(
        groups=(), serving=None, authenticator=StaticAuthenticator(None),
        authorizer=FakeAuthorizer(), health=HealthChecks(), metrics=ServerMetrics(),
        components=(Component("a", log), Component("b", log)), post_start_hooks=(hook,),
    )


def test_the_completed_config_is_frozen_and_holds_no_state() -> None:
    config = _config([])
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.title = "x"  # type: ignore[misc]
    assert not any(f.name.startswith("_") for f in dataclasses.fields(config))


async def test_start_then_hooks_then_stop_in_reverse() -> None:
    log: list[str] = []
    running = RunningServer(_config(log))
    await running.start()
    assert running.started
    await running.stop()
    assert log == ["start a", "start b", "post-start hook", "stop b", "stop a"]
    assert running.tasks == {}


def test_the_apps_lifespan_runs_the_server() -> None:
    log: list[str] = []
    config = _config(log)
    running = RunningServer(config)
    with TestClient(build_app(config, running)):
        assert running.started
    assert log[-2:] == ["stop b", "stop a"]
    assert not running.started


async def test_serve_needs_serving() -> None:
    with pytest.raises(ValueError, match="serving"):
        await RunningServer(_config([])).serve(object())
