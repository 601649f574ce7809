"""Kubeconfig files with embedded credentials (JSON, which is valid YAML).

Written for the dev-mode admin and for envtest's users; one cluster, one user, one context.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

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
