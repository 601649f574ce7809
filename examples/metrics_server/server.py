"""`python -m examples.metrics_server [flags]`: upstream metrics-server's flags -> serving.

The core's flags (serving, delegated authentication and authorization, `--kubeconfig`) and
metrics-server's own are parsed once; the API group is built on a `MetricsManager`, which
runs beside the server as one of its components; the `metrics_server_*` families join the
server's own registry on /metrics.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import sys
from collections.abc import Sequence
from typing import Any

from examples.metrics_server.manager import MetricsManager
from examples.metrics_server.options import MetricsOptions, add_flags, options_from
from examples.metrics_server.rest import NodeMetricsREST, PodMetricsREST
from examples.metrics_server.types import GROUP, VERSION, NodeMetrics, PodMetrics
from k8s_aggapi.api import APIGroup, ResourceInfo
from k8s_aggapi.config import ServerConfig
from k8s_aggapi.options import build_parser, config_from_namespace
from k8s_aggapi.version import package_version

log = logging.getLogger("examples.metrics_server")
TITLE = "Kubernetes metrics-server"
# Each cycle allocates a few objects per container while storage holds hundreds of thousands:
# with the default thresholds the cyclic GC ran so often that it took half of the decode and
# store CPU (measured at 1,000 nodes x 60 containers). Nothing here makes reference cycles on
# purpose, so collect far less often still than a server's default (`serving.loop`).
GC_THRESHOLDS = (100_000, 20, 20)


def metrics_group(manager: MetricsManager) -> APIGroup:
    """metrics.k8s.io/v1beta1: nodes (NodeMetrics) and pods (PodMetrics), get and list."""
    group = APIGroup(GROUP)
    version = group.version(VERSION)
    version.add_rest(
        ResourceInfo(kind="NodeMetrics", plural="nodes", model=NodeMetrics, namespaced=False),
        NodeMetricsREST(manager.storage, manager.nodes, manager.options.node_selector,
                        manager.monitoring))
    version.add_rest(
        ResourceInfo(kind="PodMetrics", plural="pods", model=PodMetrics, namespaced=True),
        PodMetricsREST(manager.storage, manager.pods, manager.monitoring))
    return group


def default_groups() -> list[APIGroup]:
    """The group on a manager with default options (what `aggapi manifests` reads)."""
    return [metrics_group(MetricsManager(MetricsOptions()))]


async def run(config: ServerConfig, manager: MetricsManager) -> None:
    from k8s_aggapi.running import RunningServer
    from k8s_aggapi.server import build_app

    completed = await config.complete()
    serving = completed.serving
    if serving is None:
        raise ValueError("serving is not configured")
    completed = dataclasses.replace(
        completed, components=(*completed.components, manager))
    for collector in list(manager.monitoring.registry._collector_to_names):
        completed.metrics.registry.register(collector)
    running = RunningServer(completed)

    async def on_ready(server: Any) -> None:
        log.info("serving securely on %s:%s", serving.bind_address, server.port)

    await running.serve(build_app(completed, running), on_ready=on_ready,
                        log_level="debug" if config.verbosity >= 4 else "info")


def main(argv: Sequence[str] | None = None, *, prog: str | None = None) -> None:
    import prometheus_client

    from k8s_aggapi.serving.loop import run as run_on_loop

    prometheus_client.disable_created_metrics()  # type: ignore[no-untyped-call]  # upstream's families only, no `_created`
    parser = build_parser(prog, TITLE)
    add_flags(parser)
    args = parser.parse_args(argv)
    if args.version:
        sys.stdout.write(f"{package_version()}\n")
        return
    try:
        options = options_from(args)
    except ValueError as exc:
        parser.error(str(exc))
    manager = MetricsManager(options)
    config = config_from_namespace([metrics_group(manager)], args, title=TITLE)
    config = dataclasses.replace(config, health=manager.health_checks())
    logging.basicConfig(
        level=logging.DEBUG if config.verbosity >= 4 else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if config.verbosity >= 3:
        logging.getLogger("k8s_aggapi.httplog").setLevel(logging.DEBUG)
    with contextlib.suppress(KeyboardInterrupt):
        run_on_loop(run(config, manager), gc_thresholds=GC_THRESHOLDS)
