"""metrics-server's flags: upstream's names, defaults and validation; upstream's manifests'
arguments all accepted."""

from __future__ import annotations

import argparse

import pytest

from examples.metrics_server.options import MetricsOptions, add_flags, options_from
from k8s_aggapi.options import build_parser, config_from_namespace

COMPONENTS_YAML = ["--cert-dir=/tmp", "--secure-port=10250",
                   "--kubelet-preferred-address-types=InternalIP,ExternalIP,Hostname",
                   "--kubelet-use-node-status-port", "--metric-resolution=15s"]
TEST_OVERLAY = ["--kubelet-insecure-tls", "--node-selector=metrics-server-skip!=true"]
KWOK = ["--kubelet-preferred-address-types=Hostname,InternalIP,ExternalIP",
        "--kubelet-use-node-status-port", "--kubelet-insecure-tls", "--metric-resolution=15s",
        "--secure-port=4443"]


def parse(*argv: str) -> tuple[argparse.Namespace, MetricsOptions]:
    parser = build_parser("metrics-server")
    add_flags(parser)
    args = parser.parse_args(list(argv))
    return args, options_from(args)


def test_defaults() -> None:
    _, o = parse()
    assert o.resolution == 15.0 and o.grace_period == 30.0
    assert o.kubelet.port == 10250 and o.kubelet.request_timeout == 10.0
    assert o.kubelet.preferred_address_types == (
        "Hostname", "InternalDNS", "InternalIP", "ExternalDNS", "ExternalIP")
    assert not o.kubelet.insecure_tls and not o.kubelet.use_node_status_port


@pytest.mark.parametrize("argv", [COMPONENTS_YAML, COMPONENTS_YAML + TEST_OVERLAY, KWOK])
def test_upstreams_manifest_arguments(argv: list[str]) -> None:
    args, o = parse(*argv)
    assert o.kubelet.use_node_status_port
    config = config_from_namespace([], args)
    assert config.serving.secure_port in (10250, 4443)


def test_manifest_values() -> None:
    _, o = parse(*COMPONENTS_YAML, *TEST_OVERLAY, "--kubelet-request-timeout=5s")
    assert o.kubelet.preferred_address_types == ("InternalIP", "ExternalIP", "Hostname")
    assert o.kubelet.insecure_tls and o.kubelet.request_timeout == 5.0
    assert o.node_selector.matches({"x": "y"})
    assert not o.node_selector.matches({"metrics-server-skip": "true"})


def test_generic_flags_are_accepted() -> None:
    parse("--profiling=false", "--tls-cipher-suites=TLS_AES_128_GCM_SHA256",
          "--logging-format=json", "--v=2", "--authorization-always-allow-paths=/livez,/readyz",
          "--deprecated-kubelet-completely-insecure", "-l", "a=b")


@pytest.mark.parametrize(("argv", "message"), [
    (["--metric-resolution=500ms"], "at least 1s"),
    (["--metric-resolution=5s", "--kubelet-request-timeout=5s"], "larger than kubelet"),
    (["--metric-resolution=10s", "--kubelet-request-timeout=10s"], "larger than kubelet"),
    (["--kubelet-request-timeout=0s"], "should be positive"),
    (["--kubelet-insecure-tls", "--kubelet-certificate-authority=ca.crt"], "cannot use both"),
    (["--kubelet-client-key=k"], "need both"),
    (["--deprecated-kubelet-completely-insecure", "--kubelet-insecure-tls"], "TLS options"),
    (["--kubelet-preferred-address-types=Nope"], "Nope"),
    (["--node-selector=a=(b"], "node-selector"),
])
def test_invalid_combinations(argv: list[str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        parse(*argv)


def test_a_resolution_below_upstreams_10s_shortens_the_default_timeout() -> None:
    _, o = parse("--metric-resolution=5s")
    assert o.resolution == 5.0 and o.kubelet.request_timeout == 4.5


def test_grace_period() -> None:
    assert parse("--metric-resolution=30s")[1].grace_period == 60.0
    assert parse("--metric-grace-period=0s")[1].grace_period == 0.0
