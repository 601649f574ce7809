"""HTTP to kube-apiserver: `Transport`, one aiohttp session over a `RestConfig` (TLS with the
cluster CA or none, a client certificate, a bearer token re-read from its file once a minute as
client-go does), raw bytes in and `aiohttp.ClientResponse` out. Callers speak JSON themselves.

A kubeconfig that needs more (an exec or auth-provider plugin, basic auth, impersonation, a
proxy) is served by the full kubernetes client instead (`LibraryTransport`); it is imported
only then: it loads every API model, about 18 MiB and 400 modules a server otherwise carries.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import ssl
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import aiohttp

from k8s_aggapi.kubeconfig import KubeconfigError, RestConfig, in_cluster_config, load_kubeconfig

TOKEN_REFRESH = 60.0  # seconds a token read from a file is used before it is read again
Query = list[tuple[str, str]]
Timeout = float | aiohttp.ClientTimeout


@dataclass(frozen=True)
class Auth:
    """The client credentials, as files and a token (the kubelet client reuses them)."""

    token: str = ""
    cert_file: str = ""
    key_file: str = ""
    ca_file: str = ""


class Transport(Protocol):
    @property
    def host(self) -> str: ...

    async def request(self, method: str, path: str, *, query: Query | None = None,
                      headers: dict[str, str] | None = None, body: Any = None,
                      request_timeout: Timeout = 10.0) -> aiohttp.ClientResponse:
        """`body` is sent as JSON when not None; the caller reads and closes the response."""
        ...

    async def auth(self) -> Auth: ...

    async def close(self) -> None: ...


def _timeout(timeout: Timeout) -> aiohttp.ClientTimeout:
    return timeout if isinstance(timeout, aiohttp.ClientTimeout) else aiohttp.ClientTimeout(
        total=timeout)


def ssl_context(config: RestConfig) -> ssl.SSLContext | bool:
    if not config.host.startswith("https://"):
        return False
    context = ssl.create_default_context(cafile=config.ca_file or None)
    if config.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if config.cert_file:
        context.load_cert_chain(config.cert_file, config.key_file or None)
    return context


class RestTransport:
    """One kept-alive aiohttp session to the config's host."""

    def __init__(self, config: RestConfig, *, clock: Any = time.monotonic) -> None:
        self.config = config
        self._ssl = ssl_context(config)
        self._session: aiohttp.ClientSession | None = None
        self._clock = clock
        self._token = config.token
        self._token_read = -TOKEN_REFRESH

    @property
    def host(self) -> str:
        return self.config.host

    async def token(self) -> str:
        if self.config.token_file and self._clock() - self._token_read >= TOKEN_REFRESH:
            path = Path(self.config.token_file)
            try:
                self._token = (await asyncio.to_thread(path.read_text)).strip()
            except OSError:
                if not self._token:  # keep the last good one when a rotation is under way
                    raise
            self._token_read = self._clock()
        return self._token

    async def request(self, method: str, path: str, *, query: Query | None = None,
                      headers: dict[str, str] | None = None, body: Any = None,
                      request_timeout: Timeout = 10.0) -> aiohttp.ClientResponse:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(ssl=self._ssl), json_serialize=json.dumps)
        sent = dict(headers or {})
        token = await self.token()
        if token:
            sent["Authorization"] = f"Bearer {token}"
        data = None if body is None else json.dumps(body).encode()
        return await self._session.request(
            method, self.config.host + path, params=query or None, headers=sent, data=data,
            timeout=_timeout(request_timeout), server_hostname=self.config.server_name or None)

    async def auth(self) -> Auth:
        return Auth(token=await self.token(), cert_file=self.config.cert_file,
                    key_file=self.config.key_file, ca_file=self.config.ca_file)

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


class LibraryTransport:
    """The kubernetes client's ApiClient, for kubeconfigs `RestTransport` does not read."""

    def __init__(self, api_client: Any) -> None:
        self._api = api_client

    @property
    def host(self) -> str:
        return str(self._api.configuration.host)

    async def request(self, method: str, path: str, *, query: Query | None = None,
                      headers: dict[str, str] | None = None, body: Any = None,
                      request_timeout: Timeout = 10.0) -> aiohttp.ClientResponse:
        params = await self._api.param_serialize(
            method=method, resource_path=path, query_params=query or None,
            header_params=dict(headers or {}), body=body, auth_settings=["BearerToken"])
        response = await self._api.call_api(*params, _request_timeout=request_timeout)
        result: aiohttp.ClientResponse = response.response
        return result

    async def auth(self) -> Auth:
        config = self._api.configuration
        header = await config.get_api_key_with_prefix("BearerToken", alias="authorization")
        return Auth(token=(header or "").removeprefix("Bearer ").strip(),
                    cert_file=config.cert_file or "", key_file=config.key_file or "",
                    ca_file=config.ssl_ca_cert or "")

    async def close(self) -> None:
        await self._api.close()


async def _library(kubeconfig: str) -> Transport:
    client: Any = importlib.import_module("kubernetes.aio.client")
    config: Any = importlib.import_module("kubernetes.aio.config")
    configuration = client.Configuration()
    await config.load_kube_config(config_file=kubeconfig, client_configuration=configuration,
                                  persist_config=False)
    return LibraryTransport(client.ApiClient(configuration))


async def connect(kubeconfig: str = "") -> Transport | None:
    """A transport from `kubeconfig`, else from the in-cluster service account; None when there
    is neither. Raises `KubeconfigError` for a kubeconfig that cannot be read."""
    if kubeconfig:
        config = await asyncio.to_thread(load_kubeconfig, kubeconfig)
        return RestTransport(config) if config is not None else await _library(kubeconfig)
    config = in_cluster_config()
    return RestTransport(config) if config is not None else None


__all__ = ["Auth", "KubeconfigError", "LibraryTransport", "RestTransport", "Transport", "connect"]
