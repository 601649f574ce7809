"""`--storage` and the etcd flags -> the storage a server runs on, its checks and lifecycle."""

import pytest

from examples.sample_apiserver.apis import wardle_group
from k8s_aggapi.options import config_from_args
from k8s_aggapi.storage import MemoryStorage
from k8s_aggapi.storage.backend import StorageOptions, build_storage
from k8s_aggapi.storage.cacher import Cacher
from k8s_aggapi.storage.etcd import EtcdConfig, EtcdStorage


def _storage_of(config):
    resource = config.groups[0].preferred.resources["flunders"]
    return resource.rest.backend


def _config(*flags):
    return config_from_args([], ["--dev", *flags],
                            storage_groups=lambda storage: [wardle_group(storage)])


def test_memory_behind_the_watch_cache_by_default():
    config = _config()
    backend = _storage_of(config)
    assert isinstance(backend, Cacher)
    assert isinstance(backend.backend, MemoryStorage)
    assert "etcd" not in config.health.checks("readyz")
    assert not isinstance(_storage_of(_config("--watch-cache=false")), Cacher)


def test_etcd_flags_with_upstream_names():
    config = _config("--storage=etcd", "--etcd-servers=https://10.0.0.1:2379,https://10.0.0.2:2379",
                     "--etcd-prefix=/wardle", "--etcd-cafile=/ca", "--etcd-certfile=/c",
                     "--etcd-keyfile=/k", "--etcd-compaction-interval=1m30s")
    backend = _storage_of(config)
    assert isinstance(backend, Cacher)
    etcd = backend.backend
    assert isinstance(etcd, EtcdStorage)
    assert etcd.config == EtcdConfig(
        servers=("https://10.0.0.1:2379", "https://10.0.0.2:2379"), prefix="/wardle",
        cafile="/ca", certfile="/c", keyfile="/k", compaction_interval=90.0)
    for endpoint in ("healthz", "livez", "readyz"):
        assert "etcd" in config.health.checks(endpoint)
    assert "etcd-readiness" in config.health.checks("readyz")
    assert "etcd-readiness" not in config.health.checks("livez")
    assert len(config.components) == 1


@pytest.mark.parametrize("flags", [
    ["--storage=etcd", "--etcd-servers=http://a:1,https://b:2"],
    ["--storage=etcd", "--etcd-certfile=/c"],
    ["--storage=disk"],
])
def test_bad_storage_flags_stop_the_server(flags):
    with pytest.raises(SystemExit):
        _config(*flags)


def test_a_server_without_storage_groups_has_no_storage_flag():
    with pytest.raises(SystemExit):
        config_from_args([], ["--dev", "--storage=etcd"])


def test_storage_options_check_the_backend_name():
    with pytest.raises(ValueError, match="--storage"):
        StorageOptions(backend="disk")
    assert isinstance(build_storage(StorageOptions(watch_cache=False)).storage, MemoryStorage)
