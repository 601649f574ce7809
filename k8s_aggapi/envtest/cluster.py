"""`make cluster`: a control plane plus aggregated servers, kept running until a signal.

Writes `<state-dir>/kubeconfig` (admin) at once and `<state-dir>/ready` (JSON: kubeconfig,
Prometheus URL, APIServices, logs; also printed as one `ready: {...}` line) when every
APIService is Available. With `prometheus`, Debian's Prometheus runs beside it, scraping every
server (`cluster_metrics`), and `{prometheus}` in a server's command is its URL; with the demo
workload as well, the HPA demo runs. On SIGINT, SIGTERM or SIGHUP it stops everything at once
(a few seconds) and removes `ready`; killed outright, its leashed children die with it
(`lifetime`).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TextIO

from k8s_aggapi.custommetrics import GROUP_PRIORITY_MINIMUM, VERSION_PRIORITIES
from k8s_aggapi.envtest.aggregated import AggregatedServer, start_aggregated_server
from k8s_aggapi.envtest.apiservice import APIServiceUnavailable
from k8s_aggapi.envtest.cluster_metrics import MetricsLoop
from k8s_aggapi.envtest.controlplane import ControlPlane
from k8s_aggapi.envtest.leash import PR_SET_PDEATHSIG, prctl
from k8s_aggapi.envtest.processes import StartupError
from k8s_aggapi.envtest.prometheus import PrometheusUnavailable


def parse_server_spec(spec: str) -> tuple[str, str]:
    """`"wardle.example.com/v1alpha1=python -m examples.sample_apiserver"` -> (gvs, command)."""
    group_versions, sep, command = spec.partition("=")
    if not sep or not command.strip():
        raise ValueError(f"expected GROUP/VERSION[,VERSION...]=COMMAND, got {spec!r}")
    return group_versions.strip(), command.strip()


def split_groups(group_versions: str) -> list[str]:
    """`"a.io/v2,v1,b.io/v1"` -> `["a.io/v2,v1", "b.io/v1"]`: an item with a `/` starts a
    group (one server may serve several, as a metrics adapter serves custom and external)."""
    groups: list[list[str]] = []
    for item in (i.strip() for i in group_versions.split(",")):
        if "/" in item or not groups:
            groups.append([item])
        elif item:
            groups[-1].append(item)
    return [",".join(g) for g in groups]


class _Stop(Exception):
    pass


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def stop_when_parent_exits() -> None:
    """Have the kernel send us SIGTERM when our parent (e.g. `make`) exits (Linux only)."""
    if sys.platform == "linux":
        parent = os.getppid()
        prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent:  # it exited before prctl
            os.kill(os.getpid(), signal.SIGTERM)


def expand_spec(command: str, cp: ControlPlane, prometheus: str | None = None) -> str:
    """Fill `{kubelet_ca}` (the kubelets' CA file, for a metrics server's
    `--kubelet-certificate-authority`), `{etcd}` (the control plane's etcd: a server keeps
    its objects there under its own --etcd-prefix, as kube-apiserver's are under /registry)
    and `{prometheus}` (the URL of the Prometheus beside it) in a server's command line."""
    if "{etcd}" in command:
        command = command.replace("{etcd}", cp.etcd_url)
    if "{prometheus}" in command:
        if prometheus is None:
            raise ValueError(f"{{prometheus}} in {command!r} needs --prometheus")
        command = command.replace("{prometheus}", prometheus)
    return command.replace("{kubelet_ca}", str(cp.kubelet_ca))


def register_priorities(server: AggregatedServer) -> None:
    """Give a metrics adapter's APIServices the priorities custom-metrics-apiserver's
    deployment gives them (v1beta2 preferred); other servers keep the defaults."""
    for group, version in server.group_versions:
        priority = VERSION_PRIORITIES.get((group, version))
        if priority is not None:
            server.control_plane.register_apiservice(
                group, version, server.port, service=server.service,
                namespace=server.namespace, version_priority=priority,
                group_priority_minimum=GROUP_PRIORITY_MINIMUM)


def run_cluster(state_dir: Path, servers: Sequence[str] = (), *, out: TextIO = sys.stdout,
                stop_with_parent: bool = False, demo_workload: bool = False,
                prometheus: bool = False, rule_files: Sequence[Path] = ()) -> int:
    """Run until a signal (or, with `stop_with_parent`, our parent's exit); return the exit
    code (0 after a clean stop). `demo_workload` starts kwok pods that report CPU and memory
    (`k8s_aggapi.envtest.demo`) before the servers, so a metrics server has data at once;
    `prometheus` runs Prometheus with `rule_files` (and, with `demo_workload`, the HPA demo)."""
    specs = [parse_server_spec(s) for s in servers]
    state_dir = state_dir.resolve()  # Prometheus reads files relative to its own config
    state_dir.mkdir(parents=True, exist_ok=True)
    ready, kubeconfig = state_dir / "ready", state_dir / "kubeconfig"
    ready.unlink(missing_ok=True)
    run_dir = state_dir / "run"
    shutil.rmtree(run_dir, ignore_errors=True)  # fresh etcd every time
    previous = {s: signal.signal(s, _raise_stop) for s in STOP_SIGNALS}
    if stop_with_parent:
        stop_when_parent_exits()
    t0, code = time.monotonic(), 0
    cp = ControlPlane(run_dir)
    started: list[AggregatedServer] = []
    loop: MetricsLoop | None = None
    try:
        cp.start()
        shutil.copy(cp.admin_kubeconfig, kubeconfig)
        print(kubeconfig, file=out, flush=True)
        if demo_workload:
            from k8s_aggapi.envtest.demo import DEMO_NAMESPACE, demo_manifests

            for manifest in demo_manifests():
                cp.apply(manifest)
            print(f"demo workload: kwok pods in namespace {DEMO_NAMESPACE} "
                  "(kubectl top pod -n demo)", file=out, flush=True)
        if prometheus:
            loop = MetricsLoop(cp, run_dir / "prometheus", state_dir, rule_files)
            loop.start()
            print(f"prometheus: {loop.url} (log {loop.prometheus.process.log_path})",
                  file=out, flush=True)
        for group_versions, command in specs:
            server = start_aggregated_server(
                expand_spec(command, cp, loop.url if loop else None),
                split_groups(group_versions), control_plane=cp, timeout=120)
            started.append(server)
            register_priorities(server)
            if loop is not None:
                loop.scrape(server)
            print(f"{', '.join(server.apiservices)} -> 127.0.0.1:{server.port} "
                  f"(log {server.log_path})", file=out, flush=True)
        if loop is not None and demo_workload:
            loop.start_demo()
            print(f"HPA demo in namespace demo: load {loop.load_file}, queue depth "
                  f"{loop.queue_file} (edit them); kubectl get hpa -n demo -w",
                  file=out, flush=True)
        summary = _summary(kubeconfig, run_dir, started, loop)
        ready.write_text(json.dumps(summary, indent=2) + "\n")
        print(f"ready in {time.monotonic() - t0:.1f}s (control plane "
              f"{cp.timings['total']:.1f}s); logs in {run_dir / 'logs'}; Ctrl-C to stop",
              file=out, flush=True)
        print(f"ready: {json.dumps(summary)}", file=out, flush=True)
        _watch(started, out, loop)
    except _Stop as e:
        print(f"{e}: stopping", file=out, flush=True)
    except (StartupError, APIServiceUnavailable, PrometheusUnavailable, ValueError) as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        code = 1
    finally:
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        ready.unlink(missing_ok=True)
        for server in reversed(started):
            with contextlib.suppress(Exception):
                server.close()
        if loop is not None:
            with contextlib.suppress(Exception):
                loop.close()
        cp.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code


def _summary(kubeconfig: Path, run_dir: Path, servers: Sequence[AggregatedServer],
             loop: MetricsLoop | None) -> dict[str, object]:
    """What `ready` holds: where everything is, for a person or a script."""
    summary: dict[str, object] = {
        "kubeconfig": str(kubeconfig.resolve()), "logs": str((run_dir / "logs").resolve()),
        "apiservices": [name for s in servers for name in s.apiservices],
        "servers": {s.process.name: {"port": s.port, "log": str(s.log_path.resolve())}
                    for s in servers},
    }
    if loop is not None:
        summary["prometheus"] = loop.url
        if loop.load is not None:
            summary["load"] = str(loop.load_file.resolve())
            summary["queueDepth"] = str(loop.queue_file.resolve())
    return summary


def _watch(servers: list[AggregatedServer], out: TextIO, loop: MetricsLoop | None) -> None:
    """Sleep until a signal; report (once) a process that exited on its own; follow the
    demo's load and queue depth files."""
    processes = [s.process for s in servers] + ([loop.prometheus.process] if loop else [])
    reported: set[str] = set()
    while True:
        time.sleep(1)
        if loop is not None:
            loop.poll()
        for p in processes:
            if not p.running and p.name not in reported:
                reported.add(p.name)
                print(f"warning: {p.name} exited with code {p.returncode}; "
                      f"see {p.log_path}", file=out, flush=True)
