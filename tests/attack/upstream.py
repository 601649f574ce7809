"""Check the corpus's expected codes against upstream: run every case through a real
kube-apiserver in front of the Go-built sample-apiserver, and print the cases whose answer
differs from `expect` (each such case says why in its `why`).

    python -m tests.attack.upstream PATH/TO/sample-apiserver

A tool for whoever edits corpus.yaml, not part of `make test` (it needs the Go binary).
"""

from __future__ import annotations

import sys
from pathlib import Path

from k8s_aggapi.envtest.aggregated import start_aggregated_server
from k8s_aggapi.envtest.binaries import ensure_binaries
from k8s_aggapi.envtest.controlplane import ControlPlane
from tests.attack import corpus
from tests.attack.http import Client, Identity


def main(sample: Path) -> int:
    differ = 0
    with ControlPlane(binaries=ensure_binaries()) as cp:
        command = [str(sample), f"--etcd-servers=http://127.0.0.1:{cp.ports.etcd}"]
        with start_aggregated_server(command, "wardle.example.com/v1alpha1",
                                     control_plane=cp, timeout=120):
            admin = Identity(cp.pki.crt("ca"), (cp.pki.crt("admin"), cp.pki.key("admin")))
            for i, case in enumerate(corpus.load()):
                if "raw" in case or case.get("as") == "front-proxy":
                    continue  # kube-apiserver answers these itself, or has no front proxy
                clients = {"admin": Client(cp.ports.apiserver, admin, timeout=30),
                           "anonymous": Client(cp.ports.apiserver, Identity(cp.pki.crt("ca")))}
                problems = corpus.Runner(clients).run(case, f"upstream-{i}")
                differ += bool(problems)
                print(case["id"], "same" if not problems else f"DIFFERS: {problems}")
    return differ


if __name__ == "__main__":
    sys.exit(1 if main(Path(sys.argv[1])) else 0)
