"""An etcd for the server's storage (`--storage etcd`): a one-member StatefulSet and its
headless Service, plain HTTP inside the namespace, data on a PersistentVolumeClaim."""

from __future__ import annotations

from k8s_aggapi.application import Application
from k8s_aggapi.manifests.options import DeployOptions, Manifest, metadata


def etcd(app: Application, options: DeployOptions) -> list[Manifest]:
    if options.storage != "etcd":
        return []
    name = f"{app.name}-etcd"
    labels = {"app.kubernetes.io/name": name}
    peer = f"http://{name}-0.{name}.{options.namespace}.svc"
    container = {
        "name": "etcd", "image": options.etcd_image,
        "command": ["etcd", "--name=$(POD_NAME)", "--data-dir=/var/lib/etcd",
                    "--listen-client-urls=http://0.0.0.0:2379",
                    f"--advertise-client-urls={peer}:2379",
                    "--listen-peer-urls=http://0.0.0.0:2380",
                    f"--initial-advertise-peer-urls={peer}:2380",
                    f"--initial-cluster=$(POD_NAME)={peer}:2380"],
        "env": [{"name": "POD_NAME", "valueFrom": {"fieldRef": {"fieldPath": "metadata.name"}}}],
        "ports": [{"name": "client", "containerPort": 2379},
                  {"name": "peer", "containerPort": 2380}],
        "readinessProbe": {"httpGet": {"path": "/readyz", "port": "client"}, "periodSeconds": 10},
        "livenessProbe": {"httpGet": {"path": "/livez", "port": "client"}, "periodSeconds": 10},
        "resources": {"requests": {"cpu": "100m", "memory": "128Mi"}},
        "securityContext": {"allowPrivilegeEscalation": False, "runAsNonRoot": True,
                            "runAsUser": 1000, "capabilities": {"drop": ["ALL"]}},
        "volumeMounts": [{"name": "data", "mountPath": "/var/lib/etcd"}],
    }
    return [
        {"apiVersion": "apps/v1", "kind": "StatefulSet",
         "metadata": metadata(name, options.namespace, **labels),
         "spec": {"serviceName": name, "replicas": 1, "selector": {"matchLabels": labels},
                  "template": {"metadata": {"labels": labels}, "spec": {
                      "securityContext": {"fsGroup": 1000,
                                          "seccompProfile": {"type": "RuntimeDefault"}},
                      "containers": [container]}},
                  "volumeClaimTemplates": [{"metadata": {"name": "data"}, "spec": {
                      "accessModes": ["ReadWriteOnce"],
                      "resources": {"requests": {"storage": "1Gi"}}}}]}},
        {"apiVersion": "v1", "kind": "Service",
         "metadata": metadata(name, options.namespace, **labels),
         "spec": {"clusterIP": "None", "selector": labels, "publishNotReadyAddresses": True,
                  "ports": [{"name": "client", "port": 2379}, {"name": "peer", "port": 2380}]}},
    ]
