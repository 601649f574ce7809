"""`/version`: upstream's version.Info, authorized as a non-resource GET like upstream."""

from __future__ import annotations

import json
import platform
import sys

from starlette.testclient import TestClient

from k8s_aggapi.authorization.interface import Attributes
from k8s_aggapi.testing import FakeAuthorizer, build_test_app
from k8s_aggapi.version import package_version, version_info

FIELDS = ["major", "minor", "gitVersion", "gitCommit", "gitTreeState", "buildDate",
          "goVersion", "compiler", "platform"]


def public_info_viewer(attributes: Attributes) -> bool:
    """Upstream's system:public-info-viewer: GET on these non-resource URLs, for everyone."""
    return (not attributes.resource_request and attributes.verb == "get"
            and attributes.path in ("/healthz", "/livez", "/readyz", "/version", "/version/"))


def test_version_is_upstreams_info_object() -> None:
    with TestClient(build_test_app([])) as client:
        r = client.get("/version")
    assert r.status_code == 200
    assert r.headers["content-type"] == "application/json"
    info = json.loads(r.content)
    assert list(info) == FIELDS  # upstream's field order; the emulation fields are omitempty
    assert info["gitVersion"] == f"v{package_version()}" == "v0.1.0"
    assert (info["major"], info["minor"]) == ("0", "1")
    assert info["goVersion"] == f"python{platform.python_version()}"
    assert info["compiler"] == sys.implementation.name
    assert info["platform"].startswith(f"{sys.platform}/")
    assert r.text.startswith('{\n  "major": "0",\n')  # indented like Go's MarshalIndent


def test_version_info_from_a_given_semver() -> None:
    info = version_info("v1.34.4")
    assert (info["major"], info["minor"], info["gitVersion"]) == ("1", "34", "v1.34.4")


def test_anyone_allowed_by_a_public_info_viewer_rule_gets_it() -> None:
    authorizer = FakeAuthorizer(allow=public_info_viewer)
    with TestClient(build_test_app([], user=None, authorizer=authorizer)) as client:
        assert client.get("/version").status_code == 200
        assert client.get("/version/").status_code == 200
        assert client.get("/metrics").status_code == 403
    asked = [a for a in authorizer.seen if a.path == "/version"]
    assert [(a.verb, a.resource_request, a.user.name) for a in asked] == [
        ("get", False, "system:anonymous")]


def test_without_a_grant_version_is_forbidden_like_any_path() -> None:
    authorizer = FakeAuthorizer(allow=lambda a: False)
    with TestClient(build_test_app([], user=None, authorizer=authorizer)) as client:
        r = client.get("/version")
    assert r.status_code == 403
    assert r.json()["message"].startswith(
        'forbidden: User "system:anonymous" cannot get path "/version"')


def test_only_get() -> None:
    with TestClient(build_test_app([])) as client:
        r = client.post("/version", json={})
    assert r.status_code == 405
    assert r.json()["reason"] == "MethodNotAllowed"
