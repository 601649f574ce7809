"""The wardle.example.com API group, declared once and handed to the server."""

from __future__ import annotations

from examples.sample_apiserver import v1alpha1
from examples.sample_apiserver.strategy import FlunderStrategy
from k8s_aggapi.api import APIGroup, ResourceInfo
from k8s_aggapi.storage import MemoryStorage, Storage

GROUP = "wardle.example.com"


def wardle_group(storage: Storage | None = None) -> APIGroup:
    backend = storage or MemoryStorage()
    group = APIGroup(GROUP)
    version = group.version("v1alpha1")
    version.add_store(
        ResourceInfo(kind="Flunder", plural="flunders", model=v1alpha1.Flunder, namespaced=True),
        backend, strategy=FlunderStrategy(),
    )
    version.add_store(
        ResourceInfo(kind="Fischer", plural="fischers", model=v1alpha1.Fischer, namespaced=False),
        backend,
    )
    return group
