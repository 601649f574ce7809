"""The kubelet client against small kubelets on loopback (aiohttp servers, HTTPS with a CA
of our own): address and port choice, path annotation, bearer token, CA and insecure TLS,
timeouts, garbage and errors counted, partial results."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from pathlib import Path
from unittest.mock import patch

import pytest
from aiohttp import web

from examples.metrics_server.cluster import Credentials
from examples.metrics_server.informers import NodeInfo
from examples.metrics_server.monitoring import Monitoring
from examples.metrics_server.scraper import KubeletOptions, ScrapeError, Scraper, node_url
from k8s_aggapi.serving.certs import new_ca, new_cert

BODY = b"""node_cpu_usage_seconds_total 10 1633253809720
node_memory_working_set_bytes 1000 1633253809720
container_cpu_usage_seconds_total{container="c",namespace="n",pod="p"} 1 1633253809720
container_memory_working_set_bytes{container="c",namespace="n",pod="p"} 2 1633253809720
"""


def node(name: str, port: int = 0, path: str = "", addresses: tuple = (("InternalIP",
         "127.0.0.1"),)) -> NodeInfo:
    return NodeInfo(name, {}, addresses, port, path)


def test_address_follows_the_preferred_types() -> None:
    n = node("a", addresses=(("Hostname", "host-a"), ("InternalIP", "10.0.0.1"),
                             ("ExternalIP", "1.2.3.4")))
    opts = KubeletOptions(preferred_address_types=("InternalIP", "ExternalIP", "Hostname"))
    assert node_url(n, opts) == "https://10.0.0.1:10250/metrics/resource"
    assert node_url(n, KubeletOptions()) == "https://host-a:10250/metrics/resource"
    v6 = node("b", addresses=(("InternalIP", "fd00::1"),))
    assert node_url(v6, opts) == "https://[fd00::1]:10250/metrics/resource"
    with pytest.raises(ScrapeError, match=r"no address matched types \[ExternalDNS\]"):
        node_url(n, KubeletOptions(preferred_address_types=("ExternalDNS",)))


def test_port_and_path() -> None:
    n = node("a", port=10247, path="/metrics/nodes/a/metrics/resource")
    assert node_url(n, KubeletOptions(port=1234)) == (
        "https://127.0.0.1:1234/metrics/nodes/a/metrics/resource")
    assert node_url(n, KubeletOptions(use_node_status_port=True)) == (
        "https://127.0.0.1:10247/metrics/nodes/a/metrics/resource")
    assert node_url(node("b"), KubeletOptions(use_node_status_port=True)).startswith(
        "https://127.0.0.1:10250/")  # no status port: --kubelet-port
    assert node_url(node("b"), KubeletOptions(completely_insecure=True)).startswith("http://")


class Kubelet:
    def __init__(self) -> None:
        self.seen: list[tuple[str, str | None]] = []
        self.modes: dict[str, str] = {}

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["node"]
        self.seen.append((name, request.headers.get("Authorization")))
        mode = self.modes.get(name, "ok")
        if mode == "slow":
            await asyncio.sleep(1.5)
        if mode == "dawdle":
            await asyncio.sleep(0.4)
        if mode == "garbage":
            return web.Response(body=b"node_cpu_usage_seconds_total banana\n")
        if mode == "no-timestamps":
            return web.Response(body=b"node_cpu_usage_seconds_total 10\n"
                                     b"node_memory_working_set_bytes 1000\n")
        if mode == "500":
            return web.Response(status=500, text="boom")
        return web.Response(body=BODY, content_type="text/plain")


@pytest.fixture
def pki(tmp_path: Path) -> tuple[ssl.SSLContext, Path]:
    ca = new_ca("kubelet-ca")
    serving = new_cert(ca, "kubelet", ip_addresses=["127.0.0.1"], server=True)
    serving.write(tmp_path / "tls.crt", tmp_path / "tls.key")
    (tmp_path / "ca.crt").write_bytes(ca.cert_pem())
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tmp_path / "tls.crt", tmp_path / "tls.key")
    return context, tmp_path / "ca.crt"


@pytest.fixture
async def kubelet(pki: tuple[ssl.SSLContext, Path]) -> AsyncIterator[tuple[Kubelet, int]]:
    fake = Kubelet()
    app = web.Application()
    app.router.add_get("/metrics/nodes/{node}/metrics/resource", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=pki[0])
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield fake, port
    await runner.cleanup()


def nodes(port: int, *names: str) -> list[NodeInfo]:
    return [node(n, port, f"/metrics/nodes/{n}/metrics/resource") for n in names]


async def test_scrapes_over_https_with_the_ca_and_token(
        kubelet: tuple[Kubelet, int], pki: tuple[ssl.SSLContext, Path]) -> None:
    fake, port = kubelet
    monitoring = Monitoring(15)
    scraper = Scraper(KubeletOptions(use_node_status_port=True,
                                     preferred_address_types=("InternalIP",)),
                      monitoring, lambda: Credentials(token="t0k", ca_file=str(pki[1])))
    result = await scraper.scrape(nodes(port, "a", "b"))
    await scraper.close()
    assert set(result.scraped) == {"a", "b"} and not result.failed
    assert result.scraped["a"].node is not None
    assert sorted(fake.seen) == [("a", "Bearer t0k"), ("b", "Bearer t0k")]
    assert monitoring.success._value.get() == 2


async def test_an_unknown_ca_fails_and_insecure_tls_works(kubelet: tuple[Kubelet, int]) -> None:
    _, port = kubelet
    monitoring = Monitoring(15)
    options = KubeletOptions(use_node_status_port=True, preferred_address_types=("InternalIP",))
    strict = Scraper(options, monitoring, Credentials)
    assert (await strict.scrape(nodes(port, "a"))).failed == ["a"]
    await strict.close()
    loose = Scraper(KubeletOptions(use_node_status_port=True, insecure_tls=True,
                                   preferred_address_types=("InternalIP",)),
                    monitoring, Credentials)
    assert set((await loose.scrape(nodes(port, "a"))).scraped) == {"a"}
    await loose.close()
    assert monitoring.failure._value.get() == 1


async def test_one_bad_kubelet_does_not_stop_the_others(
        kubelet: tuple[Kubelet, int], pki: tuple[ssl.SSLContext, Path]) -> None:
    fake, port = kubelet
    fake.modes = {"slow": "slow", "junk": "garbage", "err": "500"}
    monitoring = Monitoring(15)
    scraper = Scraper(KubeletOptions(use_node_status_port=True, request_timeout=0.5,
                                     preferred_address_types=("InternalIP",)),
                      monitoring, lambda: Credentials(ca_file=str(pki[1])))
    no_address = NodeInfo("lost", {}, (), 0, "")
    result = await scraper.scrape([*nodes(port, "ok", "slow", "junk", "err"), no_address])
    await scraper.close()
    assert set(result.scraped) == {"ok"}
    assert sorted(result.failed) == ["err", "junk", "lost", "slow"]
    assert monitoring.failure._value.get() == 4


async def test_a_request_that_waited_for_a_place_has_a_deadline_of_its_own(
        kubelet: tuple[Kubelet, int], pki: tuple[ssl.SSLContext, Path]) -> None:
    fake, port = kubelet
    names = ("a", "b", "c", "d")
    fake.modes = dict.fromkeys(names, "dawdle")  # 0.4 s each, one at a time: 1.6 s in all
    scraper = Scraper(KubeletOptions(use_node_status_port=True, request_timeout=1.0,
                                     max_concurrent=1, preferred_address_types=("InternalIP",)),
                      Monitoring(15), lambda: Credentials(ca_file=str(pki[1])))
    for _ in range(2):  # new connections, then kept ones
        with patch("examples.metrics_server.scraper.random.uniform", return_value=0.0):
            result = await scraper.scrape(nodes(port, *names))  # all in one slot
        assert set(result.scraped) == set(names) and not result.failed
    await scraper.close()


def test_forgetting_a_node_removes_its_series() -> None:
    m = Monitoring(15)
    m.kubelet_requests.node("gone").observe(0.1, 1.0)
    m.kubelet_requests.node("kept").observe(0.1, 1.0)
    m.forget_node("gone")
    m.forget_node("never-seen")
    samples = {s.labels.get("node") for fam in m.registry.collect() for s in fam.samples}
    assert "gone" not in samples and "kept" in samples


async def test_request_time_is_whole_milliseconds(kubelet: tuple[Kubelet, int],
                                                  pki: tuple[ssl.SSLContext, Path]) -> None:
    fake, port = kubelet
    fake.modes = {"a": "no-timestamps"}
    scraper = Scraper(KubeletOptions(use_node_status_port=True,
                                     preferred_address_types=("InternalIP",)),
                      Monitoring(15), lambda: Credentials(ca_file=str(pki[1])))
    result = await scraper.scrape(nodes(port, "a"))
    await scraper.close()
    node = result.scraped["a"].node
    assert node is not None and node.timestamp % 1_000_000 == 0


async def test_a_node_no_longer_scraped_is_forgotten_and_connections_are_kept(
        kubelet: tuple[Kubelet, int], pki: tuple[ssl.SSLContext, Path]) -> None:
    fake, port = kubelet
    scraper = Scraper(KubeletOptions(use_node_status_port=True,
                                     preferred_address_types=("InternalIP",)),
                      Monitoring(15), lambda: Credentials(ca_file=str(pki[1])))
    first = await scraper.scrape(nodes(port, "a", "b"))
    second = await scraper.scrape(nodes(port, "a"))
    await scraper.close()
    assert set(first.scraped) == {"a", "b"} and set(second.scraped) == {"a"}
    assert set(scraper._nodes) == {"a"}
    # a's unchanged series were read by the plan of the first cycle: the same layout
    assert second.scraped["a"].layout is first.scraped["a"].layout
    assert len(fake.seen) == 3


async def test_a_new_token_is_sent_on_the_next_scrape(
        kubelet: tuple[Kubelet, int], pki: tuple[ssl.SSLContext, Path]) -> None:
    fake, port = kubelet
    token = ["one"]
    scraper = Scraper(KubeletOptions(use_node_status_port=True,
                                     preferred_address_types=("InternalIP",)),
                      Monitoring(15), lambda: Credentials(token=token[0], ca_file=str(pki[1])))
    await scraper.scrape(nodes(port, "a"))
    await scraper.scrape(nodes(port, "a"))  # the request's bytes kept
    token[0] = "two"
    await scraper.scrape(nodes(port, "a"))
    await scraper.close()
    assert fake.seen == [("a", "Bearer one"), ("a", "Bearer one"), ("a", "Bearer two")]
