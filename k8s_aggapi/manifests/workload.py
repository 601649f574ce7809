"""The server's workload: ServiceAccount, serving-cert Secret, Deployment, PDB and Service.

Probes, security context and HA as upstream's metrics-server ships them (manifests/base and
components/high-availability): /livez and /readyz over HTTPS, non-root with a read-only
root filesystem, anti-affinity and a PodDisruptionBudget when there is more than one replica.
"""

from __future__ import annotations

import base64

from k8s_aggapi.application import Application
from k8s_aggapi.manifests.options import DeployOptions, Manifest, metadata, selector_labels

CERT_DIR = "/etc/aggapi/serving-cert"


def secret_name(app: Application) -> str:
    return f"{app.name}-serving-cert"


def service_account(app: Application, options: DeployOptions) -> Manifest:
    return {"apiVersion": "v1", "kind": "ServiceAccount",
            "metadata": metadata(app.name, options.namespace, **selector_labels(app.name))}


def serving_secret(app: Application, options: DeployOptions) -> list[Manifest]:
    if options.tls is None:
        return []
    data = {"ca.crt": options.tls.ca, "tls.crt": options.tls.cert, "tls.key": options.tls.key}
    return [{"apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
             "metadata": metadata(secret_name(app), options.namespace,
                                  **selector_labels(app.name)),
             "data": {k: base64.b64encode(v).decode() for k, v in data.items()}}]


def etcd_servers(app: Application, options: DeployOptions) -> str:
    return f"http://{app.name}-etcd.{options.namespace}.svc:2379"


def _args(app: Application, options: DeployOptions) -> list[str]:
    args = [f"--secure-port={app.port}"]
    if options.tls is None:  # self-signed at start; the APIService skips verification
        args += ["--cert-dir=/tmp", f"--tls-san={app.name}.{options.namespace}.svc"]
    else:
        args += [f"--tls-cert-file={CERT_DIR}/tls.crt",
                 f"--tls-private-key-file={CERT_DIR}/tls.key"]
    if options.storage == "etcd":
        if app.storage_groups is not None:  # the server offers --storage memory|etcd
            args.append("--storage=etcd")
        args += [f"--etcd-servers={etcd_servers(app, options)}", "--etcd-prefix=/registry"]
    return args + list(app.args)


def _probe(path: str, **extra: int) -> Manifest:
    return {"httpGet": {"path": path, "port": "https", "scheme": "HTTPS"},
            "periodSeconds": 10, "failureThreshold": 3, **extra}


def _resources(app: Application) -> Manifest:
    resources: Manifest = {"requests": dict(app.requests)}
    if app.memory_limit:
        resources["limits"] = {"memory": app.memory_limit}
    return resources


def _container(app: Application, options: DeployOptions) -> Manifest:
    mounts: list[Manifest] = [{"name": "tmp", "mountPath": "/tmp"}]
    if options.tls is not None:
        mounts.append({"name": "serving-cert", "mountPath": CERT_DIR, "readOnly": True})
    container: Manifest = {"name": app.name, "image": options.image,
                           "imagePullPolicy": options.image_pull_policy}
    if app.command:
        container["command"] = list(app.command)
    container |= {
        "args": _args(app, options),
        "ports": [{"name": "https", "containerPort": app.port, "protocol": "TCP"}],
        "readinessProbe": _probe("/readyz", initialDelaySeconds=5),
        "livenessProbe": _probe("/livez", initialDelaySeconds=10),
        "resources": _resources(app),
        "securityContext": {
            "allowPrivilegeEscalation": False, "readOnlyRootFilesystem": True,
            "runAsNonRoot": True, "runAsUser": 1000,
            "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": mounts,
    }
    return container


def deployment(app: Application, options: DeployOptions) -> Manifest:
    labels = selector_labels(app.name)
    volumes: list[Manifest] = [{"name": "tmp", "emptyDir": {}}]
    if options.tls is not None:
        volumes.append({"name": "serving-cert", "secret": {"secretName": secret_name(app)}})
    pod: Manifest = {
        "serviceAccountName": app.name,
        "securityContext": {"runAsNonRoot": True, "seccompProfile": {"type": "RuntimeDefault"}},
        "nodeSelector": {"kubernetes.io/os": "linux"},
        "containers": [_container(app, options)],
        "volumes": volumes,
    }
    if app.priority_class:
        pod = {"priorityClassName": app.priority_class, **pod}
    if options.replicas > 1:
        pod["affinity"] = {"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "podAffinityTerm": {
                "labelSelector": {"matchLabels": labels},
                "topologyKey": "kubernetes.io/hostname"}}]}}
    return {"apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": metadata(app.name, options.namespace, **labels),
            "spec": {"replicas": options.replicas, "selector": {"matchLabels": labels},
                     "strategy": {"rollingUpdate": {
                         "maxUnavailable": 1 if options.replicas > 1 else 0, "maxSurge": 1}},
                     "template": {"metadata": {"labels": labels}, "spec": pod}}}


def disruption_budget(app: Application, options: DeployOptions) -> list[Manifest]:
    if options.replicas <= 1:
        return []
    labels = selector_labels(app.name)
    return [{"apiVersion": "policy/v1", "kind": "PodDisruptionBudget",
             "metadata": metadata(app.name, options.namespace, **labels),
             "spec": {"minAvailable": 1, "selector": {"matchLabels": labels}}}]


def service(app: Application, options: DeployOptions) -> Manifest:
    labels = selector_labels(app.name)
    meta = metadata(app.name, options.namespace, **labels)
    if options.local_port is not None:  # the aggregator dials localhost:<APIService port>
        return {"apiVersion": "v1", "kind": "Service", "metadata": meta,
                "spec": {"type": "ExternalName", "externalName": "localhost"}}
    return {"apiVersion": "v1", "kind": "Service", "metadata": meta,
            "spec": {"selector": labels, "ports": [
                {"name": "https", "port": 443, "targetPort": "https", "protocol": "TCP"}]}}
