"""The per-node kubelet request families, counted in plain numbers, read as prometheus_client's
Histogram and Gauge would expose them."""

from __future__ import annotations

import re
from collections.abc import Callable

from prometheus_client import CollectorRegistry, Gauge, Histogram, generate_latest
from prometheus_client.openmetrics.exposition import generate_latest as openmetrics

from examples.metrics_server.monitoring import (
    DEFAULT_BUCKETS,
    LAST_REQUEST,
    REQUEST_DURATION,
    Monitoring,
)


def test_node_families_read_as_prometheus_client_histogram_and_gauge() -> None:
    observed = [("a", 0.001, 10.5), ("a", 0.005, 11.0), ("b", 0.3, 12.25), ("a", 100.0, 13.0),
                ("b", 0.01, 14.0), ("c", 2.5, 15.0)]
    ours = Monitoring(15)
    reference = CollectorRegistry()
    histogram = Histogram(REQUEST_DURATION, "Duration of requests to Kubelet API in seconds",
                          ["node"], buckets=DEFAULT_BUCKETS, registry=reference)
    gauge = Gauge(LAST_REQUEST, "Time of last request performed to Kubelet API since unix "
                  "epoch in seconds", ["node"], registry=reference)
    for node, seconds, at in observed:
        ours.kubelet_requests.node(node).observe(seconds, at)
        histogram.labels(node).observe(seconds)
        gauge.labels(node).set(at)
    ours.forget_node("c")
    histogram.remove("c")
    gauge.remove("c")

    def scraped(registry: CollectorRegistry, encode: Callable[[CollectorRegistry], bytes]) -> str:
        text = encode(registry).decode()
        text = re.sub(r"(_created(\{[^}]*\})?) \S+", r"\1 T", text)
        return "\n".join(line for line in text.splitlines() if REQUEST_DURATION in line or LAST_REQUEST in line)

    for encode in (generate_latest, openmetrics):
        text = scraped(ours.registry, encode)
        assert text == scraped(reference, encode)
        assert f'{REQUEST_DURATION}_bucket{{le="0.005",node="a"}} 2.0' in text
        assert 'node="c"' not in text


def test_a_node_without_a_request_has_no_last_request_time() -> None:
    m = Monitoring(15)
    m.kubelet_requests.node("new")
    text = generate_latest(m.registry).decode()
    assert f'{REQUEST_DURATION}_count{{node="new"}} 0.0' in text
    assert f'{LAST_REQUEST}{{node="new"}}' not in text
