"""e2e tests: a real control plane from `k8s_aggapi.envtest` (fixtures from its pytest plugin).

The fixtures `control_plane`, `namespace` and `kubectl` come from the `k8s_aggapi_envtest`
pytest11 entry point (or `-p k8s_aggapi.envtest.pytest_plugin` when running from a checkout).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import metrics_support as ms
import pytest

from k8s_aggapi.envtest import ControlPlane, StartupError

HERE = Path(__file__).parent
START_ATTEMPTS = 3


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e is an e2e test (`-m "not e2e"` deselects them)."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.e2e)


@contextlib.contextmanager
def started_control_plane(binaries: dict[str, Path]) -> Iterator[ControlPlane]:
    """A control plane, started again when a port it picked was taken meanwhile: its ports
    are free when chosen, and another session (a second pytest-xdist worker, a parallel run)
    can bind one before the process that was given it does."""
    for attempt in range(1, START_ATTEMPTS + 1):
        cp = ControlPlane(binaries=binaries)
        try:
            cp.start()
        except StartupError as e:
            if "address already in use" not in str(e) or attempt == START_ATTEMPTS:
                raise
            continue
        try:
            yield cp
        finally:
            cp.stop()
        return


@pytest.fixture(scope="session")
def control_plane(envtest_binaries: dict[str, Path]) -> Iterator[ControlPlane]:
    """The plugin's control plane, with retries on a port taken meanwhile."""
    with started_control_plane(envtest_binaries) as cp:
        yield cp


@pytest.fixture(scope="module")
def own_control_plane(envtest_binaries: dict[str, Path]) -> Iterator[ControlPlane]:
    """A control plane for one module alone: for tests of cluster-scoped objects that the
    session's control plane holds for other tests (v1beta1.metrics.k8s.io while the metrics
    tests run)."""
    with started_control_plane(envtest_binaries) as cp:
        yield cp


# ---- metrics.k8s.io: the kwok workload and the two servers under test (ours, upstream) ----
# Session-scoped and parametrised: pytest runs every metrics test against one server, stops
# it (unregistering v1beta1.metrics.k8s.io), then runs them all against the other.

@pytest.fixture(scope="session")
def metrics_workload(control_plane: Any) -> tuple[Any, ...]:
    """Two tainted kwok nodes; on the first, pods whose usage is set by annotations."""
    for name in (ms.NODE, ms.HPA_NODE):
        control_plane.apply(ms.tainted_node(name))
    for name in (ms.NODE, ms.HPA_NODE):
        control_plane.kubectl("wait", "--for=condition=Ready", f"node/{name}", "--timeout=60s")
    for ns in (ms.NS_A, ms.NS_B):
        control_plane.kubectl("create", "namespace", ns, check=False)
        control_plane.kubectl("wait", "--for=create", "serviceaccount/default", "-n", ns,
                              "--timeout=60s")
    for w in ms.WORKLOAD:
        control_plane.apply(ms.pod_manifest(w))
    for w in ms.WORKLOAD:
        control_plane.kubectl("wait", "-n", w.namespace, "--for=jsonpath={.status.phase}=Running",
                              f"pod/{w.name}", "--timeout=60s")
    return ms.WORKLOAD


@pytest.fixture(scope="session", params=["ours", "upstream"])
def metrics_server(request: pytest.FixtureRequest, control_plane: Any,
                   metrics_workload: tuple[Any, ...]) -> Iterator[Any]:
    """`ours` (python -m examples.metrics_server) or `upstream` (metrics-server v0.8.0 built
    from the module proxy), registered as v1beta1.metrics.k8s.io, once it serves the whole
    workload (kwok's first scrape of a container says 0 CPU: data comes after 2-3 cycles)."""
    server = ms.start_metrics_server(request.param, control_plane)
    try:
        def complete() -> bool:
            for w in ms.WORKLOAD:
                got = ms.raw(control_plane, f"{ms.BASE}/namespaces/{w.namespace}/pods/{w.name}")
                if sorted(c["name"] for c in got["containers"]) != sorted(w.containers):
                    return False
            return bool(ms.raw(control_plane, f"{ms.BASE}/nodes/{ms.NODE}")["usage"])

        ms.wait_until(f"{request.param} serving the whole workload", complete, timeout=180,
                      interval=2)
        yield ms.MetricsServer(request.param, server)
    finally:
        server.close()
