"""RBAC of an aggregated server: delegated authentication and authorization, the server's own
rules, and view/edit/admin ClusterRoles that aggregate its resources into the built-in roles.

Shape as upstream ships it (metrics-server manifests/base/rbac.yaml, sample-apiserver
artifacts/example): `<name>:system:auth-delegator`, `<name>-auth-reader` in kube-system.
"""

from __future__ import annotations

from collections.abc import Sequence

from k8s_aggapi.api import APIGroup
from k8s_aggapi.application import Application
from k8s_aggapi.manifests.options import LABEL, DeployOptions, Manifest, metadata

RBAC = "rbac.authorization.k8s.io/v1"
READ = ("get", "list", "watch")
WRITE = ("create", "update", "patch", "delete", "deletecollection")


def _subject(app: Application, options: DeployOptions) -> list[Manifest]:
    return [{"kind": "ServiceAccount", "name": app.name, "namespace": options.namespace}]


def _ref(kind: str, name: str) -> Manifest:
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": name}


def delegation(app: Application, options: DeployOptions) -> list[Manifest]:
    """TokenReview/SubjectAccessReview, and the extension-apiserver-authentication ConfigMap."""
    subjects = _subject(app, options)
    return [
        {"apiVersion": RBAC, "kind": "ClusterRoleBinding",
         "metadata": metadata(f"{app.name}:system:auth-delegator", **{LABEL: app.name}),
         "roleRef": _ref("ClusterRole", "system:auth-delegator"), "subjects": subjects},
        {"apiVersion": RBAC, "kind": "RoleBinding",
         "metadata": metadata(f"{app.name}-auth-reader", "kube-system", **{LABEL: app.name}),
         "roleRef": _ref("Role", "extension-apiserver-authentication-reader"),
         "subjects": subjects},
    ]


def own_rules(app: Application, options: DeployOptions) -> list[Manifest]:
    """A ClusterRole and its binding for what the server reads itself (none: nothing)."""
    if not app.rules:
        return []
    rules = [{"apiGroups": list(r.api_groups), "resources": list(r.resources),
              "verbs": list(r.verbs)} for r in app.rules]
    name = f"system:{app.name}"
    return [
        {"apiVersion": RBAC, "kind": "ClusterRole",
         "metadata": metadata(name, **{LABEL: app.name}), "rules": rules},
        {"apiVersion": RBAC, "kind": "ClusterRoleBinding",
         "metadata": metadata(name, **{LABEL: app.name}),
         "roleRef": _ref("ClusterRole", name), "subjects": _subject(app, options)},
    ]


def _rules(groups: Sequence[APIGroup], wanted: Sequence[str]) -> list[Manifest]:
    rules: list[Manifest] = []
    for group in groups:
        by_verbs: dict[tuple[str, ...], set[str]] = {}
        for version in group.versions:
            for resource in version.resources.values():
                verbs = tuple(v for v in wanted if v in resource.verbs)
                if verbs:
                    by_verbs.setdefault(verbs, set()).add(resource.info.plural)
        for verbs, plurals in sorted(by_verbs.items()):
            rules.append({"apiGroups": [group.name], "resources": sorted(plurals),
                          "verbs": list(verbs)})
    return rules


def aggregated_roles(app: Application, groups: Sequence[APIGroup]) -> list[Manifest]:
    """`<name>-view`, `-edit`, `-admin`, labelled `aggregate-to-*`; a role with no rule (a
    read-only API has no edit verbs) is left out."""
    if app.reader_role:  # one read role that aggregates everywhere, as metrics-server's
        labels = {LABEL: app.name} | {
            f"rbac.authorization.k8s.io/aggregate-to-{r}": "true" for r in ("admin", "edit",
                                                                         "view")}
        return [{"apiVersion": RBAC, "kind": "ClusterRole",
                 "metadata": metadata(app.reader_role, **labels),
                 "rules": _rules(groups, READ)}]
    roles = []
    writable = bool(_rules(groups, WRITE))
    for role, verbs in (("view", READ), ("edit", READ + WRITE), ("admin", READ + WRITE)):
        rules = _rules(groups, verbs)
        if not rules or (role != "view" and not writable):
            continue
        labels = {LABEL: app.name, f"rbac.authorization.k8s.io/aggregate-to-{role}": "true"}
        roles.append({"apiVersion": RBAC, "kind": "ClusterRole",
                      "metadata": metadata(f"{app.name}-{role}", **labels), "rules": rules})
    return roles
