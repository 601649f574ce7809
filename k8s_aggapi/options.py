"""Upstream-compatible command-line flags -> `ServerConfig`.

Flag names and defaults follow k8s.io/apiserver's RecommendedOptions (`--secure-port`,
`--requestheader-*`, `--authorization-*`, ...); `--tls-san`, `--dev` and the limits (upstream
hard-codes them; docs/decisions.md lists each) are our own.
"""

from __future__ import annotations

import argparse
import re
from collections.abc import Callable, Sequence

from k8s_aggapi.api import APIGroup
from k8s_aggapi.authentication.delegating import AuthenticationOptions
from k8s_aggapi.authorization.delegating import AuthorizationOptions
from k8s_aggapi.config import Component, ServerConfig
from k8s_aggapi.health import HealthChecks
from k8s_aggapi.limits import DEFAULT_LIMITS, ServerLimits
from k8s_aggapi.serving.options import SecureServingOptions
from k8s_aggapi.storage.backend import BACKENDS, StorageOptions, build_storage
from k8s_aggapi.storage.etcd.config import DEFAULT_COMPACTION_INTERVAL, EtcdConfig
from k8s_aggapi.storage.interface import Storage


def _duration(text: str) -> float:
    """Go durations as the flags take them: 10s, 1m30s, 500ms, or plain seconds."""
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r} (e.g. 10s, 1m)")
    scale = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    return sum(float(n) * scale[u] for n, u in parts)


def _positive_duration(text: str) -> float:
    seconds = _duration(text)
    if seconds <= 0:
        raise argparse.ArgumentTypeError(f"must be above zero, not {text!r}")
    return seconds


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be above zero, not {text!r}")
    return value


def _bool(text: str) -> bool:
    if text.lower() in ("true", "1", "t"):
        return True
    if text.lower() in ("false", "0", "f"):
        return False
    raise argparse.ArgumentTypeError(f"invalid boolean {text!r}")


class _StringSlice(argparse.Action):
    """Comma-separated and repeatable, like pflag's StringSlice."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: object, option_string: str | None = None) -> None:
        current = getattr(namespace, self.dest, None)
        items = [] if current is None or current is self.default else list(current)
        items += [v.strip() for v in str(values).split(",") if v.strip()]
        setattr(namespace, self.dest, items)


def _etcd_servers(text: str) -> list[str]:
    return [s.strip() for s in text.split(",") if s.strip()]


def add_storage_flags(p: argparse.ArgumentParser) -> None:
    """`--storage memory|etcd` and kube-apiserver's etcd flags (its names and defaults)."""
    e = p.add_argument_group("storage (--storage etcd needs pip install 'k8s-aggapi[etcd]')")
    e.add_argument("--storage", choices=BACKENDS, default="memory",
                   help="where objects are kept: memory (one process, lost on exit) or etcd")
    e.add_argument("--etcd-servers", type=_etcd_servers, default=["http://127.0.0.1:2379"],
                   help="comma-separated etcd URLs (http:// or https://)")
    e.add_argument("--etcd-prefix", default="/registry",
                   help="the prefix of every key in etcd")
    e.add_argument("--etcd-cafile", default="", help="CA bundle verifying etcd's certificate")
    e.add_argument("--etcd-certfile", default="", help="client certificate for etcd")
    e.add_argument("--etcd-keyfile", default="", help="client key for etcd")
    e.add_argument("--etcd-compaction-interval", type=_duration,
                   default=DEFAULT_COMPACTION_INTERVAL,
                   help="how often etcd's history is compacted (0: never); default 5m")
    e.add_argument("--watch-cache", type=_bool, nargs="?", const=True, default=True,
                   help="serve watches and lists from memory, one storage watch per resource")


def storage_options(args: argparse.Namespace) -> StorageOptions:
    try:
        etcd = EtcdConfig(
            servers=tuple(args.etcd_servers), prefix=args.etcd_prefix,
            cafile=args.etcd_cafile, certfile=args.etcd_certfile, keyfile=args.etcd_keyfile,
            compaction_interval=args.etcd_compaction_interval)
    except ValueError as exc:
        raise SystemExit(f"error: {exc}") from None
    return StorageOptions(backend=args.storage, etcd=etcd, watch_cache=args.watch_cache,
                          watch_queue_length=args.watch_queue_length)


def build_parser(
    prog: str | None = None, description: str | None = None, *, storage: bool = False
) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog=prog, description=description)
    s = p.add_argument_group("secure serving")
    s.add_argument("--bind-address", default="0.0.0.0")
    s.add_argument("--secure-port", type=int, default=None,
                   help="port to serve HTTPS on (default 443; 8443 with --dev)")
    s.add_argument("--tls-cert-file", default="")
    s.add_argument("--tls-private-key-file", default="")
    s.add_argument("--cert-dir", default=None,
                   help="where self-signed certs go (default apiserver.local.config/certificates;"
                        " .aggapi with --dev)")
    s.add_argument("--tls-san", action=_StringSlice, default=[],
                   help="extra DNS names/IPs for the self-signed cert, e.g. my-api.my-ns.svc")
    s.add_argument("--tls-min-version", default="VersionTLS12",
                   choices=["VersionTLS12", "VersionTLS13"])

    a = p.add_argument_group("authentication")
    a.add_argument("--client-ca-file", default="")
    a.add_argument("--requestheader-client-ca-file", default="")
    a.add_argument("--requestheader-allowed-names", action=_StringSlice, default=[])
    a.add_argument("--requestheader-username-headers", action=_StringSlice,
                   default=["X-Remote-User"])
    a.add_argument("--requestheader-group-headers", action=_StringSlice,
                   default=["X-Remote-Group"])
    a.add_argument("--requestheader-extra-headers-prefix", action=_StringSlice,
                   default=["X-Remote-Extra-"])
    a.add_argument("--requestheader-uid-headers", action=_StringSlice, default=[])
    a.add_argument("--authentication-kubeconfig", default="")
    a.add_argument("--authentication-skip-lookup", type=_bool, nargs="?", const=True,
                   default=False)
    a.add_argument("--authentication-tolerate-lookup-failure", type=_bool, nargs="?",
                   const=True, default=False)
    a.add_argument("--authentication-token-webhook-cache-ttl", type=_duration, default=10.0)
    a.add_argument("--anonymous-auth", type=_bool, nargs="?", const=True, default=True)

    z = p.add_argument_group("authorization")
    z.add_argument("--authorization-kubeconfig", default="")
    z.add_argument("--authorization-always-allow-paths", action=_StringSlice,
                   default=["/healthz", "/readyz", "/livez"])
    z.add_argument("--authorization-webhook-cache-authorized-ttl", type=_duration, default=10.0)
    z.add_argument("--authorization-webhook-cache-unauthorized-ttl", type=_duration,
                   default=10.0)

    d = DEFAULT_LIMITS
    lim = p.add_argument_group("limits (docs/decisions.md gives each one's upstream value)")
    lim.add_argument("--max-request-header-bytes", type=_positive_int, default=d.max_header_bytes,
                     help="request line + headers; past it 431 (Go's MaxHeaderBytes)")
    lim.add_argument("--read-header-timeout", type=_positive_duration,
                     default=d.header_read_timeout,
                     help="time to read a request's headers, else the connection is closed")
    lim.add_argument("--idle-timeout", type=_positive_duration, default=d.idle_timeout,
                     help="how long a keep-alive connection may wait for its next request")
    lim.add_argument("--max-request-body-bytes", type=_positive_int, default=d.max_body_bytes,
                     help="request body size; past it 413 (upstream's MaxRequestBodyBytes)")
    lim.add_argument("--max-nesting-depth", type=_positive_int, default=d.max_nesting_depth,
                     help="nesting of JSON objects and arrays in any request body")
    lim.add_argument("--max-json-patch-operations", type=_positive_int,
                     default=d.max_json_patch_operations,
                     help="operations in one JSON patch (upstream's maxJSONPatchOperations)")
    lim.add_argument("--json-patch-max-copy-bytes", type=_positive_int,
                     default=d.json_patch_max_copy_bytes,
                     help="bytes the copy operations of one JSON patch may add (upstream's "
                          "JSONPatchMaxCopyBytes)")
    lim.add_argument("--watch-queue-length", type=_positive_int, default=d.watch_queue_length,
                     help="events queued for one watcher; a watcher that falls further behind "
                          "is ended and resumes from its last resourceVersion")

    if storage:
        add_storage_flags(p)

    o = p.add_argument_group("other")
    o.add_argument("--kubeconfig", default="",
                   help="kubeconfig for the server's own calls to kube-apiserver")
    o.add_argument("--dev", action="store_true",
                   help="run without a cluster: dev PKI and kubeconfig in --cert-dir")
    o.add_argument("-v", "--v", type=int, default=0, help="log verbosity")
    return p


def config_from_args(
    groups: Sequence[APIGroup],
    argv: Sequence[str] | None = None,
    *,
    title: str = "k8s-aggapi",
    prog: str | None = None,
    storage_groups: Callable[[Storage], Sequence[APIGroup]] | None = None,
) -> ServerConfig:
    """Parse `argv` (default sys.argv[1:]) into a `ServerConfig` serving `groups`; with
    `storage_groups` the server offers `--storage` and the etcd flags and serves
    `storage_groups(<the storage they chose>)` instead."""
    args = build_parser(prog, title, storage=storage_groups is not None).parse_args(argv)
    return config_from_namespace(groups, args, title=title, storage_groups=storage_groups)


def config_from_namespace(
    groups: Sequence[APIGroup], args: argparse.Namespace, *, title: str = "k8s-aggapi",
    storage_groups: Callable[[Storage], Sequence[APIGroup]] | None = None,
) -> ServerConfig:
    """The `ServerConfig` of flags parsed by `build_parser()` (a server that adds flags of its
    own to that parser parses once and hands the result here); with `storage_groups`, the
    parser was built with `storage=True` and the groups are built on the chosen storage."""
    dev = bool(args.dev)
    serving = SecureServingOptions(
        bind_address="127.0.0.1" if dev and args.bind_address == "0.0.0.0" else args.bind_address,
        secure_port=args.secure_port if args.secure_port is not None else (8443 if dev else 443),
        tls_cert_file=args.tls_cert_file,
        tls_private_key_file=args.tls_private_key_file,
        cert_dir=args.cert_dir or (".aggapi" if dev else "apiserver.local.config/certificates"),
        tls_sans=tuple(args.tls_san),
        tls_min_version=args.tls_min_version,
    )
    authentication = AuthenticationOptions(
        client_ca_file=args.client_ca_file,
        requestheader_client_ca_file=args.requestheader_client_ca_file,
        requestheader_allowed_names=tuple(args.requestheader_allowed_names),
        requestheader_username_headers=tuple(args.requestheader_username_headers),
        requestheader_group_headers=tuple(args.requestheader_group_headers),
        requestheader_extra_headers_prefix=tuple(args.requestheader_extra_headers_prefix),
        requestheader_uid_headers=tuple(args.requestheader_uid_headers),
        authentication_kubeconfig=args.authentication_kubeconfig or args.kubeconfig,
        skip_lookup=args.authentication_skip_lookup,
        tolerate_lookup_failure=args.authentication_tolerate_lookup_failure,
        token_webhook_cache_ttl=args.authentication_token_webhook_cache_ttl,
        anonymous=args.anonymous_auth,
    )
    authorization = AuthorizationOptions(
        authorization_kubeconfig=args.authorization_kubeconfig or args.kubeconfig,
        always_allow_paths=tuple(args.authorization_always_allow_paths),
        cache_authorized_ttl=args.authorization_webhook_cache_authorized_ttl,
        cache_unauthorized_ttl=args.authorization_webhook_cache_unauthorized_ttl,
    )
    limits = ServerLimits(
        max_header_bytes=args.max_request_header_bytes,
        header_read_timeout=args.read_header_timeout,
        idle_timeout=args.idle_timeout,
        max_body_bytes=args.max_request_body_bytes,
        max_nesting_depth=args.max_nesting_depth,
        max_json_patch_operations=args.max_json_patch_operations,
        json_patch_max_copy_bytes=args.json_patch_max_copy_bytes,
        watch_queue_length=args.watch_queue_length,
    )
    health = HealthChecks()
    components: tuple[Component, ...] = ()
    if storage_groups is not None:
        built = build_storage(storage_options(args))
        groups = storage_groups(built.storage)
        for name, check in built.checks.items():
            health.add(name, check)
        for name, check in built.readyz_checks.items():
            health.add_readyz(name, check)
        components = (built.lifecycle,)
    return ServerConfig(
        groups=list(groups),
        serving=serving,
        authentication=authentication,
        authorization=authorization,
        dev=dev,
        title=title,
        verbosity=args.v,
        limits=limits,
        health=health,
        components=components,
    )
