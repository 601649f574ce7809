"""The etcd backend's pure parts: keys, values, targets, flags (no etcd needed)."""

import pytest

from k8s_aggapi.storage.etcd import EtcdConfig
from k8s_aggapi.storage.etcd.client import _target
from k8s_aggapi.storage.etcd.storage import decode, encode, prefix_end


def test_prefix_end_is_etcd_s():
    assert prefix_end(b"/registry/g/r/") == b"/registry/g/r0"
    assert prefix_end(b"a\xff") == b"b"
    assert prefix_end(b"\xff\xff") == b"\0"


def test_values_are_json_without_the_resource_version():
    obj = {"metadata": {"name": "a", "resourceVersion": "7"}, "spec": {"x": 1}}
    stored = encode(obj)
    assert b"resourceVersion" not in stored
    assert obj["metadata"]["resourceVersion"] == "7"  # the caller's object is untouched
    assert decode(stored, 12) == {"metadata": {"name": "a", "resourceVersion": "12"},
                                  "spec": {"x": 1}}


def test_targets_one_name_or_several_addresses():
    assert _target(["http://etcd.example:2379"]) == ("dns:///etcd.example:2379", "etcd.example")
    assert _target(["https://127.0.0.1:1", "https://127.0.0.1:2"]) == (
        "ipv4:127.0.0.1:1,127.0.0.1:2", "127.0.0.1")
    assert _target(["127.0.0.1"])[0] == "dns:///127.0.0.1:2379"


@pytest.mark.parametrize(("kwargs", "words"), [
    ({"servers": ()}, "at least one"),
    ({"servers": ("http://a:1", "https://b:2")}, "all http"),
    ({"servers": ("ftp://a:1",)}, "all http"),
    ({"certfile": "/c"}, "go together"),
])
def test_bad_configs(kwargs, words):
    with pytest.raises(ValueError, match=words):
        EtcdConfig(**kwargs)


def test_tls_when_https_or_certificates():
    assert not EtcdConfig().tls
    assert EtcdConfig(servers=("https://a:1",)).tls
    assert EtcdConfig(cafile="/ca").tls
