"""The provider in docs/custom-metrics.md runs and serves what the page says."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from starlette.testclient import TestClient

from k8s_aggapi.testing import build_test_app

DOC = Path(__file__).parents[3] / "docs" / "custom-metrics.md"


def test_docs_provider_serves_both_groups() -> None:
    code = re.findall(r"```python\n(.*?)```", DOC.read_text(), re.S)
    namespace: dict[str, Any] = {"__name__": "snippet"}
    exec(compile("\n".join(code), str(DOC), "exec"), namespace)
    with TestClient(build_test_app(namespace["groups"])) as client:
        r = client.get("/apis/custom.metrics.k8s.io/v1beta2/namespaces/demo/pods/*/"
                       "http_requests_per_second", params={"labelSelector": "app=web"})
        assert [i["value"] for i in r.json()["items"]] == ["2500m", "1500m"]
        r = client.get("/apis/external.metrics.k8s.io/v1beta1/namespaces/demo/queue_depth",
                       params={"labelSelector": "queue=jobs"})
        assert [i["value"] for i in r.json()["items"]] == ["42"]
