"""`python -m examples.prometheus_adapter --config rules.yaml --prometheus-url URL [flags]`:
prometheus-adapter's own flags, then upstream's serving flags (--secure-port, ...).

`python -m examples.prometheus_adapter explain --config rules.yaml --prometheus-url URL`
prints, per rule, the series found, the metric names produced and a query with its answer.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import re
import sys
from collections.abc import Sequence
from pathlib import Path

from examples.prometheus_adapter.config import AdapterConfig, parse_config
from examples.prometheus_adapter.mapper import ResourceMapper
from examples.prometheus_adapter.prometheus import PrometheusClient
from examples.prometheus_adapter.provider import (
    ObjectLister,
    PrometheusCustomMetrics,
    PrometheusExternalMetrics,
)
from examples.prometheus_adapter.registry import SeriesRegistry, relisting
from k8s_aggapi import kube
from k8s_aggapi.custommetrics import metrics_groups

PROG = "python -m examples.prometheus_adapter"
log = logging.getLogger("prometheus_adapter")
_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}


def duration(text: str) -> float:
    """Go-style durations: `30s`, `1m`, `1m30s`, `500ms`."""
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def adapter_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=PROG, add_help=False)
    p.add_argument("--config", required=True, help="prometheus-adapter's rules (YAML)")
    p.add_argument("--prometheus-url", default="http://localhost:9090")
    p.add_argument("--prometheus-timeout", type=duration, default=10.0,
                   help="how long one call to Prometheus may take")
    p.add_argument("--metrics-relist-interval", type=duration, default=30.0,
                   help="how often each rule's seriesQuery is asked again (upstream: 10m)")
    p.add_argument("--metrics-max-age", type=duration, default=None,
                   help="how far back series discovery looks (default: the relist interval, "
                        "at least 1m)")
    return p


def _peek(argv: Sequence[str], flag: str, default: str) -> str:
    p = argparse.ArgumentParser(add_help=False)
    p.add_argument(flag, default=default)
    known, _ = p.parse_known_args(argv)
    return str(getattr(known, flag.lstrip("-").replace("-", "_")))


def build_registry(args: argparse.Namespace, config: AdapterConfig,
                   mapper: ResourceMapper) -> SeriesRegistry:
    max_age = args.metrics_max_age or max(args.metrics_relist_interval, 60.0)
    prometheus = PrometheusClient(args.prometheus_url, timeout=args.prometheus_timeout)
    return SeriesRegistry(config.rules, config.external_rules, prometheus, mapper,
                          max_age=max_age)


async def serve(args: argparse.Namespace, rest: list[str]) -> None:
    from k8s_aggapi.options import config_from_args
    from k8s_aggapi.server import run

    config = parse_config(await asyncio.to_thread(Path(args.config).read_text))
    mapper = ResourceMapper()
    client = await kube.connect(_peek(rest, "--kubeconfig", ""))
    registry = build_registry(args, config, mapper)

    async def refresh_kinds() -> None:
        if client is None:
            return
        try:
            await mapper.refresh(client)
        except kube.KubeError as exc:
            log.warning("reading the cluster's kinds: %s", exc)

    custom = ([PrometheusCustomMetrics(registry, ObjectLister(client, mapper))]
              if config.rules and client is not None else [])
    if config.rules and client is None:
        log.warning("no kubeconfig and not in a cluster: metrics of objects are not served")
    external = [PrometheusExternalMetrics(registry)] if config.external_rules else []
    server_config = config_from_args(metrics_groups(custom=custom, external=external), rest,
                                     title="prometheus-adapter", prog=PROG)
    try:
        async with relisting(registry, args.metrics_relist_interval, refresh_kinds):
            await run(server_config)
    finally:
        await registry.prometheus.close()
        if client is not None:
            await client.close()


async def explain(args: argparse.Namespace) -> int:
    """Each rule's discovery, names and one query, printed: the adapter's dry run."""
    config = parse_config(await asyncio.to_thread(Path(args.config).read_text))
    registry = build_registry(args, config, ResourceMapper())
    try:
        await registry.relist()
        for status in registry.status.values():
            print(status.line())
        for (gr, metric), (_, found) in sorted(registry.custom.items(), key=str):
            label = found.namer.label_for(gr)
            print(f"  {gr}/{metric}: series {found.series}, objects named by label {label}")
        for metric, found in sorted(registry.external.items()):
            print(f"  external {metric}: series {found.series}")
    finally:
        await registry.prometheus.close()
    return 1 if registry.relist_error else 0


def main(argv: Sequence[str] | None = None) -> None:
    argv = list(sys.argv[1:] if argv is None else argv)
    is_explain = bool(argv) and argv[0] == "explain"
    args, rest = adapter_parser().parse_known_args(argv[1:] if is_explain else argv)
    verbosity = int(_peek(rest, "--v", "0") or 0)
    logging.basicConfig(level=logging.DEBUG if verbosity >= 4 else logging.INFO,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if is_explain:
        sys.exit(asyncio.run(explain(args)))
    from k8s_aggapi.serving.loop import run as run_on_loop

    with contextlib.suppress(KeyboardInterrupt):
        run_on_loop(serve(args, rest), loop="auto")


if __name__ == "__main__":
    main()
