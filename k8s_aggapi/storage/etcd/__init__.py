"""etcd v3 storage (`--storage etcd`), shipped as the extra `pip install 'k8s-aggapi[etcd]'`.

`EtcdStorage` implements `storage.Storage`; `Compactor` compacts as kube-apiserver does;
`EtcdConfig` holds the `--etcd-*` flags. `EtcdConfig` needs nothing extra (flags parse on
any install); the others load gRPC on first use, and without the extra that raises an
ImportError saying which command installs it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from k8s_aggapi.storage.etcd.config import EtcdConfig
from k8s_aggapi.storage.interface import Unavailable

if TYPE_CHECKING:
    from k8s_aggapi.storage.etcd.client import EtcdClient
    from k8s_aggapi.storage.etcd.compactor import Compactor
    from k8s_aggapi.storage.etcd.storage import EtcdStorage

__all__ = ["Compactor", "EtcdClient", "EtcdConfig", "EtcdStorage", "Unavailable"]


def __getattr__(name: str) -> object:
    """The gRPC-backed names, imported when first asked for (PEP 562)."""
    if name == "EtcdClient":
        from k8s_aggapi.storage.etcd.client import EtcdClient

        return EtcdClient
    if name == "Compactor":
        from k8s_aggapi.storage.etcd.compactor import Compactor

        return Compactor
    if name == "EtcdStorage":
        from k8s_aggapi.storage.etcd.storage import EtcdStorage

        return EtcdStorage
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
