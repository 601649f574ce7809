"""APIService registration objects and the `--server` / group-version parsing."""

from __future__ import annotations

import base64
import sys

import pytest

from k8s_aggapi.envtest.aggregated import parse_command, parse_group_versions
from k8s_aggapi.envtest.apiservice import (
    apiservice_manifest,
    externalname_service_manifest,
    namespace_for_group,
)
from k8s_aggapi.envtest.cluster import parse_server_spec


@pytest.mark.parametrize(("group", "namespace"), [
    ("wardle.example.com", "wardle"), ("metrics.k8s.io", "metrics"),
    ("My_Group.example.com", "my-group"), ("...", "aggregated"),
])
def test_namespace_for_group(group: str, namespace: str) -> None:
    assert namespace_for_group(group) == namespace


def test_apiservice_carries_the_ca_bundle_and_never_skips_tls() -> None:
    m = apiservice_manifest("wardle.example.com", "v1alpha1", 8443, b"PEM", service="api",
                            namespace="wardle")
    assert m["metadata"]["name"] == "v1alpha1.wardle.example.com"
    spec = m["spec"]
    assert base64.b64decode(spec["caBundle"]) == b"PEM"
    assert "insecureSkipTLSVerify" not in spec
    assert spec["service"] == {"name": "api", "namespace": "wardle", "port": 8443}
    assert (spec["groupPriorityMinimum"], spec["versionPriority"]) == (1000, 15)


def test_service_is_externalname_localhost() -> None:
    spec = externalname_service_manifest("api", "wardle")["spec"]
    assert spec == {"type": "ExternalName", "externalName": "localhost"}


def test_parse_group_versions() -> None:
    assert parse_group_versions("wardle.example.com/v1alpha1,v1beta1") == [
        ("wardle.example.com", "v1alpha1"), ("wardle.example.com", "v1beta1")]
    assert parse_group_versions(["a.io/v1", "b.io/v2"]) == [("a.io", "v1"), ("b.io", "v2")]
    with pytest.raises(ValueError, match="GROUP/VERSION"):
        parse_group_versions("wardle.example.com")


def test_parse_command_uses_this_interpreter_for_python() -> None:
    assert parse_command("python -m examples.sample_apiserver --v=2") == [
        sys.executable, "-m", "examples.sample_apiserver", "--v=2"]
    assert parse_command(["/bin/server", "a b"]) == ["/bin/server", "a b"]


def test_parse_server_spec_splits_at_the_first_equals() -> None:
    assert parse_server_spec("wardle.example.com/v1alpha1=python -m x --flag=1") == (
        "wardle.example.com/v1alpha1", "python -m x --flag=1")
    with pytest.raises(ValueError, match="COMMAND"):
        parse_server_spec("wardle.example.com/v1alpha1")
