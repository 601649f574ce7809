"""The connection to kube-apiserver (`k8s_aggapi.restclient`): `--kubeconfig` or in-cluster,
raw JSON requests, and the credentials the kubelet client reuses (upstream copies the rest
config: the same bearer token or client certificate, and the cluster CA unless told otherwise).
"""

from __future__ import annotations

import json
import ssl
from collections.abc import AsyncIterator
from typing import Any

from k8s_aggapi import restclient
from k8s_aggapi.kubeconfig import KubeconfigError
from k8s_aggapi.restclient import Auth, Response, StreamTimeout, Transport

JSON = dict[str, Any]


class APIError(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}" if status else message)
        self.status = status


Credentials = Auth  # what the kubelet client takes from the rest config (upstream copies it)


class Cluster:
    """kube-apiserver spoken to in raw JSON (no model objects: a list of 150,000 pods is
    decoded once, by orjson-compatible json, into dicts)."""

    def __init__(self, transport: Transport) -> None:
        self._api = transport

    @property
    def host(self) -> str:
        return self._api.host

    async def credentials(self) -> Credentials:
        return await self._api.auth()

    async def _open(self, path: str, query: list[tuple[str, str]], accept: str,
                    request_timeout: Any) -> Response:
        try:
            response = await self._api.request("GET", path, query=query,
                                               headers={"Accept": accept},
                                               request_timeout=request_timeout)
        except (TimeoutError, OSError) as exc:
            raise APIError(0, f"GET {path}: {exc!r}") from exc
        if response.status >= 300:
            try:
                body = await response.read()
            finally:
                response.close()
            raise APIError(response.status, _message(body))
        return response

    async def get(self, path: str, query: list[tuple[str, str]], accept: str,
                  request_timeout: float = 60.0) -> JSON:
        response = await self._open(path, query, accept, request_timeout)
        try:
            data: JSON = json.loads(await response.read())
        except (TimeoutError, OSError, ValueError) as exc:
            raise APIError(0, f"GET {path}: {exc!r}") from exc
        finally:
            response.close()
        return data

    async def stream(self, path: str, query: list[tuple[str, str]], accept: str,
                     timeout_seconds: int) -> AsyncIterator[JSON]:
        """A watch's events; an ERROR event raises APIError with its code (410: relist)."""
        timeout = StreamTimeout(connect=10, read=timeout_seconds + 30)
        response = await self._open(path, query, accept, timeout)
        try:
            while line := await response.readline():
                if not line.strip():
                    continue
                event: JSON = json.loads(line)
                if event.get("type") == "ERROR":
                    status = event.get("object") or {}
                    raise APIError(int(status.get("code") or 500), str(status.get("message")))
                yield event
        except (TimeoutError, OSError) as exc:
            raise APIError(0, f"watch {path}: {exc!r}") from exc
        finally:
            response.close()

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
    try:
        transport = await restclient.connect(kubeconfig)
    except (KubeconfigError, OSError, ssl.SSLError) as exc:
        raise APIError(0, f"invalid kubeconfig {kubeconfig}: {exc}") from exc
    if transport is None:
        raise APIError(0, "unable to load in-cluster configuration, KUBERNETES_SERVICE_HOST "
                          "and KUBERNETES_SERVICE_PORT must be defined")
    return Cluster(transport)
