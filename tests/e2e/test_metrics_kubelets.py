"""Kubelets that misbehave, for ours and for upstream metrics-server v0.8.0: one hangs past
`--kubelet-request-timeout`, one answers garbage, one answers well and then disappears. The
others are still served and the server keeps running.

Where ours differs on purpose: upstream forgets a node after one failed scrape; ours keeps a
node's last good metrics for a grace period (docs/metrics-server.md).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from metrics_support import (
    BASE,
    GRACE,
    NODE,
    NS_A,
    RESOLUTION,
    FakeKubelet,
    MetricsServer,
    fake_node,
    logs_of,
    raw,
    raw_error,
    wait_until,
)

from k8s_aggapi.envtest import ControlPlane

pytestmark = pytest.mark.e2e

BAD = {"bad-hang": "hang", "bad-garbage": "garbage", "bad-gone": "healthy"}


@pytest.fixture
def bad_kubelets(control_plane: ControlPlane,
                 metrics_server: MetricsServer) -> Iterator[dict[str, FakeKubelet]]:
    kubelets = {name: FakeKubelet(b, control_plane).start() for name, b in BAD.items()}
    try:
        for name, kubelet in kubelets.items():
            fake_node(control_plane, name, kubelet.port, "/metrics/resource")
        yield kubelets
    finally:
        for kubelet in kubelets.values():
            kubelet.close()
        control_plane.kubectl("delete", "node", *BAD, "--wait=false", check=False)


def served(control_plane: ControlPlane) -> bool:
    """The kwok node and pods are still served."""
    node = raw(control_plane, f"{BASE}/nodes/{NODE}")
    pods = raw(control_plane, f"{BASE}/namespaces/{NS_A}/pods")
    return bool(node["usage"]) and len(pods["items"]) == 3


def wait_for_cycles(control_plane: ControlPlane, n: int) -> None:
    """Until the kwok node's metrics have been refreshed `n` times (a new `timestamp` per
    scrape cycle): proof that the server scraped again, without asserting on time."""
    seen = {raw(control_plane, f"{BASE}/nodes/{NODE}")["timestamp"]}

    def refreshed() -> bool:
        seen.add(raw(control_plane, f"{BASE}/nodes/{NODE}")["timestamp"])
        return len(seen) > n

    wait_until(f"{n} scrape cycles", refreshed, timeout=RESOLUTION * (n + 2) * 2)


def test_hanging_garbage_and_vanishing_kubelets_do_not_stop_the_others(
        metrics_server: MetricsServer, control_plane: ControlPlane,
        bad_kubelets: dict[str, FakeKubelet]) -> None:
    gone = bad_kubelets["bad-gone"]
    # a healthy kubelet's node appears (so the fake kubelets are scraped at all) ...
    wait_until("metrics of bad-gone's node", lambda: raw(
        control_plane, f"{BASE}/nodes/bad-gone")["usage"], timeout=90, interval=2)
    # ... while the hanging and the garbage one have been asked at least twice
    wait_until("two scrapes of each bad kubelet", lambda: all(
        bad_kubelets[n].requests >= 2 for n in ("bad-hang", "bad-garbage")), timeout=90)
    assert served(control_plane)
    for name in ("bad-hang", "bad-garbage"):
        err = raw_error(control_plane, f"{BASE}/nodes/{name}")
        assert "NotFound" in err, err
    listed = [i["metadata"]["name"] for i in raw(control_plane, f"{BASE}/nodes")["items"]]
    assert NODE in listed and "bad-gone" in listed
    assert "bad-hang" not in listed and "bad-garbage" not in listed

    gone.close()  # connection refused from now on
    asked = gone.requests
    wait_for_cycles(control_plane, 2)  # two scrapes of every node since it went away
    if metrics_server.ours:
        # deliberately better: failed scrapes do not make the node vanish at once; its last
        # good metrics stay for the grace period (--metric-grace-period), then go
        assert raw(control_plane, f"{BASE}/nodes/bad-gone")["usage"]
        wait_until("bad-gone's metrics to go after the grace period", lambda: "NotFound" in
                   raw_error(control_plane, f"{BASE}/nodes/bad-gone"), timeout=GRACE * 3)
    else:
        # upstream drops it from the next batch
        assert "NotFound" in raw_error(control_plane, f"{BASE}/nodes/bad-gone")
    assert gone.requests == asked
    assert served(control_plane)
    assert metrics_server.server.process.running, logs_of(metrics_server.server)


def test_health_and_per_node_metrics_with_bad_kubelets(
        metrics_server: MetricsServer, control_plane: ControlPlane,
        bad_kubelets: dict[str, FakeKubelet]) -> None:
    wait_until("two scrapes of the hanging kubelet",
               lambda: bad_kubelets["bad-hang"].requests >= 2, timeout=90)
    for path in ("/livez", "/readyz", "/healthz"):
        status = _direct_get(control_plane, metrics_server, path)
        assert status == (200, "ok"), (path, status)
    # every node's requests, failed or not, in the per-node families, as upstream counts them
    code, text = _direct_get(control_plane, metrics_server, "/metrics")
    assert code == 200
    samples = {line.rpartition(" ")[0]: float(line.rpartition(" ")[2])
               for line in text.splitlines() if line.startswith("metrics_server_kubelet_")}
    for name in ("bad-hang", "bad-garbage", NODE):
        count = samples.get(
            f'metrics_server_kubelet_request_duration_seconds_count{{node="{name}"}}', 0)
        assert count >= 1, (name, sorted(samples)[:20])
        assert samples[f'metrics_server_kubelet_last_request_time_seconds{{node="{name}"}}'] > 0


def _direct_get(control_plane: ControlPlane, metrics_server: MetricsServer,
                path: str) -> tuple[int, str]:
    """GET the server's own health endpoint (authorization-always-allow-paths)."""
    import ssl
    import urllib.error
    import urllib.request

    ctx = ssl.create_default_context(cafile=str(control_plane.pki.crt("ca")))
    ctx.load_cert_chain(control_plane.pki.crt("admin"), control_plane.pki.key("admin"))
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=ctx))
    url = f"https://localhost:{metrics_server.server.port}{path}"
    try:
        with opener.open(url, timeout=10) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, json.dumps(e.read().decode())
