"""Serving one kind in several versions: one store in the hub, objects in the storage version.

    serve_kind(group, converter, {"v1beta1": ..., "v1alpha1": ...}, backend,
               storage_version="v1alpha1", strategy=...)

The group's versions keep the order they were first named in (the first is preferred), so
name them in preference order before calling this when the hub is not the preferred one.
"""

from __future__ import annotations

from collections.abc import Mapping

from k8s_aggapi.api import APIGroup, Resource, ResourceInfo
from k8s_aggapi.conversion.converter import KindConverter
from k8s_aggapi.conversion.rest import VersionedREST
from k8s_aggapi.conversion.storage import ConvertingStorage
from k8s_aggapi.registry.store import Store
from k8s_aggapi.registry.strategy import Strategy
from k8s_aggapi.storage.interface import Storage


def serve_kind(
    group: APIGroup, converter: KindConverter, infos: Mapping[str, ResourceInfo],
    backend: Storage, *, storage_version: str, strategy: Strategy | None = None,
) -> dict[str, Resource]:
    """The kind's resource in each version of `infos` (a ResourceInfo per version, the hub's
    included); discovery's storageVersionHash names `storage_version` in all of them."""
    if set(infos) != set(converter.served):
        raise ValueError(f"{converter.kind}: infos name {sorted(infos)}, the converter "
                         f"{sorted(converter.served)}")
    storage = ConvertingStorage(backend, converter, storage_version)
    hub = group.version(converter.hub).add_store(
        infos[converter.hub], storage, strategy=strategy, storage_version=storage_version)
    store = hub.rest
    assert isinstance(store, Store)
    resources = {converter.hub: hub}
    for version in converter.versions:
        reader = None
        if version == storage_version:  # reads it as it is kept: no conversion on the way
            reader = Store(infos[version], group.name, version,
                           ConvertingStorage(backend, converter, storage_version, version),
                           encodings=store.encodings)  # the hub's writes forget its entries
        resources[version] = group.version(version).add_rest(
            infos[version], VersionedREST(store, converter, version, reader, infos[version].model),
            storage_version=storage_version)
    return resources
