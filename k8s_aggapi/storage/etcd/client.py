"""A small etcd v3 client on grpc.aio: the few calls the storage needs, TLS, several endpoints.

The wire types are the v3 API's generated messages as the `aetcd` package ships them (the
`[etcd]` extra); the calls, TLS, endpoints and the watch loop are ours (docs/decisions.md
says why: aetcd's own client has no TLS, one endpoint, and drops progress notifications).

Several `--etcd-servers` become one gRPC channel balancing round-robin over their addresses,
so a call goes to a member that is up, as etcd's Go client does. A watch is one gRPC stream;
when the stream breaks (a member died, etcd restarted) it is opened again from the revision
after the last one it delivered, so no event is lost or repeated.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from k8s_aggapi.storage.etcd.config import EtcdConfig
from k8s_aggapi.storage.interface import StorageError, Unavailable

try:
    import grpc
    import grpc.aio
    from aetcd import rpc as rpc  # the v3 API's messages and stubs
except ImportError as exc:  # pragma: no cover - exercised by hand without the extra
    raise ImportError(
        "the etcd storage needs its extra: pip install 'k8s-aggapi[etcd]'") from exc

log = logging.getLogger("k8s_aggapi.storage.etcd")

RETRY_MIN, RETRY_MAX = 0.1, 1.0  # a broken watch stream is reopened with this backoff
_TRANSIENT = frozenset({"UNAVAILABLE", "DEADLINE_EXCEEDED", "CANCELLED", "UNKNOWN", "INTERNAL"})
# grpc's own words for keepalive: a dead member is noticed within seconds, even when idle
_CHANNEL_OPTIONS: list[tuple[str, Any]] = [
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 0),  # etcd refuses pings with no stream open
    ("grpc.http2.max_pings_without_data", 0),
    ("grpc.max_receive_message_length", 2**31 - 1),
    ("grpc.max_send_message_length", 2**31 - 1),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1_000),
]


class Compacted(StorageError):
    def __init__(self, compact_revision: int) -> None:
        super().__init__(f"required revision has been compacted ({compact_revision})")
        self.compact_revision = compact_revision


class Future(StorageError):
    pass


def _host_port(server: str) -> tuple[str, int]:
    parts = urlsplit(server if "://" in server else f"http://{server}")
    if not parts.hostname:
        raise ValueError(f"--etcd-servers: no host in {server!r}")
    return parts.hostname, parts.port or 2379


def _is_ip(host: str) -> bool:
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        return False
    return True


def _target(servers: Sequence[str]) -> tuple[str, str]:
    """(gRPC target, the host name TLS checks): one name resolved by gRPC's DNS resolver, or
    several addresses balanced round-robin (names among them resolved once, here)."""
    endpoints = [_host_port(s) for s in servers]
    if len(endpoints) == 1:
        host, port = endpoints[0]
        return (f"ipv6:[{host}]:{port}" if ":" in host else f"dns:///{host}:{port}"), host
    addresses = []
    for host, port in endpoints:
        if _is_ip(host):
            addresses.append(f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
        else:
            for *_, sockaddr in socket.getaddrinfo(host, port, socket.AF_INET,
                                                   socket.SOCK_STREAM):
                addresses.append(f"{sockaddr[0]}:{port}")
    return "ipv4:" + ",".join(dict.fromkeys(addresses)), endpoints[0][0]


def _transient(exc: grpc.aio.AioRpcError) -> bool:
    return exc.code().name in _TRANSIENT


def translate(exc: grpc.aio.AioRpcError) -> StorageError:
    """A gRPC error as a storage error: compacted, future, or unavailable (etcd's words)."""
    details = exc.details() or exc.code().name
    if "required revision has been compacted" in details:
        return Compacted(0)
    if "required revision is a future revision" in details:
        return Future(details)
    return Unavailable(details)


@dataclass(frozen=True)
class WatchResponse:
    """What one watch message carried: events, or none (a progress notification at
    `revision`: every event up to it was delivered)."""

    events: Sequence[Any]  # mvccpb.Event
    revision: int


class EtcdClient:
    """One gRPC channel to the etcd cluster; `connect` is cheap (the channel dials lazily)."""

    def __init__(self, config: EtcdConfig) -> None:
        self.config = config
        target, host = _target(config.servers)
        options = [*_CHANNEL_OPTIONS]
        if len(config.servers) > 1:
            options.append(("grpc.lb_policy_name", "round_robin"))
        if config.tls:
            ca = Path(config.cafile).read_bytes() if config.cafile else None
            cert = Path(config.certfile).read_bytes() if config.certfile else None
            key = Path(config.keyfile).read_bytes() if config.keyfile else None
            credentials = grpc.ssl_channel_credentials(ca, key, cert)
            options.append(("grpc.ssl_target_name_override", host))
            self._channel = grpc.aio.secure_channel(target, credentials, options=options)
        else:
            self._channel = grpc.aio.insecure_channel(target, options=options)
        self._kv = rpc.KVStub(self._channel)
        self._watch = rpc.WatchStub(self._channel)
        self._maintenance = rpc.MaintenanceStub(self._channel)
        self.timeout = config.request_timeout
        self._streams: set[Any] = set()  # open watch calls, for request_progress

    async def close(self) -> None:
        await self._channel.close()

    # unary calls ----------------------------------------------------------
    async def range(self, key: bytes, range_end: bytes = b"", *, revision: int = 0,
                    limit: int = 0, count_only: bool = False,
                    seconds: float | None = None) -> Any:
        request = rpc.RangeRequest(key=key, range_end=range_end, revision=revision,
                                   limit=limit, count_only=count_only)
        return await self._call(self._kv.Range, request, seconds, idempotent=True)

    async def txn(self, compare: Sequence[Any], success: Sequence[Any],
                  failure: Sequence[Any] = ()) -> Any:
        request = rpc.TxnRequest(compare=compare, success=success, failure=failure)
        return await self._call(self._kv.Txn, request, None, idempotent=False)

    async def compact(self, revision: int) -> None:
        await self._call(self._kv.Compact, rpc.CompactionRequest(revision=revision), None,
                         idempotent=True)

    async def _call(self, method: Any, request: Any, seconds: float | None, *,
                    idempotent: bool) -> Any:
        """One call; a read is tried again once on another member when its member is gone
        (a write is not: it may have been applied, and the caller's CAS decides)."""
        for attempt in (1, 2):
            try:
                return await method(request, timeout=seconds or self.timeout)
            except grpc.aio.AioRpcError as exc:
                if idempotent and attempt == 1 and exc.code() == grpc.StatusCode.UNAVAILABLE:
                    continue
                raise translate(exc) from None
        raise AssertionError("unreachable")  # pragma: no cover

    # watch ----------------------------------------------------------------
    async def watch(self, key: bytes, range_end: bytes, *,
                    start_revision: int) -> AsyncIterator[WatchResponse]:
        """Responses from `start_revision` on, through broken streams: reopened from the
        revision after the last delivered one. `Compacted` when that revision is gone."""
        next_revision = start_revision
        delay = RETRY_MIN
        while True:
            call = self._watch.Watch()
            self._streams.add(call)
            try:
                await call.write(rpc.WatchRequest(create_request=rpc.WatchCreateRequest(
                    key=key, range_end=range_end, start_revision=next_revision,
                    prev_kv=True, progress_notify=True)))
                while True:
                    response = await call.read()
                    if response is grpc.aio.EOF:
                        raise Unavailable("watch stream closed by etcd")
                    if response.compact_revision:
                        raise Compacted(response.compact_revision)
                    if response.canceled:
                        raise Unavailable(f"watch canceled: {response.cancel_reason}")
                    delay = RETRY_MIN
                    if response.created:
                        continue
                    if response.events:
                        next_revision = response.events[-1].kv.mod_revision + 1
                        yield WatchResponse(response.events, next_revision - 1)
                    elif response.header.revision >= next_revision:
                        next_revision = response.header.revision + 1
                        yield WatchResponse((), response.header.revision)
            except grpc.aio.AioRpcError as exc:
                if not _transient(exc):
                    raise translate(exc) from None
                log.info("etcd watch from revision %d broke (%s); resuming",
                         next_revision, exc.code().name)
            except Unavailable as exc:
                log.info("etcd watch from revision %d: %s; resuming", next_revision, exc)
            finally:
                self._streams.discard(call)
                call.cancel()
            await asyncio.sleep(delay)
            delay = min(RETRY_MAX, delay * 2)

    async def request_progress(self) -> None:
        """A progress request on every open watch stream: etcd answers each synced one with
        a notification at its current revision (every event up to it was sent)."""
        request = rpc.WatchRequest(progress_request=rpc.WatchProgressRequest())
        for call in list(self._streams):
            with contextlib.suppress(Exception):  # a broken stream is being reopened
                await call.write(request)

    async def compacted_revision(self) -> int:
        """The revision etcd last compacted at (0: never), as a watch from revision 1 tells."""
        call = self._watch.Watch(timeout=self.timeout)
        try:
            await call.write(rpc.WatchRequest(create_request=rpc.WatchCreateRequest(
                key=b"\0", start_revision=1)))
            response = await call.read()
            return 0 if response is grpc.aio.EOF else int(response.compact_revision)
        except grpc.aio.AioRpcError as exc:
            raise translate(exc) from None
        finally:
            call.cancel()

    async def status(self, seconds: float) -> Any:
        return await self._call(self._maintenance.Status, rpc.StatusRequest(), seconds,
                                idempotent=True)
