"""The authorizers asked before SubjectAccessReview: privileged groups (`system:masters`) and
the always-allowed non-resource paths (`/healthz`, `/readyz`, `/livez` by default).

Paths match exactly once the leading "/" is trimmed; only a trailing `*` makes a prefix match
(k8s.io/apiserver pkg/authorization/path), so `/readyz/etcd` is not covered by `/readyz`.
"""

from __future__ import annotations

from collections.abc import Iterable

from k8s_aggapi.authorization.interface import Attributes, Decision


class AlwaysAllowGroups:
    """Allow any request from a member of one of the groups; no opinion otherwise."""

    def __init__(self, groups: Iterable[str]) -> None:
        self.groups = frozenset(groups)

    async def authorize(self, attributes: Attributes) -> tuple[Decision, str]:
        if self.groups.intersection(attributes.user.groups):
            return Decision.ALLOW, ""
        return Decision.NO_OPINION, ""


class AlwaysAllowPaths:
    """Allow the listed non-resource paths; ValueError for a `*` anywhere but at the end."""

    def __init__(self, paths: Iterable[str]) -> None:
        exact: set[str] = set()
        prefixes: list[str] = []
        for path in paths:
            path = path.removeprefix("/")
            if "*" in path[:-1]:
                raise ValueError(f"only trailing * allowed in {path!r}")
            if path.endswith("*"):
                prefixes.append(path[:-1])
            else:
                exact.add(path)
        self.exact = frozenset(exact)
        self.prefixes = tuple(prefixes)

    async def authorize(self, attributes: Attributes) -> tuple[Decision, str]:
        if attributes.resource_request:
            return Decision.NO_OPINION, ""
        path = attributes.path.removeprefix("/")
        if path in self.exact or path.startswith(self.prefixes):
            return Decision.ALLOW, ""
        return Decision.NO_OPINION, ""
