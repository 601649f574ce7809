"""The few calls we make to kube-apiserver, over `restclient`: TokenReview, SubjectAccessReview,
list/watch of one ConfigMap, and of namespaces (admission's NamespaceLifecycle). A client comes
from a kubeconfig, the in-cluster config, or nowhere; `KubeAPI` is the seam the authenticators
use and tests fake.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import ssl
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from k8s_aggapi import restclient
from k8s_aggapi.kubeconfig import KubeconfigError
from k8s_aggapi.restclient import StreamTimeout, Transport

logger = logging.getLogger(__name__)

JSON = dict[str, Any]
T = TypeVar("T")

TOKEN_REVIEWS = "/apis/authentication.k8s.io/v1/tokenreviews"
SUBJECT_ACCESS_REVIEWS = "/apis/authorization.k8s.io/v1/subjectaccessreviews"
NAMESPACES = "/api/v1/namespaces"
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


class Namespaces(Protocol):
    async def list_namespaces(self) -> tuple[list[JSON], str]:
        """Every namespace and the list's resourceVersion to watch from."""
        ...

    def watch_namespaces(
        self, resource_version: str, *, timeout_seconds: int = 300
    ) -> AsyncGenerator[JSON, None]:
        """Watch events (`type`, `object`); an ERROR event raises KubeError (410: relist)."""
        ...

    async def get_namespace(self, name: str) -> JSON | None:
        """A live read: the namespace, or None when it does not exist."""
        ...


class KubeAPI(TokenReviews, SubjectAccessReviews, ConfigMaps, Protocol):
    """Everything we ask kube-apiserver; each component takes only the part it uses."""

    async def close(self) -> None: ...


class KubeClient:
    """`KubeAPI` over a `restclient.Transport`, speaking JSON dicts (camelCase as on the wire)."""

    def __init__(self, transport: Transport) -> None:
        self._api = transport

    @property
    def host(self) -> str:
        return self._api.host

    async def _send(
        self, method: str, path: str, *, query: list[tuple[str, str]] | None = None,
        body: JSON | None = None, request_timeout: Any = 10.0,
    ) -> Any:
        try:
            return await self._api.request(method, path, query=query, headers=dict(_JSON_HEADERS),
                                           body=body, request_timeout=request_timeout)
        except (TimeoutError, OSError) as exc:
            raise KubeError(0, f"{method} {path}: {exc!r}") from exc

    async def _json(self, method: str, path: str, **kwargs: Any) -> JSON:
        response = await self._send(method, path, **kwargs)
        try:
            data: bytes = await response.read()
        except (TimeoutError, OSError) as exc:
            raise KubeError(0, f"{method} {path}: {exc!r}") from exc
        if response.status >= 300:
            raise _status_error(response.status, data)
        parsed: JSON = json.loads(data)
        return parsed

    async def get(self, path: str, *, query: list[tuple[str, str]] | None = None,
                  accept: str = "application/json", request_timeout: float = 10.0) -> JSON:
        """GET any path as JSON (servers built on k8s_aggapi read the cluster through it)."""
        try:
            response = await self._api.request("GET", path, query=query,
                                               headers={"Accept": accept},
                                               request_timeout=request_timeout)
            try:
                data: bytes = await response.read()
            finally:
                response.close()
        except (TimeoutError, OSError) as exc:
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

    def watch_config_map(
        self, namespace: str, name: str, resource_version: str, *, timeout_seconds: int = 300
    ) -> AsyncGenerator[JSON, None]:
        query = [("fieldSelector", f"metadata.name={name}")]
        return self._watch(f"/api/v1/namespaces/{namespace}/configmaps", query,
                           resource_version, timeout_seconds)

    async def _watch(
        self, path: str, query: list[tuple[str, str]], resource_version: str,
        timeout_seconds: int,
    ) -> AsyncGenerator[JSON, None]:
        query = [*query, ("watch", "true"), ("allowWatchBookmarks", "true"),
                 ("timeoutSeconds", str(timeout_seconds))]
        if resource_version:
            query.append(("resourceVersion", resource_version))
        timeout = StreamTimeout(connect=10, read=timeout_seconds + 30)
        response = await self._send("GET", path, query=query, request_timeout=timeout)
        try:
            if response.status >= 300:
                raise _status_error(response.status, await response.read())
            while line := await response.readline():
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
        except (TimeoutError, OSError) as exc:
            raise KubeError(0, f"watch {path}: {exc!r}") from exc
        finally:
            response.close()

    # namespaces (the NamespaceLifecycle admission plugin) -----------------
    async def list_namespaces(self) -> tuple[list[JSON], str]:
        listed = await self._json("GET", NAMESPACES)
        version = (listed.get("metadata") or {}).get("resourceVersion", "")
        return list(listed.get("items") or []), str(version)

    def watch_namespaces(
        self, resource_version: str, *, timeout_seconds: int = 300
    ) -> AsyncGenerator[JSON, None]:
        return self._watch(NAMESPACES, [], resource_version, timeout_seconds)

    async def get_namespace(self, name: str) -> JSON | None:
        try:
            return await self._json("GET", f"{NAMESPACES}/{name}")
        except KubeError as exc:
            if exc.status == 404:
                return None
            raise

    async def close(self) -> None:
        await self._api.close()


async def connect(kubeconfig: str = "", *, optional: bool = True) -> KubeClient | None:
    """A client from `kubeconfig`, else the in-cluster config. Outside a cluster without a
    kubeconfig: None when `optional` (dev mode, no delegation), else an error like upstream's."""
    try:
        transport = await restclient.connect(kubeconfig)
    except (KubeconfigError, OSError, ssl.SSLError) as exc:
        raise KubeError(0, f"invalid kubeconfig {kubeconfig}: {exc}") from exc
    if transport is not None:
        return KubeClient(transport)
    if optional:
        return None
    raise KubeError(0, "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST "
                       "and KUBERNETES_SERVICE_PORT must be defined")


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
