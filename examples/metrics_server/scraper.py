"""Scraping every node's kubelet `/metrics/resource` over HTTPS with aiohttp.

As upstream (pkg/scraper): the address is the node's first status address of the first
`--kubelet-preferred-address-types` type that has one; the port is `--kubelet-port`, or the
node's `status.daemonEndpoints.kubeletEndpoint.Port` with `--kubelet-use-node-status-port`;
the path is `/metrics/resource` or the node's `metrics.k8s.io/resource-metrics-path`
annotation; the credentials are the rest config's (bearer token or client certificate) unless
`--kubelet-client-certificate`/`--kubelet-client-key` say otherwise; the CA is the cluster's,
`--kubelet-certificate-authority`, or none with `--kubelet-insecure-tls`. Each node's request
starts after a random delay below min(8 ms x nodes, 4 s) and has `--kubelet-request-timeout`.
Unlike upstream, at most `--kubelet-max-concurrent-scrapes` run at once (upstream starts one
goroutine per node), and connections are kept alive from one cycle to the next.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import aiohttp

from examples.metrics_server.cluster import Credentials
from examples.metrics_server.decode import DecodeError, decode
from examples.metrics_server.informers import NodeInfo
from examples.metrics_server.monitoring import Monitoring
from examples.metrics_server.points import NodeScrape

log = logging.getLogger(__name__)

DEFAULT_PATH = "/metrics/resource"
MAX_DELAY_PER_NODE = 0.008
MAX_DELAY = 4.0


@dataclass(frozen=True)
class KubeletOptions:
    port: int = 10250
    use_node_status_port: bool = False
    preferred_address_types: tuple[str, ...] = (
        "Hostname", "InternalDNS", "InternalIP", "ExternalDNS", "ExternalIP")
    insecure_tls: bool = False
    certificate_authority: str = ""
    client_certificate: str = ""
    client_key: str = ""
    request_timeout: float = 10.0
    completely_insecure: bool = False
    max_concurrent: int = 1024


class ScrapeError(Exception):
    pass


def node_address(node: NodeInfo, preferred: Sequence[str]) -> str:
    for kind in preferred:
        for address_type, address in node.addresses:
            if address_type == kind and address:
                return address
    raise ScrapeError(f"no address matched types [{' '.join(preferred)}]")


def node_url(node: NodeInfo, options: KubeletOptions) -> str:
    address = node_address(node, options.preferred_address_types)
    if ":" in address:  # IPv6
        address = f"[{address}]"
    port = node.kubelet_port if options.use_node_status_port and node.kubelet_port else (
        options.port)
    scheme = "http" if options.completely_insecure else "https"
    return f"{scheme}://{address}:{port}{node.metrics_path or DEFAULT_PATH}"


def ssl_context(options: KubeletOptions, credentials: Credentials) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if options.insecure_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    else:
        ca = options.certificate_authority or credentials.ca_file
        if ca:
            context.load_verify_locations(ca)
    cert = options.client_certificate or credentials.cert_file
    key = options.client_key or credentials.key_file
    if cert:
        context.load_cert_chain(cert, key or None)
    return context


@dataclass
class CycleResult:
    scraped: dict[str, NodeScrape]
    failed: list[str]


class Scraper:
    """One aiohttp session for all kubelets; `scrape(nodes)` is one cycle."""

    def __init__(self, options: KubeletOptions, monitoring: Monitoring,
                 credentials: Callable[[], Credentials], *, keepalive: float = 60.0) -> None:
        self.options = options
        self.monitoring = monitoring
        self.credentials = credentials
        self.keepalive = keepalive
        self._session: aiohttp.ClientSession | None = None
        self._session_key: Credentials | None = None
        self._semaphore = asyncio.Semaphore(options.max_concurrent)
        self._keys: dict[str, dict[bytes, tuple[str, str, str] | None]] = {}

    def forget(self, node: str) -> None:
        """Drop what is cached for a node that is gone."""
        self._keys.pop(node, None)

    def _client(self) -> tuple[aiohttp.ClientSession, dict[str, str]]:
        creds = self.credentials()
        if self._session is None or self._session_key != creds:
            old = self._session
            if old is not None:
                asyncio.get_running_loop().create_task(old.close())
            ssl_arg: ssl.SSLContext | bool = (
                False if self.options.completely_insecure else ssl_context(self.options, creds))
            connector = aiohttp.TCPConnector(
                ssl=ssl_arg, limit=self.options.max_concurrent, limit_per_host=0,
                keepalive_timeout=self.keepalive, ttl_dns_cache=300)
            self._session = aiohttp.ClientSession(connector=connector,
                                                  auto_decompress=True, trust_env=False)
            self._session_key = creds
        headers: dict[str, str] = {}  # no Accept, as upstream (kwok answers 406 to text/plain)
        if creds.token and not self.options.completely_insecure:
            headers["Authorization"] = f"Bearer {creds.token}"
        return self._session, headers

    async def scrape(self, nodes: Sequence[NodeInfo]) -> CycleResult:
        session, headers = self._client()
        max_delay = min(MAX_DELAY_PER_NODE * len(nodes), MAX_DELAY)
        outcomes = await asyncio.gather(
            *(self._one(session, headers, node, random.uniform(0, max_delay)) for node in nodes))
        result = CycleResult({}, [])
        for node, outcome in zip(nodes, outcomes, strict=True):
            if outcome is None:
                result.failed.append(node.name)
            else:
                result.scraped[node.name] = outcome
        return result

    async def _one(self, session: aiohttp.ClientSession, headers: dict[str, str],
                   node: NodeInfo, delay: float) -> NodeScrape | None:
        await asyncio.sleep(delay)
        async with self._semaphore:
            started = time.monotonic()
            # whole milliseconds, as upstream (a Prometheus timestamp), so `window` reads "10.005s"
            request_time = time.time_ns() // 1_000_000 * 1_000_000
            try:
                url = node_url(node, self.options)
                body = await self._get(session, url, headers)
                keys = self._keys.setdefault(node.name, {})
                scrape = decode(body, request_time, keys)
                if len(keys) > 2 * sum(map(len, scrape.pods.values())) + 64:
                    keys.clear()  # pods come and go: keep the cache to what the node reports
            except (ScrapeError, DecodeError, aiohttp.ClientError, OSError, ssl.SSLError,
                    ValueError) as exc:
                self.monitoring.failure.inc()
                log.warning("Failed to scrape node %s: %s", node.name, exc)
                return None
            except TimeoutError:
                self.monitoring.failure.inc()
                log.warning("Failed to scrape node %s: timeout to access kubelet", node.name)
                return None
            finally:
                self.monitoring.request_duration.labels(node.name).observe(
                    time.monotonic() - started)
                self.monitoring.last_request.labels(node.name).set(request_time / 1e9)
            self.monitoring.success.inc()
            return scrape

    async def _get(self, session: aiohttp.ClientSession, url: str,
                   headers: dict[str, str]) -> bytes:
        timeout = aiohttp.ClientTimeout(total=self.options.request_timeout)
        async with session.get(url, headers=headers, timeout=timeout) as response:
            body = await response.read()
            if response.status != 200:
                raise ScrapeError(f"request failed, status: {response.status} "
                                  f"{response.reason or ''}".rstrip())
            return body

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None
