"""Register a locally running aggregated server with kube-apiserver, and wait until it is used.

Routing: an `ExternalName` Service (`externalName: localhost`) plus an APIService with the real
`caBundle`; the aggregator dials localhost:<port> and checks the ServerName `<svc>.<ns>.svc`.
"""

from __future__ import annotations

import base64
import re
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kubernetes.client import ApiClient

# `kubernetes` is imported inside the functions: importing envtest (the pytest plugin does)
# must stay cheap for test runs that never start a control plane.


class APIServiceUnavailable(RuntimeError):
    """An APIService did not become Available; the message carries its condition."""


def namespace_for_group(group: str) -> str:
    """The namespace derived from an API group: `wardle.example.com` -> `wardle`."""
    label = re.sub(r"[^a-z0-9-]+", "-", group.split(".")[0].lower()).strip("-")
    return label[:63] or "aggregated"


def apiservice_manifest(
    group: str, version: str, port: int, ca_bundle: bytes, *, service: str, namespace: str,
    group_priority_minimum: int = 1000, version_priority: int = 15,
) -> dict[str, Any]:
    return {
        "apiVersion": "apiregistration.k8s.io/v1",
        "kind": "APIService",
        "metadata": {"name": f"{version}.{group}"},
        "spec": {
            "group": group, "version": version,
            "groupPriorityMinimum": group_priority_minimum, "versionPriority": version_priority,
            "service": {"name": service, "namespace": namespace, "port": port},
            "caBundle": base64.b64encode(ca_bundle).decode(),
        },
    }


def externalname_service_manifest(service: str, namespace: str) -> dict[str, Any]:
    """The Service an APIService points at: the aggregator resolves it to localhost."""
    return {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": service, "namespace": namespace},
        "spec": {"type": "ExternalName", "externalName": "localhost"},
    }


def _create_or_patch(create: Callable[[], Any], patch: Callable[[], Any]) -> None:
    from kubernetes.client.exceptions import ApiException

    try:
        create()
    except ApiException as e:
        if e.status != 409:
            raise
        patch()


def register_apiservice(
    api: ApiClient, group: str, version: str, port: int, ca_bundle: bytes, *,
    service: str = "api", namespace: str | None = None,
    group_priority_minimum: int = 1000, version_priority: int = 15,
) -> str:
    """Create (or update) namespace, ExternalName Service and APIService; return its name."""
    from kubernetes import client

    namespace = namespace or namespace_for_group(group)
    core = client.CoreV1Api(api)
    ns_body = client.V1Namespace.model_validate({"metadata": {"name": namespace}})
    _create_or_patch(lambda: core.create_namespace(ns_body), lambda: None)
    svc = client.V1Service.model_validate(externalname_service_manifest(service, namespace))
    _create_or_patch(lambda: core.create_namespaced_service(namespace, svc),
                     lambda: core.patch_namespaced_service(service, namespace, svc))
    manifest = apiservice_manifest(
        group, version, port, ca_bundle, service=service, namespace=namespace,
        group_priority_minimum=group_priority_minimum, version_priority=version_priority)
    body = client.V1APIService.model_validate(manifest)
    reg = client.ApiregistrationV1Api(api)
    name = f"{version}.{group}"
    _create_or_patch(lambda: reg.create_api_service(body),
                     lambda: reg.patch_api_service(name, body))
    return name


def unregister_apiservice(api: ApiClient, group: str, version: str) -> None:
    """Delete the APIService `<version>.<group>` (the Service stays); absent is fine."""
    from kubernetes import client
    from kubernetes.client.exceptions import ApiException

    try:
        client.ApiregistrationV1Api(api).delete_api_service(f"{version}.{group}")
    except ApiException as e:
        if e.status != 404:
            raise


def wait_apiservice_available(api: ApiClient, name: str, timeout: float = 60.0) -> None:
    """Poll the APIService until its Available condition is True, else raise with its reason."""
    from kubernetes import client

    reg = client.ApiregistrationV1Api(api)
    deadline = time.monotonic() + timeout
    detail = "no Available condition yet"
    while True:
        status = reg.read_api_service(name).status
        for cond in (status.conditions if status else None) or []:
            if cond.type == "Available":
                if cond.status == "True":
                    return
                detail = f"{cond.reason}: {cond.message}"
        if time.monotonic() > deadline:
            raise APIServiceUnavailable(f"APIService {name} not Available after {timeout:.0f}s: "
                                        f"{detail}")
        time.sleep(0.25)


def grant_delegated_auth(api: ApiClient, user: str) -> None:
    """Let `user` (an aggregated server's own identity, not system:masters) do delegated
    authentication/authorization and read the `extension-apiserver-authentication` ConfigMap."""
    from kubernetes import client

    rbac = client.RbacAuthorizationV1Api(api)
    subjects = [{"kind": "User", "name": user, "apiGroup": "rbac.authorization.k8s.io"}]

    def binding(kind: str, name: str, role: str, namespace: str | None = None) -> dict[str, Any]:
        meta = {"name": name} | ({"namespace": namespace} if namespace else {})
        ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": kind, "name": role}
        return {"metadata": meta, "roleRef": ref, "subjects": subjects}

    crb = client.V1ClusterRoleBinding.model_validate(
        binding("ClusterRole", f"{user}:system:auth-delegator", "system:auth-delegator"))
    rb = client.V1RoleBinding.model_validate(binding(
        "Role", f"{user}:auth-reader", "extension-apiserver-authentication-reader", "kube-system"))
    _create_or_patch(lambda: rbac.create_cluster_role_binding(crb), lambda: None)
    _create_or_patch(lambda: rbac.create_namespaced_role_binding("kube-system", rb), lambda: None)
