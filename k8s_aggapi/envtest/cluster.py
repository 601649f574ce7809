"""`make cluster`: a control plane plus aggregated servers, kept running until a signal.

Writes `<state-dir>/kubeconfig` (admin) at once and `<state-dir>/ready` when every APIService is
Available; on SIGINT, SIGTERM or SIGHUP it stops everything at once (a few seconds) and removes
`ready`; killed outright, its leashed children die with it (`lifetime`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType
from typing import TextIO

from k8s_aggapi.envtest.aggregated import AggregatedServer, start_aggregated_server
from k8s_aggapi.envtest.apiservice import APIServiceUnavailable
from k8s_aggapi.envtest.controlplane import ControlPlane
from k8s_aggapi.envtest.leash import PR_SET_PDEATHSIG, prctl
from k8s_aggapi.envtest.processes import StartupError


def parse_server_spec(spec: str) -> tuple[str, str]:
    """`"wardle.example.com/v1alpha1=python -m examples.sample_apiserver"` -> (gvs, command)."""
    group_versions, sep, command = spec.partition("=")
    if not sep or not command.strip():
        raise ValueError(f"expected GROUP/VERSION[,VERSION...]=COMMAND, got {spec!r}")
    return group_versions.strip(), command.strip()


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


def expand_spec(command: str, cp: ControlPlane) -> str:
    """Fill `{kubelet_ca}` (the kubelets' CA file, for a metrics server's
    `--kubelet-certificate-authority`) and `{etcd}` (the control plane's etcd: a server keeps
    its objects there under its own --etcd-prefix, as kube-apiserver's are under /registry)
    in a server's command line."""
    if "{etcd}" in command:
        command = command.replace("{etcd}", cp.etcd_url)
    return command.replace("{kubelet_ca}", str(cp.kubelet_ca))


def run_cluster(state_dir: Path, servers: Sequence[str] = (), *, out: TextIO = sys.stdout,
                stop_with_parent: bool = False, demo_workload: bool = False) -> int:
    """Run until a signal (or, with `stop_with_parent`, our parent's exit); return the exit
    code (0 after a clean stop). `demo_workload` starts kwok pods that report CPU and memory
    (`k8s_aggapi.envtest.demo`) before the servers, so a metrics server has data at once."""
    specs = [parse_server_spec(s) for s in servers]
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
        for group_versions, command in specs:
            server = start_aggregated_server(expand_spec(command, cp), group_versions,
                                             control_plane=cp)
            started.append(server)
            print(f"{', '.join(server.apiservices)} -> 127.0.0.1:{server.port} "
                  f"(log {server.log_path})", file=out, flush=True)
        ready.touch()
        print(f"ready in {time.monotonic() - t0:.1f}s (control plane "
              f"{cp.timings['total']:.1f}s); logs in {run_dir / 'logs'}; Ctrl-C to stop",
              file=out, flush=True)
        _watch(started, out)
    except _Stop as e:
        print(f"{e}: stopping", file=out, flush=True)
    except (StartupError, APIServiceUnavailable) as e:
        print(f"error: {e}", file=sys.stderr, flush=True)
        code = 1
    finally:
        for sig in previous:
            signal.signal(sig, signal.SIG_IGN)  # a second Ctrl-C must not cut the cleanup short
        ready.unlink(missing_ok=True)
        for server in reversed(started):
            with contextlib.suppress(Exception):
                server.close()
        cp.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return code


def _watch(servers: list[AggregatedServer], out: TextIO) -> None:
    """Sleep until a signal; report (once) a server that exited on its own."""
    reported: set[str] = set()
    while True:
        time.sleep(1)
        for s in servers:
            if not s.process.running and s.process.name not in reported:
                reported.add(s.process.name)
                print(f"warning: {s.process.name} exited with code {s.process.returncode}; "
                      f"see {s.log_path}", file=out, flush=True)
