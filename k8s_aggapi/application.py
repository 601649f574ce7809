"""One object per aggregated server: its API groups plus the names and defaults around them.

`__main__`, `aggapi run MODULE:ATTR` and `aggapi manifests MODULE:ATTR` all read the same
`Application`, so a server is declared once and deployed from what it declares.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from k8s_aggapi.api import APIGroup
from k8s_aggapi.storage.interface import Storage


@dataclass(frozen=True)
class PolicyRule:
    """An RBAC rule the server itself needs on kube-apiserver (beyond delegated auth)."""

    api_groups: tuple[str, ...]
    resources: tuple[str, ...]
    verbs: tuple[str, ...] = ("get", "list", "watch")


@dataclass(frozen=True)
class Application:
    """An aggregated API server as a value.

    `groups` builds the API groups (a factory, so storage is made when a server starts);
    `storage_groups`, when given, builds them on a storage the flags choose (`--storage
    memory|etcd`, the `--etcd-*` flags) and is what `main` serves;
    `name` names its Deployment, Service and ServiceAccount; `command` is the container
    command (empty: the image's entrypoint); `args` are flags every deployment passes."""

    name: str
    groups: Callable[[], Sequence[APIGroup]]
    title: str = "k8s-aggapi"
    prog: str | None = None
    example: str | None = None
    command: tuple[str, ...] = ()
    args: tuple[str, ...] = ()
    rules: tuple[PolicyRule, ...] = ()
    port: int = 8443
    group_priority_minimum: int = 1000
    version_priority: int = 15
    reader_role: str = ""
    """Names the read-only role that aggregates into view, edit and admin (upstream
    metrics-server's `system:aggregated-metrics-reader`); empty: `<name>-view`, into view."""
    priority_class: str = ""
    """The pods' priorityClassName (e.g. system-cluster-critical); empty: none."""
    requests: tuple[tuple[str, str], ...] = (("cpu", "100m"), ("memory", "128Mi"))
    memory_limit: str = "512Mi"
    """The container's memory limit; empty: none (a server whose memory grows with the
    cluster, as metrics-server, ships without one)."""
    storage_groups: Callable[[Storage], Sequence[APIGroup]] | None = None

    def main(self, argv: Sequence[str] | None = None, *, prog: str | None = None) -> None:
        """Parse upstream-style flags (`argv`, default sys.argv[1:]) and serve until stopped."""
        from k8s_aggapi.server import main

        main(self.groups() if self.storage_groups is None else [], argv, title=self.title,
             prog=prog or self.prog, example=self.example, storage_groups=self.storage_groups)
