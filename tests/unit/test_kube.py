"""kube.py against a tiny fake kube-apiserver on loopback (aiohttp), and its helpers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from k8s_aggapi.kube import Backoff, KubeClient, KubeError, connect, with_retries

CM_PATH = "/api/v1/namespaces/kube-system/configmaps"


class FakeApiserver:
    def __init__(self) -> None:
        self.requests: list[tuple[str, str, dict[str, str], Any]] = []
        self.forbid_list = False

    async def review(self, request: web.Request) -> web.Response:
        body = await request.json()
        self.requests.append((request.method, request.path, dict(request.query), body))
        if body["kind"] == "TokenReview":
            status = {"authenticated": body["spec"]["token"] == "good",
                      "user": {"username": "bob"}}
        else:
            status = {"allowed": True}
        return web.json_response({**body, "status": status}, status=201)

    async def configmaps(self, request: web.Request) -> web.StreamResponse:
        self.requests.append((request.method, request.path, dict(request.query),
                              request.headers.get("Authorization")))
        if self.forbid_list:
            return web.json_response(
                {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 403,
                 "reason": "Forbidden", "message": 'configmaps is forbidden: User "x" cannot'},
                status=403)
        if request.query.get("watch") != "true":
            item = {"metadata": {"name": "extension-apiserver-authentication",
                                 "resourceVersion": "5"}, "data": {"client-ca-file": "PEM"}}
            return web.json_response({"kind": "ConfigMapList", "metadata": {
                "resourceVersion": "7"}, "items": [item]})
        response = web.StreamResponse()
        await response.prepare(request)
        for event in (
            {"type": "MODIFIED", "object": {"metadata": {"resourceVersion": "8"}}},
            {"type": "BOOKMARK", "object": {"metadata": {"resourceVersion": "9"}}},
            {"type": "ERROR", "object": {"kind": "Status", "code": 410, "reason": "Expired",
                                         "message": "too old resource version"}},
        ):
            await response.write(json.dumps(event).encode() + b"\n")
        return response


@pytest.fixture
async def apiserver(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[FakeApiserver, str]]:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    fake = FakeApiserver()
    app = web.Application()
    app.router.add_post("/apis/authentication.k8s.io/v1/tokenreviews", fake.review)
    app.router.add_post("/apis/authorization.k8s.io/v1/subjectaccessreviews", fake.review)
    app.router.add_get(CM_PATH, fake.configmaps)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    yield fake, f"http://127.0.0.1:{port}"
    await runner.cleanup()


@pytest.fixture
async def client(apiserver: tuple[FakeApiserver, str], tmp_path: Path) -> AsyncIterator[KubeClient]:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": apiserver[1]}}],
        "users": [{"name": "u", "user": {"token": "secret-token"}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
    }))
    kube = await connect(str(kubeconfig))
    assert kube is not None
    assert kube.host == apiserver[1]
    yield kube
    await kube.close()


async def test_token_review_round_trip(client: KubeClient, apiserver: Any) -> None:
    review = {"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview",
              "spec": {"token": "good"}}
    result = await client.create_token_review(review)
    assert result["status"] == {"authenticated": True, "user": {"username": "bob"}}
    assert apiserver[0].requests[0][3] == review


async def test_subject_access_review_keeps_camel_case(client: KubeClient, apiserver: Any) -> None:
    review = {"apiVersion": "authorization.k8s.io/v1", "kind": "SubjectAccessReview",
              "spec": {"user": "a", "resourceAttributes": {"verb": "list", "labelSelector": {
                  "requirements": [{"key": "a", "operator": "In", "values": ["b"]}]}}}}
    assert (await client.create_subject_access_review(review))["status"] == {"allowed": True}
    assert apiserver[0].requests[0][3] == review


async def test_list_and_watch_config_map(client: KubeClient, apiserver: Any) -> None:
    obj, version = await client.list_config_map("kube-system", "extension-apiserver-authentication")
    assert (obj["data"], version) == ({"client-ca-file": "PEM"}, "7")  # type: ignore[index]
    _method, _path, query, auth = apiserver[0].requests[0]
    assert query == {"fieldSelector": "metadata.name=extension-apiserver-authentication"}
    assert auth == "Bearer secret-token"

    events: list[str] = []

    async def consume() -> None:
        async for event in client.watch_config_map("kube-system", "x", "7", timeout_seconds=30):
            events.append(event["type"])

    with pytest.raises(KubeError) as info:
        await consume()
    assert events == ["MODIFIED", "BOOKMARK"]
    assert (info.value.status, info.value.reason) == (410, "Expired")
    watch_query = apiserver[0].requests[1][2]
    assert watch_query == {"fieldSelector": "metadata.name=x", "watch": "true",
                           "allowWatchBookmarks": "true", "timeoutSeconds": "30",
                           "resourceVersion": "7"}


async def test_errors_carry_the_status(client: KubeClient, apiserver: Any) -> None:
    apiserver[0].forbid_list = True
    with pytest.raises(KubeError) as info:
        await client.list_config_map("kube-system", "x")
    assert (info.value.status, info.value.reason, info.value.transient) == (403, "Forbidden", False)
    with pytest.raises(KubeError) as info:
        async for _ in client.watch_config_map("kube-system", "x", ""):
            pass
    assert info.value.status == 403


async def test_connection_failures_are_transient(tmp_path: Path) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(json.dumps({
        "apiVersion": "v1", "kind": "Config", "current-context": "c",
        "clusters": [{"name": "k", "cluster": {"server": "http://127.0.0.1:1"}}],
        "users": [{"name": "u", "user": {}}],
        "contexts": [{"name": "c", "context": {"cluster": "k", "user": "u"}}],
    }))
    kube = await connect(str(kubeconfig))
    assert kube is not None
    with pytest.raises(KubeError) as info:
        await kube.create_token_review({"spec": {"token": "x"}}, request_timeout=2.0)
    assert info.value.status == 0
    assert info.value.transient
    await kube.close()


async def test_connect_outside_a_cluster(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert await connect() is None
    with pytest.raises(KubeError, match="KUBERNETES_SERVICE_HOST"):
        await connect(optional=False)


async def test_with_retries_retries_transient_errors_only() -> None:
    sleeps: list[float] = []

    async def sleep(seconds: float) -> None:
        sleeps.append(seconds)

    attempts = [KubeError(500, "a"), KubeError(0, "b"), "ok"]

    async def flaky() -> str:
        result = attempts.pop(0)
        if isinstance(result, Exception):
            raise result
        return result

    backoff = Backoff(duration=1.0, factor=2.0, jitter=0.0)
    assert await with_retries(flaky, backoff, sleep=sleep) == "ok"
    assert sleeps == [1.0, 2.0]

    async def forbidden() -> str:
        raise KubeError(403, "no")

    with pytest.raises(KubeError):
        await with_retries(forbidden, sleep=sleep)
    assert len(sleeps) == 2

    async def down() -> str:
        raise KubeError(503, "down")

    with pytest.raises(KubeError):
        await with_retries(down, Backoff(duration=0.0, steps=3), sleep=sleep)
    assert len(sleeps) == 4


async def test_cancelled_watch_closes_the_response(client: KubeClient) -> None:
    stream = client.watch_config_map("kube-system", "x", "")
    assert (await stream.__anext__())["type"] == "MODIFIED"
    await stream.aclose()
    await asyncio.sleep(0)
