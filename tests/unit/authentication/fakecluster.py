"""A fake kube-apiserver for the ConfigMap follower: a list answer and a scripted watch."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, Callable
from typing import Any

from k8s_aggapi.authentication.configmap import NAME, NAMESPACE
from k8s_aggapi.kube import KubeError


def cm_data(client_ca: bytes = b"", proxy_ca: bytes = b"", **lists: list[str]) -> dict[str, str]:
    data = {f"requestheader-{k.replace('_', '-')}": json.dumps(v) for k, v in lists.items()}
    if client_ca:
        data["client-ca-file"] = client_ca.decode()
    if proxy_ca:
        data["requestheader-client-ca-file"] = proxy_ca.decode()
    return data


def config_map(data: dict[str, str], rv: str) -> dict[str, Any]:
    return {"metadata": {"name": NAME, "namespace": NAMESPACE, "resourceVersion": rv},
            "data": data}


class FakeCluster:
    def __init__(self, data: dict[str, str] | None, rv: str = "10") -> None:
        self.obj = config_map(data, rv) if data is not None else None
        self.list_rv = rv
        self.list_errors: list[KubeError] = []
        self.lists = 0
        self.watched_from: list[str] = []
        self.events: asyncio.Queue[dict[str, Any] | Exception | None] = asyncio.Queue()
        self.closed = False

    async def list_config_map(self, namespace: str, name: str) -> tuple[Any, str]:
        assert (namespace, name) == (NAMESPACE, NAME)
        self.lists += 1
        if self.list_errors:
            raise self.list_errors.pop(0)
        return self.obj, self.list_rv

    async def watch_config_map(self, namespace: str, name: str, resource_version: str, *,
                               timeout_seconds: int = 300) -> AsyncGenerator[dict[str, Any], None]:
        self.watched_from.append(resource_version)
        while True:
            item = await self.events.get()
            if item is None:
                return
            if isinstance(item, Exception):
                raise item
            yield item

    def modify(self, data: dict[str, str], rv: str) -> None:
        self.obj = config_map(data, rv)
        self.list_rv = rv
        self.events.put_nowait({"type": "MODIFIED", "object": self.obj})

    async def close(self) -> None:
        self.closed = True


async def until(condition: Callable[[], bool], seconds: float = 2.0) -> None:
    """Let the background task run until `condition` holds (a test helper, hence polling)."""
    async with asyncio.timeout(seconds):
        while not condition():  # noqa: ASYNC110
            await asyncio.sleep(0.001)
