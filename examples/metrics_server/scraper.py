"""Scraping every node's kubelet `/metrics/resource` over HTTPS (`kubelet_http`).

As upstream (pkg/scraper): the address is the node's first status address of the first
`--kubelet-preferred-address-types` type that has one; the port is `--kubelet-port`, or the
node's `status.daemonEndpoints.kubeletEndpoint.Port` with `--kubelet-use-node-status-port`;
the path is `/metrics/resource` or the node's `metrics.k8s.io/resource-metrics-path`
annotation; the credentials are the rest config's (bearer token or client certificate) unless
`--kubelet-client-certificate`/`--kubelet-client-key` say otherwise; the CA is the cluster's,
`--kubelet-certificate-authority`, or none with `--kubelet-insecure-tls`. Each node's request
starts after a random delay below min(8 ms x nodes, 4 s) and has `--kubelet-request-timeout`.
Unlike upstream, at most `--kubelet-max-concurrent-scrapes` run at once (upstream starts one
goroutine per node), and the delays are rounded down to 100 ms, so the requests of a slot
start together (one timer, one wake-up) instead of one by one, and share one deadline
(`kubelet_http.Deadline`); a request that waited for a free place has its own.
"""

from __future__ import annotations

import asyncio
import logging
import random
import ssl
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from examples.metrics_server.cluster import Credentials
from examples.metrics_server.decode import DecodeError, NodeCache, decode
from examples.metrics_server.informers import NodeInfo
from examples.metrics_server.kubelet_http import Deadline, HTTPError, KubeletHTTP
from examples.metrics_server.monitoring import Monitoring
from examples.metrics_server.points import NodeScrape

log = logging.getLogger(__name__)

DEFAULT_PATH = "/metrics/resource"
MAX_DELAY_PER_NODE = 0.008
MAX_DELAY = 4.0
DELAY_SLOT = 0.1


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


def node_target(node: NodeInfo, options: KubeletOptions) -> tuple[str, int, str]:
    """(host, port, path) of a node's resource metrics."""
    host = node_address(node, options.preferred_address_types)
    port = node.kubelet_port if options.use_node_status_port and node.kubelet_port else (
        options.port)
    return host, port, node.metrics_path or DEFAULT_PATH


def node_url(node: NodeInfo, options: KubeletOptions) -> str:
    host, port, path = node_target(node, options)
    if ":" in host:  # IPv6
        host = f"[{host}]"
    scheme = "http" if options.completely_insecure else "https"
    return f"{scheme}://{host}:{port}{path}"


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


class _NodeState:
    """What the scraper keeps per node: its decoder cache, its self-metric series, and the
    address its connection is kept to."""

    __slots__ = ("address", "cache", "request", "series")

    def __init__(self, monitoring: Monitoring, name: str) -> None:
        self.cache = NodeCache()
        self.series = monitoring.kubelet_requests.node(name)
        self.address: tuple[str, int] | None = None
        # the request's bytes, kept while the node, the client and its headers are the same
        self.request: tuple[NodeInfo, KubeletHTTP, bytes, bytes] | None = None

    def target(self, node: NodeInfo, options: KubeletOptions, http: KubeletHTTP,
               headers: bytes) -> bytes:
        kept = self.request
        if (kept is not None and kept[0] is node and kept[1] is http
                and kept[2] is headers):
            return kept[3]
        host, port, path = node_target(node, options)
        self.address = (host, port)
        request = http.request(host, port, path, headers)
        self.request = (node, http, headers, request)
        return request


class Scraper:
    """One HTTP client for all kubelets; `scrape(nodes)` is one cycle."""

    def __init__(self, options: KubeletOptions, monitoring: Monitoring,
                 credentials: Callable[[], Credentials], *, keepalive: float = 60.0) -> None:
        self.options = options
        self.monitoring = monitoring
        self.credentials = credentials
        self.keepalive = keepalive
        self._http: KubeletHTTP | None = None
        self._http_key: Credentials | None = None
        self._headers = ("", b"")  # (the token, the header lines it makes)
        self._semaphore = asyncio.Semaphore(options.max_concurrent)
        self._nodes: dict[str, _NodeState] = {}

    def forget(self, node: str) -> None:
        """Drop what is kept for a node that is gone."""
        state = self._nodes.pop(node, None)
        if (state is not None and state.address is not None and self._http is not None
                and not any(s.address == state.address for s in self._nodes.values())):
            self._http.forget(*state.address)

    def _client(self) -> tuple[KubeletHTTP, bytes]:
        creds = self.credentials()
        if self._http is None or self._http_key != creds:
            old = self._http
            if old is not None:
                asyncio.get_running_loop().create_task(old.close())
            context = None if self.options.completely_insecure else ssl_context(
                self.options, creds)
            self._http = KubeletHTTP(context, keepalive=self.keepalive)
            self._http_key = creds
        token = creds.token if not self.options.completely_insecure else ""
        if self._headers[0] != token:  # no Accept, as upstream (kwok answers 406 to text/plain)
            self._headers = (token, f"Authorization: Bearer {token}\r\n".encode()
                             if token else b"")
        return self._http, self._headers[1]

    async def scrape(self, nodes: Sequence[NodeInfo]) -> CycleResult:
        http, headers = self._client()
        http.expire()
        if len(self._nodes) > len(nodes):  # nodes left out by --node-selector, or gone
            names = {node.name for node in nodes}
            for name in [n for n in self._nodes if n not in names]:
                self.forget(name)
        max_delay = min(MAX_DELAY_PER_NODE * len(nodes), MAX_DELAY)
        slots: dict[int, list[NodeInfo]] = {}
        for node in nodes:
            slots.setdefault(int(random.uniform(0, max_delay) / DELAY_SLOT), []).append(node)
        groups = await asyncio.gather(*(self._slot(http, headers, slot * DELAY_SLOT, group)
                                        for slot, group in slots.items()))
        result = CycleResult({}, [])
        for group, outcomes in zip(slots.values(), groups, strict=True):
            for node, outcome in zip(group, outcomes, strict=True):
                if outcome is None:
                    result.failed.append(node.name)
                else:
                    result.scraped[node.name] = outcome
        self.monitoring.success.inc(len(result.scraped))  # once per cycle, not per node
        self.monitoring.failure.inc(len(result.failed))
        return result

    async def _slot(self, http: KubeletHTTP, headers: bytes, delay: float,
                    nodes: list[NodeInfo]) -> list[NodeScrape | None]:
        await asyncio.sleep(delay)
        deadline = Deadline.after(self.options.request_timeout)  # one timer for the slot
        try:
            return await asyncio.gather(*(self._one(http, headers, node, deadline)
                                          for node in nodes))
        finally:
            deadline.cancel()

    async def _one(self, http: KubeletHTTP, headers: bytes, node: NodeInfo,
                   deadline: Deadline) -> NodeScrape | None:
        state = self._nodes.get(node.name)
        if state is None:
            state = self._nodes[node.name] = _NodeState(self.monitoring, node.name)
        waits = self._semaphore.locked()
        async with self._semaphore:
            started = time.monotonic()
            own = Deadline.after(self.options.request_timeout) if waits else None
            # whole milliseconds, as upstream (a Prometheus timestamp), so `window` reads "10.005s"
            request_time = time.time_ns() // 1_000_000 * 1_000_000
            try:
                request = state.target(node, self.options, http, headers)
                assert state.address is not None
                response = await http.send_by(*state.address, request, own or deadline)
                if response.status != 200:
                    raise ScrapeError(f"request failed, status: {response.status} "
                                      f"{response.reason}".rstrip())
                scrape = decode(response.body, request_time, state.cache)
            except (ScrapeError, DecodeError, HTTPError, OSError, ssl.SSLError,
                    ValueError) as exc:
                log.warning("Failed to scrape node %s: %s", node.name, exc)
                return None
            except TimeoutError:
                log.warning("Failed to scrape node %s: timeout to access kubelet", node.name)
                return None
            finally:
                if own is not None:  # it waited for a free slot: its deadline is its own
                    own.cancel()
                state.series.observe(time.monotonic() - started, request_time / 1e9)
            return scrape

    async def close(self) -> None:
        if self._http is not None:
            await self._http.close()
            self._http = None
