"""A real local control plane: etcd, kube-apiserver, kube-controller-manager, kube-scheduler and
kwok with one Ready fake node, all on 127.0.0.1 free ports, each process logging to a file.

`ControlPlane` is a sync context manager; whatever happens, `stop()` and atexit stop every process.
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.request
import uuid
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from k8s_aggapi.envtest import flags, lifetime
from k8s_aggapi.envtest.apiservice import (
    register_apiservice,
    unregister_apiservice,
    wait_apiservice_available,
)
from k8s_aggapi.envtest.binaries import ensure_binaries
from k8s_aggapi.envtest.kwok import KWOK_CONFIG, node_manifest
from k8s_aggapi.envtest.pki import PKI
from k8s_aggapi.envtest.processes import ManagedProcess, stop_all, wait_for

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

KEEP_ENV = "AGGAPI_ENVTEST_KEEP_RUN_DIR"
NO_PROXY = "127.0.0.1,localhost,.svc"
STOP_TIMEOUT = 5.0  # seconds from SIGTERM (to all at once) to SIGKILL
_running: weakref.WeakSet[ControlPlane] = weakref.WeakSet()
_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy


@atexit.register
def _stop_all() -> None:
    for cp in list(_running):  # runs before processes.stop_all, which is registered earlier
        cp.stop()


class KubectlError(subprocess.CalledProcessError):
    def __str__(self) -> str:
        return f"{super().__str__()}\nstderr: {self.stderr}"


def _get(url: str, context: ssl.SSLContext | None = None) -> bytes:
    https = urllib.request.HTTPSHandler(context=context)
    opener = _opener if context is None else urllib.request.build_opener(
        urllib.request.ProxyHandler({}), https)
    with opener.open(url, timeout=5) as resp:
        return bytes(resp.read())


def _healthy(url: str, context: ssl.SSLContext | None) -> Callable[[], bool]:
    return lambda: _get(url, context) == b"ok"


class ControlPlane:
    """etcd + kube-apiserver + KCM + scheduler + kwok; `start()` returns when all are ready."""

    def __init__(
        self, run_dir: Path | None = None, *, binaries: Mapping[str, Path] | None = None,
        node_name: str = "kwok-node-0", timeout: float = 120.0,
    ) -> None:
        self._own_dir = run_dir is None
        temp = Path(tempfile.gettempdir()) / f"aggapi-envtest-{uuid.uuid4().hex[:8]}"
        self.run_dir = run_dir or temp  # created by start()
        self.node_name, self.timeout = node_name, timeout
        self._binaries = dict(binaries) if binaries else None
        self.binaries: dict[str, Path] = {}
        self.ports = flags.Ports.allocate()
        self._pki: PKI | None = None
        self.admin_kubeconfig = self.run_dir / "admin.kubeconfig"
        self.processes: dict[str, ManagedProcess] = {}
        self.timings: dict[str, float] = {}  # seconds from start() until each part was ready
        self._api: ApiClient | None = None
        self._failed = False

    @property
    def pki(self) -> PKI:
        if self._pki is None:
            raise RuntimeError("the control plane is not started")
        return self._pki

    @property
    def etcd_url(self) -> str:
        """The client URL of the control plane's etcd (plain HTTP on loopback)."""
        return f"http://127.0.0.1:{self.ports.etcd}"

    @property
    def server(self) -> str:
        return f"https://127.0.0.1:{self.ports.apiserver}"

    @property
    def kwok_url(self) -> str:
        """The fake kubelets' base URL (HTTPS; trust `pki.kubelet_ca`)."""
        return f"https://127.0.0.1:{self.ports.kwok}"

    @property
    def kubelet_ca(self) -> Path:
        """The CA of the kubelets' serving certs (`--kubelet-certificate-authority`)."""
        return self.pki.kubelet_ca

    def kubelet_ssl_context(self) -> ssl.SSLContext:
        """A client context that verifies the fake kubelets' serving cert."""
        return ssl.create_default_context(cafile=str(self.kubelet_ca))

    def __enter__(self) -> ControlPlane:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def start(self) -> ControlPlane:
        _running.add(self)
        try:
            self._start()
        except BaseException:
            self._failed = True  # keep the run dir: the error message points at its logs
            self.stop()
            raise
        return self

    def _spawn(self, name: str, argv: list[str]) -> ManagedProcess:
        env = {**os.environ, "NO_PROXY": NO_PROXY, "no_proxy": NO_PROXY}
        proc = ManagedProcess(name, argv, self.run_dir / "logs" / f"{name}.log", env=env)
        self.processes[name] = proc
        proc.start()
        return proc

    def _ready(self, name: str, t0: float) -> None:
        self.timings[name] = round(time.monotonic() - t0, 2)

    def _start(self) -> None:
        t0, run, ports = time.monotonic(), self.run_dir, self.ports
        run.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.binaries = self._binaries or ensure_binaries()
        b = self.binaries
        self._pki = pki = PKI.create(run / "pki")
        pki.kubeconfig_for("admin", self.admin_kubeconfig, server=self.server)
        kcm_config = pki.kubeconfig_for("kube-controller-manager", run / "kcm.kubeconfig",
                                        server=self.server)
        (run / "kwok.yaml").write_text(KWOK_CONFIG)
        insecure = ssl._create_unverified_context()  # KCM and scheduler serve self-signed certs
        trusted = ssl.create_default_context(cafile=str(pki.crt("ca")))
        trusted.load_cert_chain(pki.crt("admin"), pki.key("admin"))

        etcd = self._spawn("etcd", flags.etcd_args(b["etcd"], run / "etcd", ports))
        wait_for("etcd /health", lambda: b'"true"' in _get(
            f"http://127.0.0.1:{ports.etcd}/health"), etcd, timeout=self.timeout)
        self._ready("etcd", t0)
        apiserver = self._spawn("kube-apiserver", flags.apiserver_args(
            b["kube-apiserver"], pki, ports))
        wait_for("/readyz", lambda: _get(f"{self.server}/readyz", trusted) == b"ok",
                 apiserver, timeout=self.timeout)
        self._ready("kube-apiserver", t0)
        started = {
            "kube-controller-manager": (self._spawn("kube-controller-manager",
                flags.controller_manager_args(b["kube-controller-manager"], pki, kcm_config,
                                              ports)), ports.controller_manager),
            "kube-scheduler": (self._spawn("kube-scheduler", flags.scheduler_args(
                b["kube-scheduler"], self.admin_kubeconfig, ports)), ports.scheduler),
            "kwok": (self._spawn("kwok", flags.kwok_args(
                b["kwok"], self.admin_kubeconfig, run / "kwok.yaml", pki, ports)), ports.kwok),
        }
        for name, (proc, port) in started.items():
            ctx = self.kubelet_ssl_context() if name == "kwok" else insecure
            url = f"https://127.0.0.1:{port}/healthz"
            wait_for(url, _healthy(url, ctx), proc, timeout=self.timeout)
            self._ready(name, t0)
        self._wait_node_and_serviceaccount(t0)
        self.timings["total"] = round(time.monotonic() - t0, 2)

    def _wait_node_and_serviceaccount(self, t0: float) -> None:
        from kubernetes import client

        core = client.CoreV1Api(self.api_client())
        core.create_node(client.V1Node.model_validate(node_manifest(self.node_name)))

        def node_ready() -> bool:
            status = core.read_node(self.node_name).status
            conds = (status.conditions if status else None) or []
            return any(c.type == "Ready" and c.status == "True" for c in conds)

        wait_for(f"node {self.node_name} Ready", node_ready, self.processes["kwok"],
                 timeout=self.timeout)
        self._ready("node", t0)
        wait_for("ServiceAccount default/default", lambda: bool(
            core.read_namespaced_service_account("default", "default")),
            self.processes["kube-controller-manager"], timeout=self.timeout)
        self._ready("serviceaccount", t0)

    def stop(self) -> None:
        """Stop every process (all at once); delete a temporary run dir unless kept (env
        `AGGAPI_ENVTEST_KEEP_RUN_DIR=1`, or a failed start: only etcd's data goes then)."""
        _running.discard(self)
        if self._api is not None:
            self._api.close()  # type: ignore[no-untyped-call]
            self._api = None
        stop_all(self.processes.values(), timeout=STOP_TIMEOUT)
        if not self._own_dir:
            return
        keep = self._failed or os.environ.get(KEEP_ENV, "") not in ("", "0")
        shutil.rmtree(self.run_dir / "etcd" if keep else self.run_dir, ignore_errors=True)

    def user_kubeconfig(self, name: str, groups: tuple[str, ...] | list[str] = ()) -> Path:
        """A kubeconfig authenticating as `name` in `groups` with a client certificate."""
        return self.pki.user_kubeconfig(name, groups, server=self.server)

    def kubectl(
        self, *args: str, user: str | None = None, check: bool = True,
        input: str | None = None, timeout: float = 60.0,
    ) -> subprocess.CompletedProcess[str]:
        """Run the built kubectl as admin, or as `user` (kubeconfig made on first use)."""
        config = self.admin_kubeconfig
        if user is not None:
            config = self.pki.directory / "users" / f"{user}.kubeconfig"
            if not config.exists():
                self.user_kubeconfig(user)
        argv = [str(self.binaries["kubectl"]), f"--kubeconfig={config}", *args]
        res = lifetime.run(argv, capture_output=True, text=True, input=input, timeout=timeout,
                             env={**os.environ, "NO_PROXY": NO_PROXY, "no_proxy": NO_PROXY})
        if check and res.returncode != 0:
            raise KubectlError(res.returncode, argv, res.stdout, res.stderr)
        return res

    def apply(self, manifest: Mapping[str, Any]) -> None:
        """`kubectl apply` one object given as a dict (JSON is YAML)."""
        self.kubectl("apply", "-f", "-", input=json.dumps(manifest))

    def api_client(self) -> ApiClient:
        """The admin's `kubernetes.client.ApiClient` (sync), shared and closed by `stop()`."""
        if self._api is None:
            from kubernetes import client

            pki = self.pki
            self._api = client.ApiClient(client.Configuration(
                host=self.server, ssl_ca_cert=str(pki.crt("ca")),
                cert_file=str(pki.crt("admin")), key_file=str(pki.key("admin"))))
        return self._api

    def register_apiservice(self, group: str, version: str, port: int, *, service: str = "api",
                            namespace: str | None = None, **priorities: int) -> str:
        """Route `<version>.<group>` to 127.0.0.1:`port`, trusting certs of the cluster CA."""
        return register_apiservice(self.api_client(), group, version, port,
                                   self.pki.ca.cert_pem(), service=service,
                                   namespace=namespace, **priorities)

    def unregister_apiservice(self, group: str, version: str) -> None:
        unregister_apiservice(self.api_client(), group, version)

    def wait_apiservice_available(self, name: str, timeout: float = 60.0) -> None:
        wait_apiservice_available(self.api_client(), name, timeout)
