"""Where etcd is and how to reach it: the `--etcd-*` flags as one frozen value.

Importable without the `[etcd]` extra, so flags parse (and fail clearly) before any
gRPC is loaded.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

REQUEST_TIMEOUT = 10.0  # seconds for one call: a request in an etcd outage fails, never hangs
HEALTH_TIMEOUT = 2.0  # upstream's --etcd-healthcheck-timeout and --etcd-readycheck-timeout
DEFAULT_COMPACTION_INTERVAL = 300.0  # upstream's --etcd-compaction-interval=5m


@dataclass(frozen=True)
class EtcdConfig:
    """Where etcd is and how to reach it (the `--etcd-*` flags)."""

    servers: tuple[str, ...] = ("http://127.0.0.1:2379",)
    prefix: str = "/registry"
    cafile: str = ""
    certfile: str = ""
    keyfile: str = ""
    compaction_interval: float = DEFAULT_COMPACTION_INTERVAL  # seconds; 0: never compact
    request_timeout: float = REQUEST_TIMEOUT

    def __post_init__(self) -> None:
        if not self.servers:
            raise ValueError("--etcd-servers must name at least one server")
        schemes = {urlsplit(s if "://" in s else f"http://{s}").scheme for s in self.servers}
        if not schemes <= {"http", "https"} or len(schemes) != 1:
            raise ValueError(f"--etcd-servers: all http:// or all https://, not {self.servers}")
        if bool(self.certfile) != bool(self.keyfile):
            raise ValueError("--etcd-certfile and --etcd-keyfile go together")

    @property
    def tls(self) -> bool:
        first = self.servers[0]
        return first.startswith("https://") or bool(self.cafile or self.certfile)
