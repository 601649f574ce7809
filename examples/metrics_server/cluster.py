"""The connection to kube-apiserver (kubernetes.aio): `--kubeconfig` or the in-cluster config,
raw JSON requests, and the credentials the kubelet client reuses (upstream copies the rest
config: the same bearer token or client certificate, and the cluster CA unless told otherwise).
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

JSON = dict[str, Any]


class APIError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}" if status else message)
        self.status = status


@dataclass(frozen=True)
class Credentials:
    """What the kubelet client takes from the rest config."""

    token: str = ""
    cert_file: str = ""
    key_file: str = ""
    ca_file: str = ""


class Cluster:
    """A kubernetes.aio ApiClient spoken to in raw JSON (no model objects: a list of 150,000
    pods is decoded once, by orjson-compatible json, into dicts)."""

    def __init__(self, api_client: Any) -> None:
        self._api = api_client

    @property
    def configuration(self) -> Any:
        return self._api.configuration

    async def credentials(self) -> Credentials:
        config = self.configuration
        header = await config.get_api_key_with_prefix("BearerToken", alias="authorization")
        token = (header or "").removeprefix("Bearer ").strip()
        return Credentials(token=token, cert_file=config.cert_file or "",
                           key_file=config.key_file or "", ca_file=config.ssl_ca_cert or "")

    async def _open(self, path: str, query: list[tuple[str, str]], accept: str,
                    request_timeout: Any) -> Any:
        aiohttp: Any = importlib.import_module("aiohttp")
        try:
            params = await self._api.param_serialize(
                method="GET", resource_path=path, query_params=query or None,
                header_params={"Accept": accept}, auth_settings=["BearerToken"])
            response = await self._api.call_api(*params, _request_timeout=request_timeout)
        except (aiohttp.ClientError, TimeoutError, OSError) as exc:
            raise APIError(0, f"GET {path}: {exc!r}") from exc
        if response.status >= 300:
            try:
                body = await response.read()
            finally:
                response.response.close()
            raise APIError(response.status, _message(body))
        return response

    async def get(self, path: str, query: list[tuple[str, str]], accept: str,
                  request_timeout: float = 60.0) -> JSON:
        aiohttp: Any = importlib.import_module("aiohttp")
        response = await self._open(path, query, accept, request_timeout)
        try:
            data: JSON = json.loads(await response.read())
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            raise APIError(0, f"GET {path}: {exc!r}") from exc
        return data

    async def stream(self, path: str, query: list[tuple[str, str]], accept: str,
                     timeout_seconds: int) -> AsyncIterator[JSON]:
        """A watch's events; an ERROR event raises APIError with its code (410: relist)."""
        aiohttp: Any = importlib.import_module("aiohttp")
        timeout = aiohttp.ClientTimeout(total=None, sock_connect=10,
                                        sock_read=timeout_seconds + 30)
        response = await self._open(path, query, accept, timeout)
        try:
            while line := await response.response.content.readline():
                if not line.strip():
                    continue
                event: JSON = json.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    raise APIError(int(status.get("code") or 500), str(status.get("message")))
                yield event
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise APIError(0, f"watch {path}: {exc!r}") from exc
        finally:
            response.response.close()

    async def close(self) -> None:
        await self._api.close()


def _message(body: bytes) -> str:
    try:
        parsed = json.loads(body)
    except ValueError:
        return body.decode(errors="replace")[:300]
    return str(parsed.get("message", "")) if isinstance(parsed, dict) else str(parsed)[:300]


async def connect(kubeconfig: str) -> Cluster:
    """`--kubeconfig`, else the in-cluster config (else upstream's error)."""
    client: Any = importlib.import_module("kubernetes.aio.client")
    config: Any = importlib.import_module("kubernetes.aio.config")
    configuration = client.Configuration()
    if kubeconfig:
        await config.load_kube_config(config_file=kubeconfig,
                                      client_configuration=configuration,
                                      persist_config=False)
    elif os.environ.get("KUBERNETES_SERVICE_HOST") and os.environ.get("KUBERNETES_SERVICE_PORT"):
        config.load_incluster_config(client_configuration=configuration)
    else:
        raise APIError(0, "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST "
                          "and KUBERNETES_SERVICE_PORT must be defined")
    return Cluster(client.ApiClient(configuration))
