"""Run an aggregated API server (a command taking upstream's serving flags) behind envtest.

`start_aggregated_server` issues the serving cert for `<svc>.<ns>.svc`, picks a free port,
starts the command with the flags appended, registers its APIServices and waits for Available.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from k8s_aggapi.envtest.apiservice import APIServiceUnavailable, namespace_for_group
from k8s_aggapi.envtest.controlplane import NO_PROXY
from k8s_aggapi.envtest.processes import ManagedProcess, free_port, wait_for

if TYPE_CHECKING:
    from k8s_aggapi.envtest.controlplane import ControlPlane


def parse_group_versions(spec: str | Iterable[str]) -> list[tuple[str, str]]:
    """`"wardle.example.com/v1alpha1,v1beta1"` (or a list of such) -> [(group, version), ...]."""
    items = [spec] if isinstance(spec, str) else list(spec)
    result: list[tuple[str, str]] = []
    for item in items:
        group, sep, versions = item.partition("/")
        if not sep or not group or not versions:
            raise ValueError(f"expected GROUP/VERSION[,VERSION...], got {item!r}")
        result += [(group, v.strip()) for v in versions.split(",") if v.strip()]
    return result


def parse_command(command: str | Sequence[str]) -> list[str]:
    """Split a command line; a leading `python`/`python3` means this interpreter."""
    argv = shlex.split(command) if isinstance(command, str) else list(command)
    if argv and argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    return argv


def _accepts(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


class AggregatedServer:
    """A running aggregated server and its APIServices; `stop()`/`start()` keep the port."""

    def __init__(
        self, control_plane: ControlPlane, argv: list[str], group_versions: list[tuple[str, str]],
        *, namespace: str, service: str, port: int, env: Mapping[str, str] | None,
        kubeconfig: Path | None = None, wait_openapi: bool = False,
    ) -> None:
        self.control_plane, self.group_versions = control_plane, group_versions
        self.namespace, self.service, self.port = namespace, service, port
        self.wait_openapi = wait_openapi
        self.cert_file, self.key_file = control_plane.pki.serving_cert_for(service, namespace)
        kubeconfig = kubeconfig or control_plane.admin_kubeconfig
        self.argv = [
            *argv, f"--secure-port={port}", "--bind-address=127.0.0.1",
            f"--tls-cert-file={self.cert_file}", f"--tls-private-key-file={self.key_file}",
            f"--kubeconfig={kubeconfig}", f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
        ]
        self.log_path = control_plane.run_dir / "logs" / f"{service}.{namespace}.log"
        full_env = {**os.environ, **(env or {}), "NO_PROXY": NO_PROXY, "no_proxy": NO_PROXY}
        self.process = ManagedProcess(f"{service}.{namespace}", self.argv, self.log_path,
                                      env=full_env)

    @property
    def apiservices(self) -> list[str]:
        return [f"{v}.{g}" for g, v in self.group_versions]

    def start(self, timeout: float = 60.0) -> None:
        """Start the process, (re-)register its APIServices and wait until all are Available."""
        self.process.start()
        try:
            wait_for(f"listening on 127.0.0.1:{self.port}", lambda: _accepts(self.port),
                     self.process, timeout=timeout)
            for group, version in self.group_versions:
                self.control_plane.register_apiservice(
                    group, version, self.port, service=self.service, namespace=self.namespace)
            for name in self.apiservices:
                try:
                    self.control_plane.wait_apiservice_available(name, timeout)
                except APIServiceUnavailable as e:
                    raise APIServiceUnavailable(
                        f"{e}\nlast lines of {self.log_path}:\n{self.process.tail()}") from None
            if self.wait_openapi:  # kube-apiserver aggregates it ~1 s after Available
                wait_for("OpenAPI v3 aggregated by kube-apiserver", self._openapi_listed,
                         self.process, timeout=timeout)
        except BaseException:
            self.stop()
            raise

    def _openapi_listed(self) -> bool:
        paths = json.loads(self.control_plane.kubectl("get", "--raw", "/openapi/v3").stdout)
        return all(f"apis/{g}/{v}" in paths["paths"] for g, v in self.group_versions)

    def stop(self) -> None:
        """Stop the process; its APIServices stay registered (and become unavailable)."""
        self.process.stop()

    def close(self) -> None:
        """Unregister the APIServices first (stale discovery otherwise), then stop."""
        for group, version in self.group_versions:
            self.control_plane.unregister_apiservice(group, version)
        self.stop()

    def __enter__(self) -> AggregatedServer:
        return self

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def start_aggregated_server(
    command: str | Sequence[str], group_versions: str | Iterable[str], *,
    control_plane: ControlPlane, namespace: str | None = None, service: str = "api",
    port: int | None = None, env: Mapping[str, str] | None = None, timeout: float = 60.0,
    kubeconfig: Path | None = None, wait_openapi: bool = False,
) -> AggregatedServer:
    """Start `command` as the aggregated server of `group_versions` and wait until Available.

    It runs as the admin (system:masters) unless `kubeconfig` says otherwise; see
    `grant_delegated_auth` for what its own identity then needs. `wait_openapi` also waits
    until kube-apiserver serves the server's OpenAPI v3 (`kubectl explain` works)."""
    gvs = parse_group_versions(group_versions)
    if not gvs:
        raise ValueError("at least one GROUP/VERSION is needed")
    server = AggregatedServer(
        control_plane, parse_command(command), gvs,
        namespace=namespace or namespace_for_group(gvs[0][0]), service=service,
        port=port or free_port(), env=env, kubeconfig=kubeconfig, wait_openapi=wait_openapi)
    server.start(timeout)
    return server

