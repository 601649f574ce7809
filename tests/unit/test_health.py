from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.testclient import TestClient

from k8s_aggapi.health import HealthChecks, health_routes
from k8s_aggapi.middleware.response import ResponseMiddleware


async def _fail() -> None:
    raise RuntimeError("etcd is down")


async def _ok() -> None:
    return None


def _client(checks: HealthChecks) -> TestClient:
    return TestClient(Starlette(routes=health_routes(checks),
                                middleware=[Middleware(ResponseMiddleware)]))


@pytest.mark.parametrize("endpoint", ["healthz", "livez", "readyz"])
def test_plain_ok(endpoint: str) -> None:
    response = _client(HealthChecks()).get(f"/{endpoint}")
    assert (response.status_code, response.text) == (200, "ok")
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["x-content-type-options"] == "nosniff"


def test_verbose_lists_every_check_in_order() -> None:
    client = _client(HealthChecks())
    assert client.get("/healthz?verbose").text == "[+]ping ok\n[+]log ok\nhealthz check passed\n"
    assert client.get("/readyz?verbose=1").text == (
        "[+]ping ok\n[+]log ok\n[+]shutdown ok\nreadyz check passed\n"
    )


def test_failure_is_verbose_and_withholds_the_reason() -> None:
    checks = HealthChecks()
    checks.add_readyz("etcd", _fail)
    checks.add_livez("informer-sync", _ok)
    client = _client(checks)
    response = client.get("/readyz")
    assert response.status_code == 500
    assert response.text == (
        "[+]ping ok\n[+]log ok\n[-]etcd failed: reason withheld\n[+]shutdown ok\n"
        "readyz check failed\n"
    )
    assert response.headers["x-content-type-options"] == "nosniff"
    assert client.get("/livez?verbose").text == (
        "[+]ping ok\n[+]log ok\n[+]informer-sync ok\nlivez check passed\n"
    )
    assert client.get("/healthz").text == "ok"


def test_exclude_and_unknown_excludes() -> None:
    checks = HealthChecks()
    checks.add("etcd", _fail)
    client = _client(checks)
    response = client.get("/healthz?exclude=etcd&exclude=nope&exclude=another&verbose")
    assert response.status_code == 200
    assert response.text == (
        "[+]ping ok\n[+]log ok\n[+]etcd excluded: ok\n"
        'warn: some health checks cannot be excluded: no matches for "another","nope"\n'
        "healthz check passed\n"
    )
    assert client.get("/healthz?exclude=etcd").text == "ok"


def test_shutdown_fails_readyz_only() -> None:
    checks = HealthChecks()
    client = _client(checks)
    checks.mark_shutting_down()
    assert client.get("/readyz").status_code == 500
    assert "[-]shutdown failed: reason withheld\n" in client.get("/readyz").text
    assert client.get("/livez").status_code == 200
    response = client.get("/readyz/shutdown")
    assert (response.status_code, response.text) == (
        500,
        "internal server error: process is shutting down\n",
    )


def test_single_check_subpaths() -> None:
    checks = HealthChecks()
    checks.add_readyz("poststarthook/start-informers", _ok)
    checks.add_healthz("etcd", _fail)
    client = _client(checks)
    assert client.get("/readyz/ping").text == "ok"
    assert client.get("/readyz/poststarthook/start-informers").text == "ok"
    assert client.get("/healthz/etcd").text == "internal server error: etcd is down\n"
    missing = client.get("/livez/etcd")
    assert missing.status_code == 404
    assert (missing.json()["kind"], missing.json()["reason"]) == ("Status", "NotFound")


def test_duplicate_names_are_refused() -> None:
    checks = HealthChecks()
    with pytest.raises(ValueError, match="already registered"):
        checks.add_livez("ping", _ok)
    with pytest.raises(ValueError, match="already registered"):
        checks.add_readyz("shutdown", _ok)
