"""`python -m k8s_aggapi.envtest build | path NAME | cluster`: binaries and a dev cluster.

`build` builds every missing binary into the cache and prints the paths; `path` prints one path
(building it if needed); `cluster` runs a control plane with aggregated servers (`make cluster`).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from k8s_aggapi.envtest.binaries import ALL_BINARIES, BinariesUnavailable, ensure_binaries


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m k8s_aggapi.envtest")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("build", help="build the missing binaries into the cache; print all paths")
    path = sub.add_parser("path", help="print the path of one binary (built when missing)")
    path.add_argument("name", choices=ALL_BINARIES)
    cluster = sub.add_parser("cluster", help="run a control plane until Ctrl-C")
    cluster.add_argument("--state-dir", type=Path, default=Path(".aggapi/cluster"))
    cluster.add_argument(
        "--server", action="append", default=[], metavar="GROUP/VERSION[,VERSION...]=COMMAND",
        help="an aggregated server to start and register (repeatable); {kubelet_ca} in "
             "COMMAND is replaced by the kubelets' CA file, {etcd} by the control plane's "
             "etcd URL, {prometheus} by Prometheus's URL; GROUP/VERSION,VERSION,GROUP/VERSION "
             "for a server of several groups")
    cluster.add_argument(
        "--demo-workload", action="store_true",
        help="run kwok pods that report CPU and memory (namespace demo), for kubectl top")
    cluster.add_argument(
        "--prometheus", action="store_true",
        help="run Prometheus (Debian's, installed when missing) scraping kube-apiserver and "
             "every server; with --demo-workload also the HPA demo on custom and external "
             "metrics")
    cluster.add_argument(
        "--prometheus-rules", action="append", default=[], type=Path, metavar="FILE",
        help="a rule file for that Prometheus (repeatable), e.g. monitoring/rules.yaml")
    cluster.add_argument(
        "--stop-with-parent", action="store_true",
        help="stop (as on SIGTERM) when the parent process exits, e.g. a killed `make`")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "build":
            for name, path in ensure_binaries().items():
                print(f"{name}\t{path}")
        elif args.command == "path":
            print(ensure_binaries([args.name])[args.name])
        else:
            from k8s_aggapi.envtest.cluster import run_cluster

            return run_cluster(args.state_dir, args.server, stop_with_parent=args.stop_with_parent,
                               demo_workload=args.demo_workload, prometheus=args.prometheus,
                               rule_files=args.prometheus_rules)
    except BinariesUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
