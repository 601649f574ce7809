"""The wardle.example.com API group, declared once and handed to the server.

Flunder is served in v1beta1 (preferred, and the hub the store works in) and v1alpha1, kept
in v1alpha1 (upstream's storage version); Fischer in v1alpha1 only.
"""

from __future__ import annotations

from collections.abc import Sequence

from examples.sample_apiserver import v1alpha1, v1beta1
from examples.sample_apiserver.admission import BanFlunder
from examples.sample_apiserver.conversion import FLUNDERS
from examples.sample_apiserver.strategy import FlunderStrategy
from k8s_aggapi.admission import Plugin
from k8s_aggapi.api import APIGroup, ResourceInfo
from k8s_aggapi.conversion import serve_kind
from k8s_aggapi.registry.info import Deprecation
from k8s_aggapi.storage import MemoryStorage, Storage

GROUP = "wardle.example.com"
STORAGE_VERSION = "v1alpha1"


# upstream's v1alpha1 types: +k8s:prerelease-lifecycle-gen introduced=1.0, deprecated 1.3
# (the generator's default), removed=1.10; served all the same, with a Warning
V1ALPHA1 = Deprecation(deprecated=(1, 3), removed=(1, 10))


def flunder_info(
    model: type[v1alpha1.Flunder] | type[v1beta1.Flunder], deprecation: Deprecation | None = None
) -> ResourceInfo:
    return ResourceInfo(kind="Flunder", plural="flunders", model=model, namespaced=True,
                        deprecation=deprecation)


def wardle_group(storage: Storage | None = None) -> APIGroup:
    backend = storage or MemoryStorage()
    group = APIGroup(GROUP)
    group.version("v1beta1")  # preferred
    serve_kind(group, FLUNDERS, {"v1beta1": flunder_info(v1beta1.Flunder),
                                 "v1alpha1": flunder_info(v1alpha1.Flunder, V1ALPHA1)},
               backend, storage_version=STORAGE_VERSION, strategy=FlunderStrategy())
    group.version("v1alpha1").add_store(
        ResourceInfo(kind="Fischer", plural="fischers", model=v1alpha1.Fischer, namespaced=False,
                     deprecation=V1ALPHA1),
        backend,
    )
    return group


def wardle_admission(groups: Sequence[APIGroup]) -> list[Plugin]:
    """The sample's own admission plugins (upstream appends BanFlunder to the default ones)."""
    wardle = next(g for g in groups if g.name == GROUP)
    fischers = wardle.resource("v1alpha1", "fischers")
    assert fischers is not None
    assert fischers.capabilities.lister is not None
    return [BanFlunder(fischers.capabilities.lister)]
