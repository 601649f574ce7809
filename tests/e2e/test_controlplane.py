"""The envtest control plane itself: apiserver, aggregator wiring, KCM, scheduler and kwok.

These run before any framework test, so a broken environment shows up here, not as a
mysterious failure of an aggregated server.
"""

from __future__ import annotations

import json
import ssl
import sys
import time
import urllib.request
from collections.abc import Callable
from typing import Any

import pytest

from k8s_aggapi.envtest import (
    APIServiceUnavailable,
    ControlPlane,
    grant_delegated_auth,
    start_aggregated_server,
)
from k8s_aggapi.envtest.kwok import RESOURCE_METRICS_PATH_ANNOTATION

pytestmark = pytest.mark.e2e

Kubectl = Callable[..., Any]

# A stand-in aggregated server (stdlib only): serves discovery of one group/version over TLS
# and prints the X-Remote-User the aggregator sends.
ECHO_SERVER = r"""
import argparse, json, os, ssl, sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
p = argparse.ArgumentParser()
for f in ("--secure-port", "--bind-address", "--tls-cert-file", "--tls-private-key-file"):
    p.add_argument(f)
args, _ = p.parse_known_args()
GV = os.environ["ECHO_GROUP_VERSION"]

class H(BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.split("?")[0] == "/apis/" + GV:
            print("user", self.headers.get("X-Remote-User"), flush=True)
            body, code = {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": GV,
                          "resources": []}, 200
        else:
            body, code = {"kind": "Status", "apiVersion": "v1", "status": "Failure",
                          "reason": "NotFound", "code": 404}, 404
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

srv = ThreadingHTTPServer((args.bind_address, int(args.secure_port)), H)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(args.tls_cert_file, args.tls_private_key_file)
srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
srv.serve_forever()
"""


def get_json(kubectl: Kubectl, *args: str) -> Any:
    return json.loads(kubectl(*args, "-o", "json").stdout)


def pod(name: str, **spec: Any) -> dict[str, Any]:
    return {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "annotations": {
            "kwok.x-k8s.io/usage-cpu": "250m", "kwok.x-k8s.io/usage-memory": "64Mi"}},
        "spec": {"containers": [{"name": "app", "image": "fake", "resources": {
            "requests": {"cpu": "100m", "memory": "64Mi"}}}], **spec},
    }


def test_readyz(kubectl: Kubectl) -> None:
    assert kubectl("get", "--raw", "/readyz").stdout == "ok"


def test_version_is_the_pinned_one(kubectl: Kubectl) -> None:
    assert json.loads(kubectl("get", "--raw", "/version").stdout)["gitVersion"] == "v1.34.4"


def test_extension_apiserver_authentication_has_requestheader_keys(kubectl: Kubectl) -> None:
    cm = get_json(kubectl, "-n", "kube-system", "get", "configmap",
                  "extension-apiserver-authentication")
    data = cm["data"]
    assert {"client-ca-file", "requestheader-client-ca-file", "requestheader-allowed-names",
            "requestheader-username-headers", "requestheader-uid-headers",
            "requestheader-group-headers", "requestheader-extra-headers-prefix"} <= set(data)
    assert json.loads(data["requestheader-allowed-names"]) == ["front-proxy-client"]
    assert json.loads(data["requestheader-username-headers"]) == ["X-Remote-User"]
    assert json.loads(data["requestheader-extra-headers-prefix"]) == ["X-Remote-Extra-"]


def test_kwok_node_is_ready(control_plane: ControlPlane, kubectl: Kubectl) -> None:
    node = get_json(kubectl, "get", "node", control_plane.node_name)
    ready = [c for c in node["status"]["conditions"] if c["type"] == "Ready"]
    assert [c["status"] for c in ready] == ["True"]


def test_pod_with_node_name_runs(control_plane: ControlPlane, kubectl: Kubectl,
                                 namespace: str) -> None:
    manifest = pod("p0", nodeName=control_plane.node_name)
    kubectl("apply", "-n", namespace, "-f", "-", input=json.dumps(manifest))
    kubectl("wait", "-n", namespace, "--for=jsonpath={.status.phase}=Running", "pod/p0",
            "--timeout=60s")


def test_deployment_creates_scheduled_running_pods(kubectl: Kubectl, namespace: str) -> None:
    kubectl("create", "deployment", "demo", "-n", namespace, "--image=fake", "--replicas=2")
    kubectl("rollout", "status", "-n", namespace, "deployment/demo", "--timeout=90s")
    pods = get_json(kubectl, "get", "pods", "-n", namespace, "-l", "app=demo")["items"]
    assert len(pods) == 2
    assert all(p["status"]["phase"] == "Running" and p["spec"]["nodeName"] for p in pods)


def test_kwok_serves_kubelet_resource_metrics(control_plane: ControlPlane, kubectl: Kubectl,
                                              namespace: str) -> None:
    kubectl("apply", "-n", namespace, "-f", "-",
            input=json.dumps(pod("busy", nodeName=control_plane.node_name)))
    kubectl("wait", "-n", namespace, "--for=condition=Ready", "pod/busy", "--timeout=60s")
    node = get_json(kubectl, "get", "node", control_plane.node_name)
    path = node["metadata"]["annotations"][RESOURCE_METRICS_PATH_ANNOTATION]
    assert node["status"]["daemonEndpoints"]["kubeletEndpoint"]["Port"] == control_plane.ports.kwok
    addresses = {a["type"]: a["address"] for a in node["status"]["addresses"]}
    assert addresses["InternalIP"] == "127.0.0.1"  # an address the serving cert is valid for
    assert control_plane.kwok_url.startswith("https://")
    labels = f'container="app",namespace="{namespace}",pod="busy"'
    samples: dict[str, float] = {}
    deadline = time.monotonic() + 30
    # kwok fills its metrics cache lazily: a scrape right after the pod became Ready may lack
    # it, and the cumulative CPU counter starts at 0 and grows between scrapes
    while samples.get(f"container_cpu_usage_seconds_total{{{labels}}}", 0.0) <= 0.0:
        assert time.monotonic() < deadline, f"no CPU usage for pod busy at {path}: {samples}"
        time.sleep(1)
        samples = scrape(control_plane.kwok_url + path, control_plane.kubelet_ssl_context())
    assert samples[f"container_memory_working_set_bytes{{{labels}}}"] == 64 * 2**20
    assert samples["node_cpu_usage_seconds_total"] > 0
    assert samples["scrape_error"] == 0


def scrape(url: str, context: ssl.SSLContext) -> dict[str, float]:
    """GET a kubelet endpoint over HTTPS, verifying its serving cert (kwok's, cluster CA)."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}),
                                         urllib.request.HTTPSHandler(context=context))
    with opener.open(url, timeout=10) as resp:
        lines = resp.read().decode().splitlines()
    return {k: float(v) for k, _, v in (ln.rpartition(" ") for ln in lines if ln[:1] != "#")}


def test_user_kubeconfig_authenticates_with_groups(control_plane: ControlPlane,
                                                   kubectl: Kubectl) -> None:
    control_plane.user_kubeconfig("alice", ["devs"])
    review = json.loads(kubectl("auth", "whoami", "-o", "json", user="alice").stdout)
    assert review["status"]["userInfo"]["username"] == "alice"
    assert "devs" in review["status"]["userInfo"]["groups"]
    denied = kubectl("get", "pods", "-A", user="alice", check=False)
    assert denied.returncode != 0
    assert "forbidden" in denied.stderr


def test_service_account_tokens_are_issued_and_accepted(kubectl: Kubectl,
                                                        namespace: str) -> None:
    token = kubectl("create", "token", "default", "-n", namespace).stdout.strip()
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
              "spec": {"token": token}}
    result = json.loads(kubectl("create", "-o", "json", "-f", "-",
                                input=json.dumps(review)).stdout)
    assert result["status"]["authenticated"] is True
    assert result["status"]["user"]["username"] == f"system:serviceaccount:{namespace}:default"


def test_grant_delegated_auth_lets_a_server_identity_authenticate_requests(
        control_plane: ControlPlane, kubectl: Kubectl) -> None:
    control_plane.user_kubeconfig("my-server")
    can_review = ("auth", "can-i", "create", "tokenreviews.authentication.k8s.io")
    assert kubectl(*can_review, user="my-server", check=False).stdout.strip() == "no"
    grant_delegated_auth(control_plane.api_client(), "my-server")
    assert kubectl(*can_review, user="my-server").stdout.strip() == "yes"
    kubectl("auth", "can-i", "create", "subjectaccessreviews.authorization.k8s.io",
            user="my-server")
    kubectl("-n", "kube-system", "get", "configmap", "extension-apiserver-authentication",
            user="my-server")


def test_aggregated_server_is_served_through_the_aggregator(control_plane: ControlPlane,
                                                            kubectl: Kubectl) -> None:
    server = start_aggregated_server(
        [sys.executable, "-c", ECHO_SERVER], "echo.example.com/v1", control_plane=control_plane,
        env={"ECHO_GROUP_VERSION": "echo.example.com/v1"})
    try:
        apiservice = get_json(kubectl, "get", "apiservice", "v1.echo.example.com")
        assert apiservice["spec"]["service"] == {"name": "api", "namespace": "echo",
                                                 "port": server.port}
        assert apiservice["spec"]["caBundle"]
        assert not apiservice["spec"].get("insecureSkipTLSVerify")
        got = json.loads(kubectl("get", "--raw", "/apis/echo.example.com/v1").stdout)
        assert got["groupVersion"] == "echo.example.com/v1"
        assert "user kubernetes-admin" in server.log_path.read_text()
        server.stop()
        server.start()  # same port, APIService still registered
        kubectl("get", "--raw", "/apis/echo.example.com/v1")
    finally:
        server.close()
    assert kubectl("get", "apiservice", "v1.echo.example.com", check=False).returncode != 0


def test_unavailable_apiservice_reports_its_condition(control_plane: ControlPlane) -> None:
    from k8s_aggapi.envtest.processes import free_port

    name = control_plane.register_apiservice("nobody.example.com", "v1", free_port())
    try:
        refused = r"FailedDiscoveryCheck: .*connection refused"
        with pytest.raises(APIServiceUnavailable, match=refused):
            control_plane.wait_apiservice_available(name, timeout=5)
    finally:
        control_plane.unregister_apiservice("nobody.example.com", "v1")


def test_second_control_plane_runs_side_by_side(control_plane: ControlPlane) -> None:
    with ControlPlane(binaries=control_plane.binaries) as other:
        assert other.ports.apiserver != control_plane.ports.apiserver
        assert other.kubectl("get", "--raw", "/readyz").stdout == "ok"
        pids = [p.pid for p in other.processes.values()]
    assert all(not _alive(pid) for pid in pids if pid is not None)


def _alive(pid: int) -> bool:
    import os

    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
