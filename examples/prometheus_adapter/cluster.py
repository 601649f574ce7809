"""`make cluster-metrics`: the whole loop on this machine, to watch with kubectl.

An envtest control plane; the sample server (wardle); a loopback exporter whose
`http_requests_total` follows the pods of Deployment `web` (a load you change by writing a
number to `<state-dir>/load`); Debian's Prometheus scraping the exporter and the sample over
TLS, with monitoring/rules.yaml; the Prometheus adapter registered as
v1beta2/v1beta1.custom.metrics.k8s.io and v1beta1.external.metrics.k8s.io; an HPA on `web`.
Runs until Ctrl-C or SIGTERM; every child dies with it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import signal
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

import yaml

from k8s_aggapi.custommetrics import GROUP_PRIORITY_MINIMUM, VERSION_PRIORITIES
from k8s_aggapi.envtest.aggregated import start_aggregated_server
from k8s_aggapi.envtest.controlplane import ControlPlane
from k8s_aggapi.envtest.exporter import Exporter, PodLoad
from k8s_aggapi.envtest.prometheus import Prometheus, scrape_config

ROOT = Path(__file__).parents[2]
HPA = {
    "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
             "minReplicas": 1, "maxReplicas": 8,
             "metrics": [{"type": "Pods", "pods": {
                 "metric": {"name": "http_requests_per_second"},
                 "target": {"type": "AverageValue", "averageValue": "1"}}}]},
}
WEB = {
    "apiVersion": "apps/v1", "kind": "Deployment",
    "metadata": {"name": "web", "namespace": "default"},
    "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
             "template": {"metadata": {"labels": {"app": "web"}},
                          "spec": {"containers": [{"name": "app", "image": "fake"}]}}},
}


class _Stop(Exception):
    pass


def _stop(signum: int, frame: FrameType | None) -> None:
    raise _Stop(signal.Signals(signum).name)


def _prometheus_config(run: Path, cp: ControlPlane, exporter: Exporter,
                       wardle_port: int) -> dict[str, object]:
    shutil.copy(ROOT / "monitoring" / "rules.yaml", run / "rules.yaml")
    config = scrape_config({"exporter": [exporter.target]}, interval="2s",
                           rule_files=[run / "rules.yaml"])
    tls = {"ca_file": str(cp.pki.crt("ca")), "cert_file": str(cp.pki.crt("admin")),
           "key_file": str(cp.pki.key("admin")), "server_name": "api.wardle.svc"}
    config["scrape_configs"].append(
        {"job_name": "wardle-server", "scheme": "https", "tls_config": tls,
         "static_configs": [{"targets": [f"127.0.0.1:{wardle_port}"]}]})
    return config


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m examples.prometheus_adapter.cluster")
    p.add_argument("--state-dir", type=Path, default=Path(".aggapi/cluster-metrics"))
    args = p.parse_args(argv)
    state: Path = args.state_dir
    shutil.rmtree(state / "run", ignore_errors=True)
    (state / "run").mkdir(parents=True)
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, _stop)
    load_file = state / "load"
    load_file.write_text("3\n")
    cp = ControlPlane(state / "run" / "cp")
    try:
        cp.start()
        shutil.copy(cp.admin_kubeconfig, state / "kubeconfig")
        wardle = start_aggregated_server(
            f"{sys.executable} -m examples.sample_apiserver", "wardle.example.com/v1alpha1",
            control_plane=cp)
        with Exporter() as exporter:
            exporter.set_gauge("queue_depth", {"namespace": "default", "queue": "jobs"}, 25)
            run = state / "run"
            prometheus = Prometheus(run / "prometheus",
                                    config=_prometheus_config(run, cp, exporter, wardle.port))
            (run / "prometheus").mkdir(exist_ok=True)
            rules = run / "adapter-rules.yaml"
            rules.write_text((ROOT / "examples" / "prometheus_adapter" / "config.yaml").read_text())
            with prometheus, PodLoad(cp.admin_kubeconfig, exporter, "default", "web") as load:
                adapter = start_aggregated_server(
                    f"{sys.executable} -m examples.prometheus_adapter --config={rules} "
                    f"--prometheus-url={prometheus.url} --metrics-relist-interval=5s --v=3",
                    ["custom.metrics.k8s.io/v1beta2,v1beta1", "external.metrics.k8s.io/v1beta1"],
                    control_plane=cp, timeout=120)
                for (group, version), priority in VERSION_PRIORITIES.items():
                    cp.register_apiservice(group, version, adapter.port, service=adapter.service,
                                           namespace=adapter.namespace, version_priority=priority,
                                           group_priority_minimum=GROUP_PRIORITY_MINIMUM)
                cp.apply(WEB)
                cp.apply(HPA)
                kc = state / "kubeconfig"
                print(yaml.safe_dump({"kubeconfig": str(kc), "prometheus": prometheus.url,
                                      "load (requests/s, edit it)": str(load_file)}), end="")
                print(f"try:\n  kubectl --kubeconfig {kc} get hpa web -w\n"
                      f"  kubectl --kubeconfig {kc} get --raw "
                      "'/apis/custom.metrics.k8s.io/v1beta2/namespaces/default/pods/*/"
                      "http_requests_per_second?labelSelector=app%3Dweb'\n"
                      f"  echo 8 > {load_file}\nCtrl-C to stop", flush=True)
                (state / "ready").write_text(json.dumps({"prometheus": prometheus.url}))
                while True:
                    with contextlib.suppress(OSError, ValueError):
                        load.total = float(load_file.read_text().strip() or 0)
                    time.sleep(1)
    except _Stop as e:
        print(f"{e}: stopping", flush=True)
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)
        (state / "ready").unlink(missing_ok=True)
        cp.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
