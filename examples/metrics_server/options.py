"""metrics-server's own flags (cmd/metrics-server/app/options), added to the core's parser.

Names, defaults and validation as upstream, except `--metric-resolution`, whose default is
the 15s upstream's manifests set (its code says 60s), and its minimum, 1s instead of 10s
(`--kubelet-request-timeout` then defaults to 0.9 x the resolution). Two flags are ours:
`--metric-grace-period` and `--kubelet-max-concurrent-scrapes`. Generic apiserver flags that
the core does not implement (profiling, audit, logging format, ...) are accepted so that
upstream's manifests and charts start this server unchanged; they have no effect here.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field

from examples.metrics_server.scraper import KubeletOptions
from k8s_aggapi.options import _bool, _duration, _StringSlice
from k8s_aggapi.registry.selectors import LabelSelector

MIN_RESOLUTION = 1.0
"""Ours: upstream refuses below 10s; a Python cycle at 1,000 nodes takes well under 1s."""
DEFAULT_ADDRESS_TYPES = ["Hostname", "InternalDNS", "InternalIP", "ExternalDNS", "ExternalIP"]
ADDRESS_TYPES = set(DEFAULT_ADDRESS_TYPES)

# accepted for compatibility, without effect (each takes a value unless listed as a switch)
IGNORED_VALUE_FLAGS = (
    "--tls-cipher-suites", "--tls-sni-cert-key", "--tls-curve-preferences",
    "--http2-max-streams-per-connection", "--advertise-address", "--external-hostname",
    "--cors-allowed-origins", "--goaway-chance", "--livez-grace-period",
    "--max-requests-inflight", "--max-mutating-requests-inflight", "--min-request-timeout",
    "--request-timeout", "--shutdown-delay-duration", "--shutdown-watch-termination-grace-period",
    "--storage-initialization-timeout", "--strict-transport-security-directives",
    "--emulated-version", "--min-compatibility-version", "--feature-gates",
    "--audit-policy-file", "--audit-log-path", "--audit-log-maxage", "--audit-log-maxbackup",
    "--audit-log-maxsize", "--audit-log-format", "--audit-log-mode", "--audit-webhook-config-file",
    "--audit-webhook-mode", "--debug-socket-path", "--logging-format", "--log-flush-frequency",
    "--vmodule", "--log-text-split-stream", "--log-json-split-stream",
)
IGNORED_SWITCHES = (
    "--profiling", "--contention-profiling", "--enable-priority-and-fairness",
    "--disable-http2-serving", "--permit-port-sharing", "--permit-address-sharing",
    "--shutdown-send-retry-after", "--audit-log-compress", "--log-text-info-buffer-size",
)


@dataclass(frozen=True)
class MetricsOptions:
    resolution: float = 15.0
    grace_period: float = 30.0
    kubelet: KubeletOptions = field(default_factory=KubeletOptions)
    node_selector: LabelSelector = field(default_factory=LabelSelector)
    kubeconfig: str = ""


def add_flags(parser: argparse.ArgumentParser) -> None:
    m = parser.add_argument_group("metrics server")
    m.add_argument("--metric-resolution", type=_duration, default=15.0,
                   help="the interval at which metrics are scraped from kubelets (default "
                        "15s; ours: down to 1s, upstream refuses less than 10s)")
    m.add_argument("--metric-grace-period", type=_duration, default=None,
                   help="ours: how long a node whose scrape fails keeps serving its last good "
                        "metrics (default 2 x --metric-resolution; 0 forgets it at once, as "
                        "upstream)")
    m.add_argument("-l", "--node-selector", default="",
                   help="label selector of the nodes to scrape (=, ==, !=, in, notin, exists)")
    m.add_argument("--version", action="store_true", help="print the version and exit")
    k = parser.add_argument_group("kubelet client")
    k.add_argument("--kubelet-port", type=int, default=10250,
                   help="the port to use to connect to kubelets")
    k.add_argument("--kubelet-use-node-status-port", type=_bool, nargs="?", const=True,
                   default=False, help="use the port in the node status (takes precedence "
                   "over --kubelet-port)")
    k.add_argument("--kubelet-preferred-address-types", action=_StringSlice,
                   default=list(DEFAULT_ADDRESS_TYPES),
                   help="the priority of node address types to use when connecting")
    k.add_argument("--kubelet-insecure-tls", type=_bool, nargs="?", const=True, default=False,
                   help="do not verify the CA of serving certificates presented by kubelets")
    k.add_argument("--kubelet-certificate-authority", default="",
                   help="path to the CA to use to validate the kubelet's serving certificates")
    k.add_argument("--kubelet-client-certificate", default="",
                   help="path to a client cert file for TLS")
    k.add_argument("--kubelet-client-key", default="", help="path to a client key file for TLS")
    k.add_argument("--kubelet-request-timeout", type=_duration, default=None,
                   help="the length of time to wait before giving up on a single request to "
                        "a kubelet (default 10s, at most 0.9 x --metric-resolution)")
    k.add_argument("--deprecated-kubelet-completely-insecure", type=_bool, nargs="?",
                   const=True, default=False,
                   help="do not use any encryption, authorization, or authentication when "
                        "communicating with the kubelet (plain HTTP)")
    k.add_argument("--kubelet-max-concurrent-scrapes", type=int, default=1024,
                   help="ours: at most this many kubelet requests at once")
    c = parser.add_argument_group("accepted for compatibility with upstream, no effect")
    for flag in IGNORED_VALUE_FLAGS:
        c.add_argument(flag, action="append", default=None, help=argparse.SUPPRESS)
    for flag in IGNORED_SWITCHES:
        c.add_argument(flag, type=_bool, nargs="?", const=True, default=None,
                       help=argparse.SUPPRESS)


def options_from(args: argparse.Namespace) -> MetricsOptions:
    """The validated options, or ValueError with upstream's messages."""
    errors = []
    resolution = float(args.metric_resolution)
    timeout = (min(10.0, 0.9 * resolution) if args.kubelet_request_timeout is None
               else float(args.kubelet_request_timeout))
    if resolution < MIN_RESOLUTION:
        errors.append(f"metric-resolution should be a time duration at least "
                      f"{MIN_RESOLUTION:g}s, but value {args.metric_resolution}s provided")
    if timeout <= 0:
        errors.append("kubelet-request-timeout should be positive")
    elif resolution * 0.9 < timeout:
        errors.append("metric-resolution should be larger than kubelet-request-timeout, but "
                      f"metric-resolution value {resolution}s kubelet-request-timeout value "
                      f"{timeout}s provided")
    if args.kubelet_certificate_authority and args.kubelet_insecure_tls:
        errors.append("cannot use both --kubelet-certificate-authority and "
                      "--kubelet-insecure-tls")
    if bool(args.kubelet_client_key) != bool(args.kubelet_client_certificate):
        errors.append("need both --kubelet-client-key and --kubelet-client-certificate")
    if args.deprecated_kubelet_completely_insecure and (
        args.kubelet_insecure_tls or args.kubelet_certificate_authority
        or args.kubelet_client_key or args.kubelet_client_certificate
    ):
        errors.append("cannot use both --deprecated-kubelet-completely-insecure with TLS "
                      "options")
    unknown = [t for t in args.kubelet_preferred_address_types if t not in ADDRESS_TYPES]
    if unknown:
        errors.append(f"unknown kubelet-preferred-address-types {unknown}")
    if args.kubelet_max_concurrent_scrapes < 1:
        errors.append("kubelet-max-concurrent-scrapes should be positive")
    grace = 2 * resolution if args.metric_grace_period is None else float(
        args.metric_grace_period)
    if grace < 0:
        errors.append("metric-grace-period should not be negative")
    try:
        selector = LabelSelector.parse(args.node_selector)
    except Exception as exc:  # a StatusError from the core's parser
        errors.append(f"invalid --node-selector: {exc}")
        selector = LabelSelector()
    if errors:
        raise ValueError("; ".join(errors))
    kubelet = KubeletOptions(
        port=args.kubelet_port,
        use_node_status_port=bool(args.kubelet_use_node_status_port),
        preferred_address_types=tuple(args.kubelet_preferred_address_types),
        insecure_tls=bool(args.kubelet_insecure_tls),
        certificate_authority=args.kubelet_certificate_authority,
        client_certificate=args.kubelet_client_certificate,
        client_key=args.kubelet_client_key,
        request_timeout=timeout,
        completely_insecure=bool(args.deprecated_kubelet_completely_insecure),
        max_concurrent=args.kubelet_max_concurrent_scrapes,
    )
    return MetricsOptions(resolution=resolution, grace_period=grace, kubelet=kubelet,
                          node_selector=selector, kubeconfig=args.kubeconfig)
