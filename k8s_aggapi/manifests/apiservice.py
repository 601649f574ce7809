"""One APIService per group version, pointing at the server's Service.

The preferred (first) version of a group gets the highest versionPriority; the group's
groupPriorityMinimum defaults to 1000 (above the built-in groups' ordering is not needed).
"""

from __future__ import annotations

import base64
from collections.abc import Sequence

from k8s_aggapi.api import APIGroup
from k8s_aggapi.application import Application
from k8s_aggapi.manifests.options import LABEL, DeployOptions, Manifest, metadata


def apiservices(app: Application, groups: Sequence[APIGroup],
                options: DeployOptions) -> list[Manifest]:
    group_min = options.group_priority_minimum or app.group_priority_minimum
    base = options.version_priority or app.version_priority
    port = options.local_port or 443
    out = []
    for group in groups:
        count = len(group.versions)
        for index, version in enumerate(group.versions):
            spec: Manifest = {
                "group": group.name, "version": version.name,
                "groupPriorityMinimum": group_min,
                "versionPriority": base + 5 * (count - 1 - index),
                "service": {"name": app.name, "namespace": options.namespace, "port": port},
            }
            if options.tls is None:
                spec["insecureSkipTLSVerify"] = True
            else:
                spec["caBundle"] = base64.b64encode(options.tls.ca).decode()
            out.append({"apiVersion": "apiregistration.k8s.io/v1", "kind": "APIService",
                        "metadata": metadata(f"{version.name}.{group.name}",
                                             **{LABEL: app.name}),
                        "spec": spec})
    return out
