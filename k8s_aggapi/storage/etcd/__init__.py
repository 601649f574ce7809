"""etcd v3 storage (`--storage etcd`), shipped as the extra `pip install 'k8s-aggapi[etcd]'`.

`EtcdStorage` implements `storage.Storage`; `Compactor` compacts as kube-apiserver does;
`EtcdConfig` holds the `--etcd-*` flags. Importing this package without the extra raises an
ImportError that says which command installs it.
"""

from k8s_aggapi.storage.etcd.client import EtcdClient
from k8s_aggapi.storage.etcd.compactor import Compactor
from k8s_aggapi.storage.etcd.config import EtcdConfig
from k8s_aggapi.storage.etcd.storage import EtcdStorage
from k8s_aggapi.storage.interface import Unavailable

__all__ = ["Compactor", "EtcdClient", "EtcdConfig", "EtcdStorage", "Unavailable"]
