"""Kubernetes manifests for an `Application`: every object its deployment needs, in a fixed
order, as YAML (one stream, or one file per kind plus a kustomization.yaml)."""

from __future__ import annotations

from k8s_aggapi.application import Application
from k8s_aggapi.manifests import rbac, workload
from k8s_aggapi.manifests.apiservice import apiservices
from k8s_aggapi.manifests.etcd import etcd
from k8s_aggapi.manifests.options import DeployOptions, Manifest, TLSFiles, metadata
from k8s_aggapi.manifests.output import to_yaml, write_dir

__all__ = ["DeployOptions", "Manifest", "TLSFiles", "render", "to_yaml", "write_dir"]

SHARED_NAMESPACES = ("default", "kube-system", "kube-public")


def render(app: Application, options: DeployOptions) -> list[Manifest]:
    """The objects of a deployment of `app`, in apply order (namespace and identity first,
    APIServices last so the aggregator finds a Service that exists)."""
    groups = list(app.groups())
    namespace = ([] if options.namespace in SHARED_NAMESPACES else
                 [{"apiVersion": "v1", "kind": "Namespace",
                   "metadata": metadata(options.namespace)}])
    return [
        *namespace,
        workload.service_account(app, options),
        *rbac.delegation(app, options),
        *rbac.own_rules(app, options),
        *rbac.aggregated_roles(app, groups),
        *workload.serving_secret(app, options),
        *etcd(app, options),
        workload.deployment(app, options),
        *workload.disruption_budget(app, options),
        workload.service(app, options),
        *apiservices(app, groups, options),
    ]
