"""pytest fixtures for e2e tests against a real control plane (entry point `k8s_aggapi_envtest`).

`envtest_binaries` and `control_plane` (session), `namespace` and `kubectl` (function). Nothing
starts unless a test asks; without binaries and Go they skip, or fail under `CI` /
`AGGAPI_E2E_REQUIRED=1`.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from k8s_aggapi.envtest.controlplane import ControlPlane

REQUIRED_ENV = "AGGAPI_E2E_REQUIRED"
Kubectl = Callable[..., "subprocess.CompletedProcess[str]"]


def e2e_required() -> bool:
    """True on CI (`CI` set, not false/0) or with `AGGAPI_E2E_REQUIRED=1`."""
    ci = os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")
    return ci or os.environ.get(REQUIRED_ENV, "") == "1"


def _unsuspended_output(request: pytest.FixtureRequest) -> contextlib.AbstractContextManager[Any]:
    """Let the build's progress lines reach the terminal while pytest captures output."""
    capture = request.config.pluginmanager.getplugin("capturemanager")
    if capture is None:
        return contextlib.nullcontext()
    return capture.global_and_fixture_disabled()  # type: ignore[no-any-return]


@pytest.fixture(scope="session")
def envtest_binaries(request: pytest.FixtureRequest) -> dict[str, Path]:
    """Every envtest binary (name -> path), built on first use."""
    from k8s_aggapi.envtest.binaries import BinariesUnavailable, ensure_binaries

    try:
        with _unsuspended_output(request):
            return ensure_binaries()
    except BinariesUnavailable as e:
        if e2e_required():
            pytest.fail(f"{e} ({REQUIRED_ENV}=1 or CI is set, so this is an error)")
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def prometheus_binary(request: pytest.FixtureRequest) -> Path:
    """Debian's `prometheus` (with `promtool`), installed with apt-get on first use."""
    from k8s_aggapi.envtest.prometheus import PrometheusUnavailable, ensure_prometheus

    try:
        with _unsuspended_output(request):
            ensure_prometheus("promtool")
            return ensure_prometheus()
    except PrometheusUnavailable as e:
        if e2e_required():
            pytest.fail(f"{e} ({REQUIRED_ENV}=1 or CI is set, so this is an error)")
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def control_plane(envtest_binaries: dict[str, Path]) -> Iterator[ControlPlane]:
    """A control plane shared by the session (etcd, apiserver, KCM, scheduler, kwok node)."""
    from k8s_aggapi.envtest.controlplane import ControlPlane

    with ControlPlane(binaries=envtest_binaries) as cp:
        yield cp


@pytest.fixture
def namespace(control_plane: ControlPlane) -> Iterator[str]:
    """A fresh namespace (with its default ServiceAccount) for one test, deleted afterwards."""
    name = f"test-{uuid.uuid4().hex[:8]}"
    control_plane.kubectl("create", "namespace", name)
    # pods are admitted only once KCM has created the namespace's default ServiceAccount
    control_plane.kubectl("wait", "--for=create", "serviceaccount/default", "-n", name,
                          "--timeout=60s")
    yield name
    control_plane.kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture
def kubectl(control_plane: ControlPlane) -> Kubectl:
    """`kubectl("get", "pods", user=None, check=True)` -> CompletedProcess (text)."""
    return control_plane.kubectl
