"""Kubeconfig files: written with embedded credentials (JSON, which is valid YAML) for the
dev-mode admin and envtest's users; read into a `RestConfig` (the current context's cluster and
user), as is the in-cluster service account.
"""

from __future__ import annotations

import atexit
import base64
import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from k8s_aggapi.serving.certs import write_atomic


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def kubeconfig(
    server: str, ca_pem: bytes, user: str, cert_pem: bytes, key_pem: bytes, *, cluster: str
) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": cluster, "cluster": {
            "server": server, "certificate-authority-data": _b64(ca_pem)}}],
        "users": [{"name": user, "user": {
            "client-certificate-data": _b64(cert_pem), "client-key-data": _b64(key_pem)}}],
        "contexts": [{"name": cluster, "context": {"cluster": cluster, "user": user}}],
        "current-context": cluster,
    }


def write_kubeconfig(path: Path, config: dict[str, Any]) -> Path:
    """Write atomically, readable by the owner only (it holds a private key)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(path, json.dumps(config, indent=2).encode(), mode=0o600)
    return path


# reading: what a client needs to reach kube-apiserver -------------------------------------

SERVICE_ACCOUNT_DIR = Path("/var/run/secrets/kubernetes.io/serviceaccount")
# what `load_kubeconfig` leaves to the full kubernetes client (a plugin, a proxy, a password)
_NEEDS_LIBRARY_USER = ("exec", "auth-provider", "username", "password", "as", "as-groups")
_NEEDS_LIBRARY_CLUSTER = ("proxy-url",)


class KubeconfigError(ValueError):
    """The kubeconfig cannot be read or names no usable context."""


@dataclass(frozen=True)
class RestConfig:
    """Where kube-apiserver is and how to prove who we are: file paths (the kubelet client of
    the metrics server reuses them as upstream copies its rest config), a bearer token, or a
    token file read again as it is rotated (bound service account tokens expire)."""

    host: str
    ca_file: str = ""
    cert_file: str = ""
    key_file: str = ""
    token: str = ""
    token_file: str = ""
    insecure: bool = False
    server_name: str = ""


def _named(items: Any, name: str, what: str) -> dict[str, Any]:
    for item in items or []:
        if isinstance(item, dict) and item.get("name") == name:
            found = item.get(what) or {}
            if isinstance(found, dict):
                return found
    raise KubeconfigError(f"{what} {name!r} not found in kubeconfig")


def _file(entry: dict[str, Any], key: str, base: Path, spill: Callable[[bytes], str]) -> str:
    """`<key>` (a path, relative to the kubeconfig's directory) or `<key>-data` (base64,
    written to a private temporary file: ssl loads certificates from files)."""
    data = entry.get(f"{key}-data")
    if data:
        try:
            return spill(base64.b64decode(data))
        except (ValueError, TypeError) as exc:
            raise KubeconfigError(f"invalid {key}-data: {exc}") from exc
    path = entry.get(key)
    if not path:
        return ""
    return str(base / path) if not Path(path).is_absolute() else str(path)


def _spill(data: bytes) -> str:
    fd, path = tempfile.mkstemp(prefix="aggapi-kubeconfig-")
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
    atexit.register(_remove, path)
    return path


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.unlink(path)


def load_kubeconfig(path: str, *, spill: Callable[[bytes], str] = _spill) -> RestConfig | None:
    """The current context's cluster and user, or None when the user or cluster needs what only
    the full kubernetes client does (an exec or auth-provider plugin, basic auth,
    impersonation, a proxy)."""
    try:
        raw = yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise KubeconfigError(f"invalid kubeconfig {path}: {exc}") from exc
    if not isinstance(raw, dict):
        raise KubeconfigError(f"invalid kubeconfig {path}: not a mapping")
    current = raw.get("current-context") or ""
    if not current:
        raise KubeconfigError(f"kubeconfig {path} has no current-context")
    context = _named(raw.get("contexts"), current, "context")
    cluster = _named(raw.get("clusters"), str(context.get("cluster", "")), "cluster")
    user = (_named(raw.get("users"), str(context["user"]), "user")
            if context.get("user") else {})
    if any(user.get(k) for k in _NEEDS_LIBRARY_USER) or any(
            cluster.get(k) for k in _NEEDS_LIBRARY_CLUSTER):
        return None
    server = str(cluster.get("server") or "")
    if not server:
        raise KubeconfigError(f"cluster {context.get('cluster')!r} has no server")
    base = Path(path).resolve().parent
    return RestConfig(
        host=server.rstrip("/"),
        ca_file=_file(cluster, "certificate-authority", base, spill),
        cert_file=_file(user, "client-certificate", base, spill),
        key_file=_file(user, "client-key", base, spill),
        token=str(user.get("token") or ""),
        token_file=(str(base / user["tokenFile"]) if user.get("tokenFile") else ""),
        insecure=bool(cluster.get("insecure-skip-tls-verify")),
        server_name=str(cluster.get("tls-server-name") or ""),
    )


def in_cluster_config(environ: Mapping[str, str] = os.environ,
                      account: Path = SERVICE_ACCOUNT_DIR) -> RestConfig | None:
    """The pod's service account, as client-go's InClusterConfig; None outside a cluster."""
    host, port = environ.get("KUBERNETES_SERVICE_HOST"), environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        return None
    if ":" in host:
        host = f"[{host}]"
    return RestConfig(host=f"https://{host}:{port}", ca_file=str(account / "ca.crt"),
                      token_file=str(account / "token"))
