"""monitoring/: the rules pass `promtool check rules`, a real Prometheus (Debian's) scraping a
real k8s-aggapi server (the sample in dev mode, over TLS with a client certificate) evaluates
them, an alert fires for a server that is down, and every panel of the Grafana dashboard
returns data."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from k8s_aggapi.envtest.processes import free_port
from k8s_aggapi.envtest.prometheus import Prometheus, ensure_prometheus
from tests.integration.test_sample_dev import DevServer, dev_server

pytestmark = pytest.mark.integration
MONITORING = Path(__file__).parents[2] / "monitoring"


def test_promtool_checks_the_rules(prometheus_binary: Path) -> None:
    result = subprocess.run([str(ensure_prometheus("promtool")), "check", "rules",
                             str(MONITORING / "rules.yaml")], capture_output=True, text=True,
                            check=False, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def promtool(*args: str, cwd: Path | None = None) -> str:
    result = subprocess.run([str(ensure_prometheus("promtool")), *args], capture_output=True,
                            text=True, check=False, timeout=60, cwd=cwd)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout + result.stderr


def test_promtool_unit_tests_fire_the_use_alerts(prometheus_binary: Path) -> None:
    """monitoring/rules-test.yaml: the fd-saturation and CPU alerts on synthetic series."""
    assert "SUCCESS" in promtool("test", "rules", "rules-test.yaml", cwd=MONITORING)


def test_promtool_checks_the_envtest_scrape_config(prometheus_binary: Path,
                                                   tmp_path: Path) -> None:
    """The whole check (rule files and TLS files must exist): beside copies of what it names."""
    config = yaml.safe_load((MONITORING / "scrape-envtest.yaml").read_text())
    for job in config["scrape_configs"]:
        for name in job.get("tls_config", {}).values():
            (tmp_path / name).write_text("")
    for name in config["rule_files"]:
        shutil.copy(MONITORING / name, tmp_path / name)
    shutil.copy(MONITORING / "scrape-envtest.yaml", tmp_path)
    out = promtool("check", "config", "scrape-envtest.yaml", cwd=tmp_path)
    assert "SUCCESS: 1 rule files found" in out and "rules.yaml" in out


def test_promtool_checks_the_in_cluster_scrape_config(prometheus_binary: Path,
                                                      tmp_path: Path) -> None:
    """Debian's Prometheus is built without Kubernetes service discovery, so its promtool
    checks the file with the discovery replaced by a static target; what the discovery's
    labels feed (relabelling, TLS, token) is checked as written."""
    config = yaml.safe_load((MONITORING / "scrape-in-cluster.yaml").read_text())
    job = config["scrape_configs"][0]
    assert job.pop("kubernetes_sd_configs") == [{"role": "endpoints"}]
    sources = {label for rule in job["relabel_configs"] for label in rule["source_labels"]}
    assert all(label.startswith("__meta_kubernetes_") for label in sources), sources
    job["static_configs"] = [{"targets": ["127.0.0.1:443"]}]
    (tmp_path / "scrape-in-cluster.yaml").write_text(yaml.safe_dump(config))
    out = promtool("check", "config", "--syntax-only", "scrape-in-cluster.yaml", cwd=tmp_path)
    assert "SUCCESS" in out


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevServer]:
    with dev_server(tmp_path_factory.mktemp("dev")) as dev:
        yield dev


@pytest.fixture(scope="module")
def prometheus(server: DevServer, tmp_path_factory: pytest.TempPathFactory,
               prometheus_binary: Path) -> Iterator[Prometheus]:
    run_dir = tmp_path_factory.mktemp("prometheus")
    for name in ("serving-ca.crt", "admin.crt", "admin.key"):
        shutil.copy(server.dir / name, run_dir / name)
    shutil.copy(MONITORING / "rules.yaml", run_dir / "rules.yaml")
    config = yaml.safe_load((MONITORING / "scrape-envtest.yaml").read_text())
    config["global"]["scrape_interval"] = "2s"
    job = config["scrape_configs"][0]
    job["static_configs"] = [{"targets": [f"127.0.0.1:{server.port}"]}]
    for key in ("ca_file", "cert_file", "key_file"):
        job["tls_config"][key] = str(run_dir / job["tls_config"][key])
    config["rule_files"] = [str(run_dir / "rules.yaml")]
    down = {**job, "job_name": "gone-server",
            "static_configs": [{"targets": [f"127.0.0.1:{free_port()}"]}]}
    config["scrape_configs"].append(down)
    with Prometheus(run_dir, config=config) as p:
        yield p


def test_rules_evaluate_against_a_real_server(server: DevServer, prometheus: Prometheus) -> None:
    for _ in range(20):  # traffic: lists, gets of missing objects (404), discovery
        server.request("/apis/wardle.example.com/v1alpha1/namespaces/default/flunders",
                       cert="admin")
        server.request("/apis/wardle.example.com/v1alpha1/namespaces/default/flunders/nope",
                       cert="admin")
    prometheus.wait_for('job:apiserver_request:rate1m{job="wardle-server"} > 0', timeout=120)
    deadline = time.monotonic() + 60
    while True:  # each group evaluates on its own interval: "unknown" until its first run
        groups = prometheus.api("rules")["groups"]
        health = {r["name"]: (r["health"], r.get("lastError", "")) for g in groups
                  for r in g["rules"]}
        assert not [h for h in health.values() if h[0] == "err"], health
        if all(h == "ok" for h, _ in health.values()):
            break
        assert time.monotonic() < deadline, health
        time.sleep(1)
    by_code = prometheus.query('job_verb_code:apiserver_request:rate1m{job="wardle-server"}')
    assert {s["metric"]["code"] for s in by_code} >= {"200", "404"}
    errors = prometheus.query('job:apiserver_request_errors:ratio_rate1m{job="wardle-server"}')
    assert [float(s["value"][1]) for s in errors] == [0.0]  # 404s are no server errors


def test_down_server_raises_an_alert(prometheus: Prometheus) -> None:
    alerts = prometheus.wait_for(
        'ALERTS{alertname="AggregatedAPIServerDown",job="gone-server"}', timeout=120)
    assert alerts[0]["metric"]["alertstate"] in ("pending", "firing")
    # the recording rule's group runs on its own interval: poll it too, not one instant query
    up = prometheus.wait_for('job:up:min{job="wardle-server"}', timeout=120)
    assert up[0]["value"][1] == "1"


def test_every_dashboard_panel_returns_data(server: DevServer, prometheus: Prometheus) -> None:
    dashboard = json.loads((MONITORING / "grafana-dashboard.json").read_text())
    server.request("/apis/wardle.example.com/v1alpha1/namespaces/default/flunders", cert="admin")
    prometheus.wait_for('job:apiserver_request_duration_seconds:p99_1m{job="wardle-server"}',
                        timeout=120)
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            expr = target["expr"].replace("$job", ".*")
            result = prometheus.wait_for(expr, timeout=60)
            assert result, f"{panel['title']}: {expr} returned nothing"


def test_use_rules_read_the_servers_process_collectors(server: DevServer,
                                                       prometheus: Prometheus) -> None:
    """The sample's own /metrics feeds utilization and saturation: CPU in use, resident
    memory, the share of its fd limit (a few sockets and files of 1,024 or more)."""
    def one(expr: str) -> float:
        result = prometheus.wait_for(f'{expr}{{job="wardle-server"}}', timeout=120)
        return float(result[0]["value"][1])

    assert 0 < one("job:process_open_fds:ratio") < 0.5
    assert one("job:process_resident_memory_bytes:max") > 10 * 2**20
    assert one("job:process_cpu_seconds:rate1m") >= 0
    assert one("job:python_gc_collections:rate1m") >= 0
