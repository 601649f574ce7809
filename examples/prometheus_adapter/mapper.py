"""Which kinds the cluster has: group-resource <-> kind and singular name, as a RESTMapper.

Read from kube-apiserver's aggregated discovery (`/api` and `/apis`, two requests) when a
client is given, on top of the built-in kinds, so rules and answers work without a cluster.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

from k8s_aggapi.errors import GroupResource

log = logging.getLogger("prometheus_adapter.mapper")
V2_ACCEPT = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList"


@dataclass(frozen=True)
class Mapping:
    group_resource: GroupResource
    version: str
    kind: str
    singular: str

    @property
    def api_version(self) -> str:
        """`<group>/<version>`: `/v1` for core kinds, as custom-metrics-apiserver writes it."""
        return f"{self.group_resource.group}/{self.version}"


_BUILTIN = [
    ("", "v1", "pods", "Pod", "pod"), ("", "v1", "services", "Service", "service"),
    ("", "v1", "namespaces", "Namespace", "namespace"), ("", "v1", "nodes", "Node", "node"),
    ("", "v1", "persistentvolumes", "PersistentVolume", "persistentvolume"),
    ("", "v1", "persistentvolumeclaims", "PersistentVolumeClaim", "persistentvolumeclaim"),
    ("", "v1", "configmaps", "ConfigMap", "configmap"),
    ("apps", "v1", "deployments", "Deployment", "deployment"),
    ("apps", "v1", "statefulsets", "StatefulSet", "statefulset"),
    ("apps", "v1", "daemonsets", "DaemonSet", "daemonset"),
    ("apps", "v1", "replicasets", "ReplicaSet", "replicaset"),
    ("batch", "v1", "jobs", "Job", "job"),
    ("networking.k8s.io", "v1", "ingresses", "Ingress", "ingress"),
]


class Discovery(Protocol):
    async def get(self, path: str, *, accept: str = ...) -> Any: ...


class ResourceMapper:
    def __init__(self) -> None:
        self._by_resource: dict[GroupResource, Mapping] = {}
        self._names: dict[str, list[Mapping]] = {}  # plural, singular or kind (lower) -> ...
        for group, version, plural, kind, singular in _BUILTIN:
            self._add(Mapping(GroupResource(group, plural), version, kind, singular))

    def _add(self, m: Mapping) -> None:
        self._by_resource[m.group_resource] = m
        for name in {m.group_resource.resource, m.singular, m.kind.lower()}:
            entries = self._names.setdefault(name, [])
            entries[:] = [e for e in entries if e.group_resource != m.group_resource] + [m]

    def normalize(self, group: str, resource: str) -> Mapping | None:
        """The mapping for `resource` (plural, singular or kind, any case) in `group`; with no
        group, the core one first, else the only match (upstream's RESTMapper guesses too)."""
        candidates = self._names.get(resource.lower(), [])
        if group:
            candidates = [c for c in candidates if c.group_resource.group == group]
        core = [c for c in candidates if not c.group_resource.group]
        chosen = core or candidates
        return chosen[0] if chosen else None

    def get(self, gr: GroupResource) -> Mapping | None:
        return self._by_resource.get(gr) or self.normalize(gr.group, gr.resource)

    async def refresh(self, kube: Discovery) -> None:
        """Add every resource kube-apiserver lists (two aggregated discovery requests)."""
        for path in ("/api", "/apis"):
            doc = await kube.get(path, accept=V2_ACCEPT)
            for group in doc.get("items") or []:
                name = (group.get("metadata") or {}).get("name", "")
                versions = group.get("versions") or []
                for r in (versions[0].get("resources") or []) if versions else []:
                    kind = (r.get("responseKind") or {}).get("kind", "")
                    if kind and r.get("resource"):
                        self._add(Mapping(GroupResource(name, r["resource"]),
                                          versions[0]["version"], kind,
                                          r.get("singularResource") or kind.lower()))
