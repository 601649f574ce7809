"""custom.metrics.k8s.io and external.metrics.k8s.io in /openapi/v2 and /openapi/v3: the GETs
custom-metrics-apiserver's installer registers (paths, operation ids), answering with the
MetricValueList of each version and ExternalMetricValueList, every reference resolvable."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from k8s_aggapi.custommetrics import metrics_groups
from k8s_aggapi.openapi.protobuf import CONTENT_TYPE
from k8s_aggapi.testing import build_test_app
from tests.unit.custommetrics.fakes import PodRequests, Queue

CUSTOM = "io.k8s.metrics.pkg.apis.custom_metrics.{}.MetricValueList"
EXTERNAL = "io.k8s.metrics.pkg.apis.external_metrics.v1beta1.ExternalMetricValueList"


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    groups = metrics_groups(custom=[PodRequests()], external=[Queue()])
    with TestClient(build_test_app(groups)) as c:
        yield c


def refs(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        if isinstance(node.get("$ref"), str):
            yield node["$ref"].rsplit("/", 1)[-1]
        for value in node.values():
            yield from refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from refs(value)


def expected_operations(version: str) -> dict[str, str]:
    base, v = f"/apis/custom.metrics.k8s.io/{version}", version.capitalize()
    return {f"{base}/{{resource}}/{{name}}/{{subresource}}": f"listCustomMetrics{v}MetricValue",
            f"{base}/namespaces/{{namespace}}/{{resource}}/{{name}}/{{subresource}}":
                f"listCustomMetrics{v}NamespacedMetricValue",
            f"{base}/namespaces/{{namespace}}/metrics/{{name}}":
                f"readCustomMetrics{v}MetricValueForNamespace"}


def test_v2_documents_every_metrics_path(client: TestClient) -> None:
    doc = client.get("/openapi/v2").json()
    paths = doc["paths"]
    for version in ("v1beta2", "v1beta1"):
        for path, operation_id in expected_operations(version).items():
            get = paths[path]["get"]
            assert get["operationId"] == operation_id
            assert get["tags"] == [f"customMetrics_{version}"]
            assert get["responses"]["200"]["schema"] == {
                "$ref": "#/definitions/" + CUSTOM.format(version)}
            names = {p["name"] for p in [*paths[path].get("parameters", []),
                                          *get.get("parameters", [])]}
            assert {"labelSelector", "metricLabelSelector", "name"} <= names
    external = paths["/apis/external.metrics.k8s.io/v1beta1/namespaces/{namespace}/{resource}"]
    assert external["get"]["operationId"] == "listExternalMetricsV1beta1ExternalMetricValue"
    assert external["get"]["responses"]["200"]["schema"]["$ref"].endswith(EXTERNAL)
    assert set(refs(doc)) <= set(doc["definitions"])
    value = doc["definitions"]["io.k8s.metrics.pkg.apis.custom_metrics.v1beta2.MetricValue"]
    assert value["required"] == ["describedObject", "metric", "timestamp", "value"]
    assert doc["definitions"][CUSTOM.format("v1beta1")]["x-kubernetes-group-version-kind"] == [
        {"group": "custom.metrics.k8s.io", "kind": "MetricValueList", "version": "v1beta1"}]


@pytest.mark.parametrize("gv", ["custom.metrics.k8s.io/v1beta2", "custom.metrics.k8s.io/v1beta1",
                                "external.metrics.k8s.io/v1beta1"])
def test_v3_per_group_version(client: TestClient, gv: str) -> None:
    root = client.get("/openapi/v3").json()["paths"]
    doc = client.get(root[f"apis/{gv}"]["serverRelativeURL"]).json()
    own = [p for p in doc["paths"] if p != f"/apis/{gv}/"]
    assert own and all(p.startswith(f"/apis/{gv}/") for p in own)
    schemas = doc["components"]["schemas"]
    assert set(refs(doc)) <= set(schemas)
    answer = EXTERNAL if gv.startswith("external") else CUSTOM.format(gv.rsplit("/", 1)[1])
    for path in own:
        ok = doc["paths"][path]["get"]["responses"]["200"]
        assert ok["content"]["application/json"]["schema"]["$ref"].endswith(answer)


def test_v2_as_protobuf(client: TestClient) -> None:
    response = client.get("/openapi/v2", headers={"accept": CONTENT_TYPE})
    assert response.status_code == 200 and response.headers["content-type"] == CONTENT_TYPE
    assert b"listCustomMetricsV1beta2MetricValue" in response.content
