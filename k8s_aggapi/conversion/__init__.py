"""Conversion: the versions of a kind through one hub, objects kept in the storage version.

    converter.py    KindConverter: a hub version and, per other version, to_hub / from_hub
    storage.py      ConvertingStorage: a backend that keeps objects in the storage version
    rest.py         VersionedREST: a version served from the hub's store
    declare.py      serve_kind(): the three put together for one kind

See docs/versions.md.
"""

from k8s_aggapi.conversion.converter import KindConverter, VersionConversion
from k8s_aggapi.conversion.declare import serve_kind
from k8s_aggapi.conversion.rest import VersionedREST
from k8s_aggapi.conversion.storage import ConvertingStorage

__all__ = ["ConvertingStorage", "KindConverter", "VersionConversion", "VersionedREST",
           "serve_kind"]
