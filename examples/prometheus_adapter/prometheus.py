"""Prometheus's HTTP API over aiohttp: `/api/v1/series` for discovery, `/api/v1/query` for
values, each with a timeout. Any failure is a `PrometheusError` saying what was asked of
which Prometheus and what went wrong."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any

import aiohttp


class PrometheusError(Exception):
    pass


@dataclass(frozen=True)
class Sample:
    labels: dict[str, str]
    value: float
    timestamp: float


class PrometheusClient:
    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(timeout=self.timeout)
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def _get(self, path: str, params: list[tuple[str, str]]) -> Any:
        url = f"{self.url}{path}"
        try:
            async with self._client().post(url, data=params) as response:
                body = await response.json(content_type=None)
        except TimeoutError:
            raise PrometheusError(f"{url}: no answer within {self.timeout.total:g}s") from None
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            raise PrometheusError(f"{url}: {exc}") from None
        if not isinstance(body, dict) or body.get("status") != "success":
            error = body.get("error") if isinstance(body, dict) else body
            raise PrometheusError(f"{url}: {response.status} {error}")
        return body["data"]

    async def series(self, match: str, max_age: float) -> list[dict[str, str]]:
        start = f"{time.time() - max_age:.3f}"
        data = await self._get("/api/v1/series", [("match[]", match), ("start", start)])
        return list(data)

    async def query(self, promql: str) -> list[Sample]:
        """An instant query; a scalar comes back as one sample without labels."""
        data = await self._get("/api/v1/query", [("query", promql)])
        kind, result = data.get("resultType"), data.get("result")
        if kind == "scalar":
            return [Sample({}, _float(result[1]), float(result[0]))]
        if kind != "vector":
            raise PrometheusError(f"{promql}: a {kind} result, not an instant vector")
        return [Sample(dict(r["metric"]), _float(r["value"][1]), float(r["value"][0]))
                for r in result]


def _float(text: str) -> float:
    value = float(text)
    return 0.0 if math.isnan(value) else value
