"""The few calls we make to kube-apiserver, on kubernetes.aio: TokenReview, SubjectAccessReview,
and list/watch of one ConfigMap. A client comes from a kubeconfig, the in-cluster config, or
nowhere; `KubeAPI` is the seam the authenticators use and tests fake.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import os
import random
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

logger = logging.getLogger(__name__)

JSON = dict[str, Any]
T = TypeVar("T")

TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
SUBJECT_ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
_JSON_HEADERS = {"Accept": "application/json", "Content-Type": "application/json"}


class KubeError(Exception):
    """A failed call: `status` is the HTTP code, 0 when no response came back."""

    def __init__(self, status: int, message: str, reason: str = "") -> None:
        super().__init__(f"{status} {reason}: {message}" if status else message)
        self.status = status
        self.reason = reason
        self.message = message

    @property
    def transient(self) -> bool:
        """Worth retrying (upstream's webhook.DefaultShouldRetry, roughly)."""
        return self.status in (0, 429, 500, 503, 504)


def _status_error(status: int, body: bytes) -> KubeError:
    try:
        parsed = json.loads(body)
    except ValueError:
        parsed = None
    if isinstance(parsed, dict) and parsed.get("kind") == "Status":
        return KubeError(status, str(parsed.get("message", "")), str(parsed.get("reason", "")))
    return KubeError(status, body.decode(errors="replace")[:500])


class TokenReviews(Protocol):
    async def create_token_review(self, review: JSON, *, request_timeout: float = 10.0) -> JSON: ...


class SubjectAccessReviews(Protocol):
    async def create_subject_access_review(
        self, review: JSON, *, request_timeout: float = 10.0
    ) -> JSON: ...


class ConfigMaps(Protocol):
    async def list_config_map(self, namespace: str, name: str) -> tuple[JSON | None, str]:
        """The ConfigMap (None when absent) and the list's resourceVersion to watch from."""
        ...

    def watch_config_map(
        self, namespace: str, name: str, resource_version: str, *, timeout_seconds: int = 300
    ) -> AsyncGenerator[JSON, None]:
        """Watch events (`type`, `object`); an ERROR event raises KubeError (410: relist)."""
        ...


class KubeAPI(TokenReviews, SubjectAccessReviews, ConfigMaps, Protocol):
    """Everything we ask kube-apiserver; each component takes only the part it uses."""

    async def close(self) -> None: ...


class KubeClient:
    """`KubeAPI` over a kubernetes.aio ApiClient, speaking JSON dicts (camelCase as on the wire)."""

    def __init__(self, api_client: Any) -> None:
        self._api = api_client

    @property
    def host(self) -> str:
        return str(self._api.configuration.host)

    async def _send(
        self, method: str, path: str, *, query: list[tuple[str, str]] | None = None,
        body: JSON | None = None, request_timeout: Any = 10.0,
    ) -> Any:
        aiohttp: Any = importlib.import_module("aiohttp")
        try:
            params = await self._api.param_serialize(
                method=method, resource_path=path, query_params=query or None,
                header_params=dict(_JSON_HEADERS), body=body, auth_settings=["BearerToken"],
            )
            return await self._api.call_api(*params, _request_timeout=request_timeout)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise KubeError(0, f"{method} {path}: {exc!r}") from exc

    async def _json(self, method: str, path: str, **kwargs: Any) -> JSON:
        aiohttp: Any = importlib.import_module("aiohttp")
        response = await self._send(method, path, **kwargs)
        try:
            data: bytes = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise KubeError(0, f"{method} {path}: {exc!r}") from exc
        if response.status >= 300:
            raise _status_error(response.status, data)
        parsed: JSON = json.loads(data)
        return parsed

    async def get(self, path: str, *, query: list[tuple[str, str]] | None = None,
                  accept: str = "application/json", request_timeout: float = 10.0) -> JSON:
        """GET any path as JSON (servers built on k8s_aggapi read the cluster through it)."""
        aiohttp: Any = importlib.import_module("aiohttp")
        try:
            params = await self._api.param_serialize(
                method="GET", resource_path=path, query_params=query or None,
                header_params={"Accept": accept}, auth_settings=["BearerToken"])
            response = await self._api.call_api(*params, _request_timeout=request_timeout)
            data: bytes = await response.read()
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise KubeError(0, f"GET {path}: {exc!r}") from exc
        if response.status >= 300:
            raise _status_error(response.status, data)
        parsed: JSON = json.loads(data)
        return parsed

    async def create_token_review(self, review: JSON, *, request_timeout: float = 10.0) -> JSON:
        return await self._json("POST", TOKEN_REVIEWS, body=review,
                                request_timeout=request_timeout)

    async def create_subject_access_review(
        self, review: JSON, *, request_timeout: float = 10.0
    ) -> JSON:
        return await self._json("POST", SUBJECT_ACCESS_REVIEWS, body=review,
                                request_timeout=request_timeout)

    async def list_config_map(self, namespace: str, name: str) -> tuple[JSON | None, str]:
        listed = await self._json(
            "GET", f"/api/v1/namespaces/{namespace}/configmaps",
            query=[("fieldSelector", f"metadata.name={name}")],
        )
        items = listed.get("items") or []
        version = (listed.get("metadata") or {}).get("resourceVersion", "")
        return (items[0] if items else None), str(version)

    async def watch_config_map(
        self, namespace: str, name: str, resource_version: str, *, timeout_seconds: int = 300
    ) -> AsyncGenerator[JSON, None]:
        aiohttp: Any = importlib.import_module("aiohttp")
        query = [
            ("fieldSelector", f"metadata.name={name}"), ("watch", "true"),
            ("allowWatchBookmarks", "true"), ("timeoutSeconds", str(timeout_seconds)),
        ]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10, sock_read=timeout_seconds + 30)
        path = f"/api/v1/namespaces/{namespace}/configmaps"
        response = await self._send("GET", path, query=query, request_timeout=timeout)
        try:
            if response.status >= 300:
                raise _status_error(response.status, await response.read())
            while line := await response.response.content.readline():
                if not line.strip():
                    continue
                event: JSON = json.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    raise KubeError(
                        int(status.get("code") or 500), str(status.get("message", "")),
                        str(status.get("reason", "")),
                    )
                yield event
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise KubeError(0, f"watch configmaps: {exc!r}") from exc
        finally:
            response.response.close()

    async def close(self) -> None:
        await self._api.close()


async def connect(kubeconfig: str = "", *, optional: bool = True) -> KubeClient | None:
    """A client from `kubeconfig`, else the in-cluster config. Outside a cluster without a
    kubeconfig: None when `optional` (dev mode, no delegation), else an error like upstream's."""
    client: Any = importlib.import_module("kubernetes.aio.client")
    config: Any = importlib.import_module("kubernetes.aio.config")
    configuration = client.Configuration()
    if kubeconfig:
        await config.load_kube_config(
            config_file=kubeconfig, client_configuration=configuration, persist_config=False
        )
    elif os.environ.get("KUBERNETES_SERVICE_HOST") and os.environ.get("KUBERNETES_SERVICE_PORT"):
        config.load_incluster_config(client_configuration=configuration)
    elif optional:
        return None
    else:
        raise KubeError(0, "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST "
                           "and KUBERNETES_SERVICE_PORT must be defined")
    return KubeClient(client.ApiClient(configuration))


@dataclass(frozen=True)
class Backoff:
    """Upstream's DefaultAuthWebhookRetryBackoff: 500 ms, factor 1.5, jitter 0.2, 5 tries."""

    duration: float = 0.5
    factor: float = 1.5
    jitter: float = 0.2
    steps: int = 5


DEFAULT_BACKOFF = Backoff()


async def with_retries(
    call: Callable[[], Awaitable[T]], backoff: Backoff = DEFAULT_BACKOFF,
    *, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> T:
    """Run `call`, retrying transient KubeErrors with exponential backoff."""
    delay = backoff.duration
    for attempt in range(1, max(backoff.steps, 1) + 1):
        try:
            return await call()
        except KubeError as exc:
            if not exc.transient or attempt >= backoff.steps:
                raise
            logger.debug("retrying after %s (attempt %d)", exc, attempt)
        await sleep(delay * (1 + random.uniform(0, backoff.jitter)))
        delay *= backoff.factor
    raise AssertionError("unreachable")
