"""Follows kube-system/extension-apiserver-authentication, where kube-apiserver publishes the
client CA, the front-proxy CA and the request-header names (JSON arrays), and hands every
change to a callback: the list/watch loop of upstream's requestheader and client-ca controllers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field

from k8s_aggapi.authentication.requestheader import RequestHeaderConfig
from k8s_aggapi.kube import JSON, ConfigMaps, KubeError

logger = logging.getLogger(__name__)

NAMESPACE = "kube-system"
NAME = "extension-apiserver-authentication"
READER_ROLE = "extension-apiserver-authentication-reader"
_EMPTY_HEADERS = RequestHeaderConfig((), (), (), (), ())


@dataclass(frozen=True)
class ClusterAuthentication:
    """What the ConfigMap says; empty values where a key is missing."""

    client_ca: bytes = b""
    requestheader_ca: bytes = b""
    requestheader: RequestHeaderConfig = field(default_factory=lambda: _EMPTY_HEADERS)


def _strings(data: Mapping[str, str], key: str) -> tuple[str, ...]:
    raw = data.get(key, "")
    if not raw:
        return ()
    value = json.loads(raw)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ValueError(f"{key}: expected a JSON array of strings, got {raw!r}")
    return tuple(value)


def parse_config_map(data: Mapping[str, str] | None) -> ClusterAuthentication:
    """Decode the ConfigMap's data; ValueError when a header list is not a JSON string array."""
    data = data or {}
    headers = RequestHeaderConfig(
        username_headers=_strings(data, "requestheader-username-headers"),
        group_headers=_strings(data, "requestheader-group-headers"),
        extra_headers_prefix=_strings(data, "requestheader-extra-headers-prefix"),
        uid_headers=_strings(data, "requestheader-uid-headers"),
        allowed_names=_strings(data, "requestheader-allowed-names"),
    )
    return ClusterAuthentication(
        client_ca=data.get("client-ca-file", "").encode(),
        requestheader_ca=data.get("requestheader-client-ca-file", "").encode(),
        requestheader=headers,
    )


def forbidden_hint(namespace: str = NAMESPACE, name: str = NAME) -> str:
    return (
        f"Unable to get configmap/{name} in {namespace}.  Usually fixed by "
        f"'kubectl create rolebinding -n {namespace} ROLEBINDING_NAME --role={READER_ROLE} "
        f"--serviceaccount=YOUR_NS:YOUR_SA'"
    )


class AuthenticationLookupError(RuntimeError):
    """The first read of the ConfigMap failed and failures are not tolerated."""


class ConfigMapFollower:
    """`start()` reads the ConfigMap once (raising on failure unless tolerated), then a task
    watches it, relisting after errors and 410s with a capped exponential backoff."""

    def __init__(
        self, kube: ConfigMaps, apply: Callable[[ClusterAuthentication], None], *,
        namespace: str = NAMESPACE, name: str = NAME, retry_delay: float = 1.0,
        max_retry_delay: float = 30.0, watch_timeout: int = 300,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._kube, self._apply = kube, apply
        self.namespace, self.name = namespace, name
        self._retry_delay, self._max_retry_delay = retry_delay, max_retry_delay
        self._watch_timeout = watch_timeout
        self._sleep = sleep
        self._resource_version = ""
        self._task: asyncio.Task[None] | None = None

    async def start(self, *, tolerate_failure: bool = False) -> None:
        try:
            await self._relist()
        except KubeError as exc:
            hint = forbidden_hint(self.namespace, self.name) if exc.status == 403 else ""
            message = f"unable to load configmap based authentication configuration: {exc}"
            if hint:
                message = f"{hint}: {message}"
            if not tolerate_failure:
                raise AuthenticationLookupError(message) from exc
            logger.warning("Error looking up in-cluster authentication configuration: %s", message)
            logger.warning("Continuing without authentication configuration. "
                           "This may treat all requests as anonymous.")
            logger.warning("To require authentication configuration lookup to succeed, "
                           "set --authentication-tolerate-lookup-failure=false")
        self._task = asyncio.create_task(self._run(), name=f"follow configmap/{self.name}")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def _handle(self, obj: JSON | None) -> None:
        try:
            parsed = parse_config_map((obj or {}).get("data"))
        except ValueError as exc:
            logger.error("ignoring configmap/%s in %s: %s", self.name, self.namespace, exc)
            return
        self._apply(parsed)

    async def _relist(self) -> None:
        obj, self._resource_version = await self._kube.list_config_map(self.namespace, self.name)
        if obj is None:
            logger.warning("configmap/%s in %s not found", self.name, self.namespace)
        self._handle(obj)

    async def _watch(self) -> int:
        events = 0
        stream = self._kube.watch_config_map(
            self.namespace, self.name, self._resource_version, timeout_seconds=self._watch_timeout
        )
        async with contextlib.aclosing(stream):
            async for event in stream:
                events += 1
                obj = event.get("object") or {}
                version = (obj.get("metadata") or {}).get("resourceVersion")
                if version:
                    self._resource_version = str(version)
                if event.get("type") in ("ADDED", "MODIFIED"):
                    self._handle(obj)
                elif event.get("type") == "DELETED":
                    logger.warning("configmap/%s in %s was deleted; keeping the last "
                                   "configuration", self.name, self.namespace)
        return events

    async def _run(self) -> None:
        delay = self._retry_delay
        relist = not self._resource_version
        while True:
            try:
                if relist:
                    await self._relist()
                    relist = False
                if await self._watch() == 0:
                    await self._sleep(self._retry_delay)
                delay = self._retry_delay
                continue
            except KubeError as exc:
                relist = True
                if exc.status == 410:
                    continue
                logger.warning("watching configmap/%s in %s failed: %s", self.name,
                               self.namespace, exc)
            except Exception:
                relist = True
                logger.exception("watching configmap/%s in %s failed", self.name, self.namespace)
            await self._sleep(delay * (1 + random.uniform(0, 0.2)))
            delay = min(delay * 2, self._max_retry_delay)
