from __future__ import annotations

import pytest

from k8s_aggapi.authentication.configmap import (
    AuthenticationLookupError,
    ClusterAuthentication,
    ConfigMapFollower,
    parse_config_map,
)
from k8s_aggapi.authentication.requestheader import RequestHeaderConfig
from k8s_aggapi.kube import KubeError
from tests.unit.authentication.fakecluster import FakeCluster, cm_data, until

KUBEADM = {
    "client-ca-file": "CLIENT",
    "requestheader-client-ca-file": "PROXY",
    "requestheader-allowed-names": '["front-proxy-client"]',
    "requestheader-extra-headers-prefix": '["X-Remote-Extra-"]',
    "requestheader-group-headers": '["X-Remote-Group"]',
    "requestheader-username-headers": '["X-Remote-User"]',
}


def test_parse_reads_json_arrays() -> None:
    parsed = parse_config_map(KUBEADM)
    assert parsed == ClusterAuthentication(
        b"CLIENT", b"PROXY",
        RequestHeaderConfig(("X-Remote-User",), ("X-Remote-Group",), ("X-Remote-Extra-",), (),
                            ("front-proxy-client",)),
    )


def test_missing_keys_are_empty() -> None:
    assert parse_config_map(None) == ClusterAuthentication()
    assert parse_config_map({}).requestheader.username_headers == ()


@pytest.mark.parametrize("value", ["X-Remote-User", "[1]", '{"a": 1}'])
def test_header_lists_must_be_json_string_arrays(value: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        parse_config_map({"requestheader-username-headers": value})


class Recorder:
    def __init__(self) -> None:
        self.applied: list[ClusterAuthentication] = []
        self.sleeps: list[float] = []

    def __call__(self, cluster: ClusterAuthentication) -> None:
        self.applied.append(cluster)

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)


def follower(kube: FakeCluster, rec: Recorder) -> ConfigMapFollower:
    return ConfigMapFollower(kube, rec, retry_delay=0.5, sleep=rec.sleep)


async def test_start_reads_once_then_follows_updates() -> None:
    kube, rec = FakeCluster(cm_data(b"CA1", username_headers=["X-Remote-User"])), Recorder()
    f = follower(kube, rec)
    await f.start()
    assert [a.client_ca for a in rec.applied] == [b"CA1"]

    kube.modify(cm_data(b"CA2", username_headers=["X-Who"]), rv="11")
    await until(lambda: len(rec.applied) == 2)
    assert rec.applied[-1].client_ca == b"CA2"
    assert rec.applied[-1].requestheader.username_headers == ("X-Who",)
    assert kube.watched_from == ["10"]
    await f.stop()


async def test_bookmarks_and_deletes_do_not_apply_but_move_the_version() -> None:
    kube, rec = FakeCluster(cm_data(b"CA1")), Recorder()
    f = follower(kube, rec)
    await f.start()
    kube.events.put_nowait({"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "12"}}})
    kube.events.put_nowait({"type": "DELETED", "object": {"metadata": {"resourceVersion": "13"}}})
    kube.events.put_nowait(None)  # the server ends the watch: watch again from the last version
    await until(lambda: len(kube.watched_from) == 2)
    assert kube.watched_from == ["10", "13"]
    assert len(rec.applied) == 1
    await f.stop()


async def test_gone_relists_at_once_and_other_errors_back_off() -> None:
    kube, rec = FakeCluster(cm_data(b"CA1")), Recorder()
    f = follower(kube, rec)
    await f.start()
    kube.obj, kube.list_rv = None, "20"
    kube.events.put_nowait(KubeError(410, "too old resource version", "Expired"))
    await until(lambda: kube.lists == 2 and len(kube.watched_from) == 2)
    assert kube.watched_from[-1] == "20"
    assert rec.sleeps == []
    assert rec.applied[-1] == ClusterAuthentication()  # the ConfigMap was gone at relist

    kube.events.put_nowait(KubeError(0, "connection reset"))
    kube.events.put_nowait(KubeError(500, "boom"))
    await until(lambda: len(kube.watched_from) == 4)
    assert len(rec.sleeps) == 2
    assert rec.sleeps[1] > rec.sleeps[0] >= 0.5
    await f.stop()


async def test_forbidden_at_start_fails_with_the_rolebinding_hint() -> None:
    kube, rec = FakeCluster(cm_data(b"CA1")), Recorder()
    kube.list_errors = [KubeError(403, 'configmaps "extension-apiserver-authentication" is '
                                       'forbidden', "Forbidden")]
    with pytest.raises(AuthenticationLookupError) as info:
        await follower(kube, rec).start()
    assert str(info.value).startswith(
        "Unable to get configmap/extension-apiserver-authentication in kube-system.  Usually "
        "fixed by 'kubectl create rolebinding -n kube-system ROLEBINDING_NAME "
        "--role=extension-apiserver-authentication-reader --serviceaccount=YOUR_NS:YOUR_SA'"
    )
    assert rec.applied == []


async def test_tolerated_failure_keeps_trying_in_the_background() -> None:
    kube, rec = FakeCluster(cm_data(b"CA1")), Recorder()
    kube.list_errors = [KubeError(0, "connection refused"), KubeError(0, "connection refused")]
    f = follower(kube, rec)
    await f.start(tolerate_failure=True)
    assert rec.applied == []
    await until(lambda: len(rec.applied) == 1)
    assert rec.applied[0].client_ca == b"CA1"
    assert len(rec.sleeps) == 1
    await f.stop()


async def test_bad_content_is_ignored() -> None:
    kube, rec = FakeCluster(cm_data(b"CA1")), Recorder()
    f = follower(kube, rec)
    await f.start()
    kube.modify({"requestheader-username-headers": "not json"}, rv="11")
    kube.modify(cm_data(b"CA3"), rv="12")
    await until(lambda: len(rec.applied) == 2)
    assert [a.client_ca for a in rec.applied] == [b"CA1", b"CA3"]
    await f.stop()
