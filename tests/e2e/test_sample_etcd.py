"""The sample with `--storage etcd` on the control plane's own etcd, under its own prefix (as
`make cluster` runs it), through kube-apiserver and kubectl; the stored keys and values are
read back from etcd itself: upstream's layout, readable JSON."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Iterator

import orjson
import pytest

from k8s_aggapi.envtest.aggregated import AggregatedServer, start_aggregated_server
from k8s_aggapi.envtest.controlplane import ControlPlane
from k8s_aggapi.storage.etcd import EtcdConfig
from k8s_aggapi.storage.etcd.client import EtcdClient
from k8s_aggapi.storage.etcd.storage import prefix_end

pytestmark = pytest.mark.e2e
PREFIX = f"/wardle-{uuid.uuid4().hex[:6]}"


@pytest.fixture(scope="module")
def wardle_on_etcd(control_plane: ControlPlane) -> Iterator[AggregatedServer]:
    server = start_aggregated_server(
        f"python -m examples.sample_apiserver --storage=etcd "
        f"--etcd-servers={control_plane.etcd_url} --etcd-prefix={PREFIX}",
        "wardle.example.com/v1alpha1", control_plane=control_plane, timeout=90)
    with server:
        yield server


async def _etcd_keys(url: str) -> dict[str, dict]:
    client = EtcdClient(EtcdConfig(servers=(url,)))
    try:
        response = await client.range(PREFIX.encode(), prefix_end(PREFIX.encode()))
        return {kv.key.decode(): orjson.loads(kv.value) for kv in response.kvs}
    finally:
        await client.close()


def test_kubectl_on_the_sample_on_etcd_and_the_keys_in_etcd(
        wardle_on_etcd: AggregatedServer, control_plane: ControlPlane, namespace: str) -> None:
    flunder = {"apiVersion": "wardle.example.com/v1alpha1", "kind": "Flunder",
               "metadata": {"name": "stored", "namespace": namespace},
               "spec": {"reference": "other"}}
    control_plane.kubectl("create", "-f", "-", input=json.dumps(flunder))
    got = json.loads(control_plane.kubectl(
        "get", "flunders.wardle.example.com", "stored", "-n", namespace, "-o", "json").stdout)
    keys = asyncio.run(_etcd_keys(control_plane.etcd_url))
    key = f"{PREFIX}/wardle.example.com/flunders/{namespace}/stored"
    assert key in keys, sorted(keys)
    stored = keys[key]
    assert stored["metadata"]["uid"] == got["metadata"]["uid"]
    assert "resourceVersion" not in stored["metadata"]  # the mod revision says it
    assert got["metadata"]["resourceVersion"].isdigit()
    # kube-apiserver's own objects stay under /registry, ours under our prefix only
    assert all(k.startswith(PREFIX + "/") for k in keys)
    out = control_plane.kubectl("get", "--raw", "/apis/wardle.example.com/v1alpha1/"
                                f"namespaces/{namespace}/flunders?resourceVersion=0").stdout
    assert [o["metadata"]["name"] for o in json.loads(out)["items"]] == ["stored"]
    control_plane.kubectl("delete", "flunders.wardle.example.com", "stored", "-n", namespace)
    assert key not in asyncio.run(_etcd_keys(control_plane.etcd_url))
