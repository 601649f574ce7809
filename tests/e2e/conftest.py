"""e2e tests: a real control plane from `k8s_aggapi.envtest` (fixtures from its pytest plugin).

The fixtures `control_plane`, `namespace` and `kubectl` come from the `k8s_aggapi_envtest`
pytest11 entry point (or `-p k8s_aggapi.envtest.pytest_plugin` when running from a checkout).
"""

from __future__ import annotations

from pathlib import Path

import pytest

HERE = Path(__file__).parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test under tests/e2e is an e2e test (`-m "not e2e"` deselects them)."""
    for item in items:
        if HERE in item.path.parents:
            item.add_marker(pytest.mark.e2e)
