"""The Prometheus adapter against a real Prometheus (Debian's package, started by
k8s_aggapi.envtest) scraping a real exporter on loopback: discovery from `/api/v1/series`,
values from PromQL, both custom versions and external metrics through the whole app, a
relist that picks up a new series, a clear 503 when Prometheus is down, and `explain`."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient

from examples.prometheus_adapter.config import parse_config
from examples.prometheus_adapter.mapper import ResourceMapper
from examples.prometheus_adapter.prometheus import PrometheusClient
from examples.prometheus_adapter.provider import PrometheusCustomMetrics, PrometheusExternalMetrics
from examples.prometheus_adapter.registry import SeriesRegistry
from k8s_aggapi.custommetrics import metrics_groups
from k8s_aggapi.envtest.exporter import Exporter
from k8s_aggapi.envtest.processes import free_port
from k8s_aggapi.envtest.prometheus import Prometheus
from k8s_aggapi.errors import GroupResource
from k8s_aggapi.registry.selectors import LabelSelector
from k8s_aggapi.testing import build_test_app

pytestmark = pytest.mark.integration
CONFIG = Path(__file__).parents[2] / "examples" / "prometheus_adapter" / "config.yaml"
CM = "/apis/custom.metrics.k8s.io"
PODS = {"web-1": {"app": "web"}, "web-2": {"app": "web"}, "db-1": {"app": "db"}}


class Objects:
    """The objects a label selector selects (kube-apiserver's part; the e2e test uses it)."""

    async def names(self, gr: GroupResource, namespace: str, selector: LabelSelector) -> list[str]:
        return sorted(n for n, labels in PODS.items() if selector.matches(labels))


@pytest.fixture(scope="module")
def exporter() -> Iterator[Exporter]:
    with Exporter() as e:
        e.set_rate("http_requests_total", {"namespace": "demo", "pod": "web-1"}, 2.0)
        e.set_rate("http_requests_total", {"namespace": "demo", "pod": "web-2"}, 4.0)
        e.set_gauge("queue_depth", {"namespace": "demo", "queue": "jobs"}, 42)
        e.set_gauge("queue_depth", {"namespace": "demo", "queue": "mail"}, 8)
        yield e


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory: pytest.TempPathFactory, exporter: Exporter,
               prometheus_binary: Path) -> Iterator[Prometheus]:
    with Prometheus(tmp_path_factory.mktemp("prometheus"), {"exporter": [exporter.target]}) as p:
        p.wait_for('rate(http_requests_total{pod="web-2"}[30s]) > 3', timeout=90)
        yield p


def _app(url: str, timeout: float = 5.0) -> tuple[Any, SeriesRegistry]:
    config = parse_config(CONFIG.read_text())
    registry = SeriesRegistry(config.rules, config.external_rules,
                              PrometheusClient(url, timeout=timeout), ResourceMapper(),
                              max_age=600)
    groups = metrics_groups(custom=[PrometheusCustomMetrics(registry, Objects())],  # type: ignore[arg-type]
                            external=[PrometheusExternalMetrics(registry)])
    return build_test_app(groups), registry


@pytest.fixture
def adapter(prometheus: Prometheus) -> Iterator[tuple[TestClient, SeriesRegistry]]:
    app, registry = _app(prometheus.url)
    with TestClient(app) as client:
        client.portal.call(registry.relist)  # type: ignore[union-attr]
        yield client, registry
        client.portal.call(registry.prometheus.close)  # type: ignore[union-attr]


def test_discovery_from_series(adapter: tuple[TestClient, SeriesRegistry]) -> None:
    client, registry = adapter
    names = {r["name"] for r in client.get(f"{CM}/v1beta2").json()["resources"]}
    assert names == {"pods/http_requests_per_second", "namespaces/http_requests_per_second"}
    external = client.get("/apis/external.metrics.k8s.io/v1beta1").json()["resources"]
    assert [r["name"] for r in external] == ["queue_depth"]
    status = registry.status["rules[0]"]
    assert status.series == 2 and status.series_kept == 2
    assert status.discovery_error == ""


def test_pods_rate_by_selector_both_versions(adapter: tuple[TestClient, SeriesRegistry]) -> None:
    client, registry = adapter
    for version in ("v1beta2", "v1beta1"):
        r = client.get(f"{CM}/{version}/namespaces/demo/pods/%2A/http_requests_per_second",
                       params={"labelSelector": "app=web"})
        assert r.status_code == 200, r.text
        items = r.json()["items"]
        assert [i["describedObject"]["name"] for i in items] == ["web-1", "web-2"]
        assert items[0]["describedObject"] == {"kind": "Pod", "namespace": "demo",
                                               "name": "web-1", "apiVersion": "/v1"}
        values = [float(i["value"].removesuffix("m")) / (1000 if "m" in i["value"] else 1)
                  for i in items]
        # rate() over a window the series only partly covers yet is lower: compare the pods
        assert values[0] > 0.5
        assert 1.6 < values[1] / values[0] < 2.4
    assert registry.status["rules[0]"].last_query == (
        'sum(rate(http_requests_total{namespace="demo",pod=~"web-1|web-2"}[30s])) by (pod)')


def test_pod_without_series_is_404(adapter: tuple[TestClient, SeriesRegistry]) -> None:
    client, _ = adapter
    r = client.get(f"{CM}/v1beta2/namespaces/demo/pods/db-1/http_requests_per_second")
    assert r.status_code == 404
    assert r.json()["message"] == (
        "the server could not find the metric http_requests_per_second for pods db-1")


def test_external_metric_with_selector(adapter: tuple[TestClient, SeriesRegistry]) -> None:
    client, registry = adapter
    r = client.get("/apis/external.metrics.k8s.io/v1beta1/namespaces/demo/queue_depth",
                   params={"labelSelector": "queue=jobs"})
    assert r.status_code == 200, r.text
    (item,) = r.json()["items"]
    assert item["metricName"] == "queue_depth"
    assert item["metricLabels"] == {"queue": "jobs"}
    assert item["value"] == "42"
    assert registry.status["externalRules[0]"].last_query == (
        'sum(queue_depth{queue="jobs",namespace="demo"}) by (queue)')
    every = client.get("/apis/external.metrics.k8s.io/v1beta1/namespaces/demo/queue_depth")
    assert sorted(i["value"] for i in every.json()["items"]) == ["42", "8"]


def test_relist_finds_a_new_series(adapter: tuple[TestClient, SeriesRegistry],
                                   exporter: Exporter, prometheus: Prometheus) -> None:
    client, registry = adapter
    exporter.set_gauge("queue_depth", {"namespace": "other", "queue": "late"}, 3)
    prometheus.wait_for('queue_depth{queue="late"}')
    client.portal.call(registry.relist)  # type: ignore[union-attr]
    r = client.get("/apis/external.metrics.k8s.io/v1beta1/namespaces/other/queue_depth")
    assert [i["metricLabels"]["queue"] for i in r.json()["items"]] == ["late"]


def test_prometheus_down_is_a_clear_503(prometheus: Prometheus) -> None:
    app, registry = _app(prometheus.url, timeout=2)
    with TestClient(app) as client:
        client.portal.call(registry.relist)  # type: ignore[union-attr]
        registry.prometheus.url = f"http://127.0.0.1:{free_port()}"  # Prometheus goes away
        try:
            r = client.get(f"{CM}/v1beta2/namespaces/demo/pods/%2A/http_requests_per_second",
                           params={"labelSelector": "app=web"})
            assert r.status_code == 503
            assert r.json()["reason"] == "ServiceUnavailable"
            assert r.json()["message"].startswith(
                "unable to fetch metrics from Prometheus: http://127.0.0.1:")
            assert registry.status["rules[0]"].last_query_error
            client.portal.call(registry.relist)  # type: ignore[union-attr]
            assert "rules[0]" in registry.relist_error
            # discovery keeps what was found before the outage
            names = {x["name"] for x in client.get(f"{CM}/v1beta2").json()["resources"]}
            assert "pods/http_requests_per_second" in names
        finally:
            client.portal.call(registry.prometheus.close)  # type: ignore[union-attr]


def test_explain_prints_each_rule(prometheus: Prometheus) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "examples.prometheus_adapter", "explain", f"--config={CONFIG}",
         f"--prometheus-url={prometheus.url}"], capture_output=True, text=True, timeout=60,
        check=False)
    assert result.returncode == 0, result.stderr
    assert "rules[0] 'http_requests_total{namespace!=\"\",pod!=\"\"}': 2 series" in result.stdout
    assert "pods/http_requests_per_second: series http_requests_total" in result.stdout
    assert "external queue_depth" in result.stdout
