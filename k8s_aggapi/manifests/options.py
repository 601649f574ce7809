"""What a deployment of an `Application` is made of: namespace, image, replicas, TLS, storage.

`DeployOptions` is a frozen value the command line fills; everything the renderers read is
here, so the same options always give the same YAML.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

Manifest = dict[str, Any]

LABEL = "app.kubernetes.io/name"
ETCD_IMAGE = "quay.io/coreos/etcd:v3.6.14"


@dataclass(frozen=True)
class TLSFiles:
    """The serving certificate a Secret carries, and the CA the APIService trusts (PEM)."""

    ca: bytes
    cert: bytes = b""
    key: bytes = b""


@dataclass(frozen=True)
class DeployOptions:
    namespace: str
    image: str
    replicas: int = 1
    tls: TLSFiles | None = None  # None: insecureSkipTLSVerify and a self-signed cert in /tmp
    storage: str = "memory"  # or "etcd": an etcd StatefulSet and --etcd-servers
    etcd_image: str = ETCD_IMAGE
    group_priority_minimum: int | None = None
    version_priority: int | None = None
    local_port: int | None = None  # ExternalName Service to localhost (server runs outside)
    image_pull_policy: str = "IfNotPresent"


def metadata(name: str, namespace: str | None = None, **labels: str) -> Manifest:
    meta: Manifest = {"name": name}
    if namespace:
        meta["namespace"] = namespace
    if labels:
        meta["labels"] = dict(labels)
    return meta


def selector_labels(name: str) -> dict[str, str]:
    return {LABEL: name}
