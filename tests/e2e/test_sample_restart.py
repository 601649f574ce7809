"""Availability follows the server: stopped, kube-apiserver marks its APIService unavailable;
started again, it is served. The test runs its own sample, so it depends on no other test's
server or order (each e2e module's server is module-scoped, so two never overlap)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from k8s_aggapi.envtest.aggregated import AggregatedServer, start_aggregated_server
from k8s_aggapi.envtest.controlplane import ControlPlane
from tests.e2e.test_sample_apiserver import GV, eventually

pytestmark = pytest.mark.e2e


@pytest.fixture
def own_wardle(control_plane: ControlPlane) -> Iterator[AggregatedServer]:
    server = start_aggregated_server(
        "python -m examples.sample_apiserver", "wardle.example.com/v1alpha1,v1beta1",
        control_plane=control_plane, timeout=90,
    )
    with server:
        yield server


def test_server_restart_flips_availability(own_wardle: AggregatedServer, kubectl: Any) -> None:
    own_wardle.stop()

    def unavailable() -> str:
        status = json.loads(kubectl("get", "apiservice", "v1alpha1.wardle.example.com",
                                    "-o", "json").stdout)["status"]
        cond = next(c for c in status["conditions"] if c["type"] == "Available")
        return str(cond["reason"]) if cond["status"] == "False" else ""

    reason = eventually(unavailable, 90, 2)
    assert reason in ("FailedDiscoveryCheck", "ServiceNotFound", "MissingEndpoints")
    own_wardle.start(timeout=90)
    eventually(lambda: kubectl("get", "--raw", GV, check=False).returncode == 0, 90, 2)
