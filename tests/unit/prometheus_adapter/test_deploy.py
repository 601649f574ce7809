"""The adapter's manifests: the rules in the ConfigMap load, and the APIServices carry
custom-metrics-apiserver's priorities (kubectl validates them against the real API server in
tests/e2e/test_custom_metrics_hpa.py)."""

from __future__ import annotations

from pathlib import Path

import yaml

from examples.prometheus_adapter.config import parse_config
from k8s_aggapi.custommetrics import GROUP_PRIORITY_MINIMUM, VERSION_PRIORITIES

DEPLOY = Path(__file__).parents[3] / "examples" / "prometheus_adapter" / "deploy" / "adapter.yaml"


def test_manifests() -> None:
    docs = [d for d in yaml.safe_load_all(DEPLOY.read_text()) if d]
    (config_map,) = [d for d in docs if d["kind"] == "ConfigMap"]
    config = parse_config(config_map["data"]["config.yaml"])
    assert len(config.rules) == 1 and len(config.external_rules) == 1
    services = {(d["spec"]["group"], d["spec"]["version"]): d["spec"] for d in docs
                if d["kind"] == "APIService"}
    assert {k: v["versionPriority"] for k, v in services.items()} == VERSION_PRIORITIES
    assert {v["groupPriorityMinimum"] for v in services.values()} == {GROUP_PRIORITY_MINIMUM}
