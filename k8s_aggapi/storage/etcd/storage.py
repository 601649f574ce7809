"""The etcd v3 backend behind `storage.Storage`: what upstream's pkg/storage/etcd3 does.

Keys are `<prefix><key>`: the generic store's key `/<group>/<resource>/<namespace>/<name>`
under `--etcd-prefix` (default `/registry`), as kube-apiserver lays them out. Values are the
object as JSON without `metadata.resourceVersion`, which is the key's mod revision, stamped
on every read, so `etcdctl get --prefix /registry/` shows readable objects.

Writes are transactions comparing the key's mod revision (update, delete) or its existence
(create), so a compare-and-swap is one round trip; the losing side reads the key in the same
transaction to tell a conflict from a missing key. Reads at a revision are etcd's reads at a
revision, so every page of a paged list comes from one snapshot.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import orjson

from k8s_aggapi.storage.etcd.client import Compacted, EtcdClient, Future, rpc
from k8s_aggapi.storage.etcd.config import HEALTH_TIMEOUT, EtcdConfig
from k8s_aggapi.storage.interface import (
    Conflict,
    Event,
    Expired,
    FutureRevision,
    KeyExists,
    KeyNotFound,
    ListResult,
    Object,
)

_PUT = rpc.Event.PUT


def prefix_end(prefix: bytes) -> bytes:
    """etcd's range end for a prefix: the last byte below 0xff incremented ("\\0": all keys)."""
    stripped = prefix.rstrip(b"\xff")
    if not stripped:
        return b"\0"
    return stripped[:-1] + bytes([stripped[-1] + 1])


def encode(obj: Object) -> bytes:
    """The stored form: JSON without `metadata.resourceVersion` (the mod revision says it)."""
    meta = obj.get("metadata")
    if isinstance(meta, dict) and "resourceVersion" in meta:
        obj = {**obj, "metadata": {k: v for k, v in meta.items() if k != "resourceVersion"}}
    return orjson.dumps(obj)


def stamped(obj: Object, revision: int) -> Object:
    """`obj` as written at `revision`: what a read would decode, without decoding it."""
    meta = obj.get("metadata")
    return {**obj, "metadata": {**(meta if isinstance(meta, dict) else {}),
                                "resourceVersion": str(revision)}}


def decode(value: bytes, revision: int) -> Object:
    obj: Object = orjson.loads(value)
    meta = obj.get("metadata")
    if not isinstance(meta, dict):
        meta = obj["metadata"] = {}
    meta["resourceVersion"] = str(revision)
    return obj


class EtcdStorage:
    """Implements `storage.Storage` on etcd; one instance may serve many resources.

    `EtcdStorage(EtcdConfig(...))` dials lazily; `close()` ends its channel."""

    def __init__(self, config: EtcdConfig | None = None, *,
                 client: EtcdClient | None = None) -> None:
        self.config = config or (client.config if client else EtcdConfig())
        self._client = client
        self._prefix = self.config.prefix.rstrip("/").encode()

    @property
    def client(self) -> EtcdClient:
        """The channel, made on first use (inside the event loop that uses it)."""
        if self._client is None:
            self._client = EtcdClient(self.config)
        return self._client

    async def close(self) -> None:
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def request_progress(self) -> None:
        """Ask etcd for a progress notification on every open watch (a BOOKMARK soon)."""
        await self.client.request_progress()

    def _key(self, key: str) -> bytes:
        return self._prefix + key.encode()

    def _strip(self, key: bytes) -> str:
        return key[len(self._prefix):].decode()

    async def check_health(self) -> None:
        """The `etcd` health check: a read of `<prefix>/health` within 2 s, as upstream's."""
        await self.client.range(self._prefix + b"/health", count_only=True,
                                seconds=HEALTH_TIMEOUT)

    async def current_revision(self) -> int:
        response = await self.client.range(self._prefix + b"/health", count_only=True)
        return int(response.header.revision)

    async def get(self, key: str, *, at_revision: int = 0) -> Object | None:
        response = await self._range(self._key(key), revision=at_revision)
        if not response.kvs:
            return None
        kv = response.kvs[0]
        return decode(kv.value, kv.mod_revision)

    async def list(
        self, prefix: str, *, start: str = "", limit: int = 0, at_revision: int = 0
    ) -> ListResult:
        first = self._key(max(prefix, start))
        end = prefix_end(self._key(prefix))
        response = await self._range(first, end, revision=at_revision,
                                     limit=limit + 1 if limit else 0)
        revision = at_revision or int(response.header.revision)
        kvs = response.kvs
        if limit and len(kvs) > limit:
            items = [decode(kv.value, kv.mod_revision) for kv in kvs[:limit]]
            return ListResult(items, revision, int(response.count) - limit,
                              self._strip(kvs[limit].key))
        return ListResult([decode(kv.value, kv.mod_revision) for kv in kvs], revision,
                          keys=[self._strip(kv.key) for kv in kvs])

    async def _range(self, key: bytes, end: bytes = b"", *, revision: int,
                     limit: int = 0) -> Any:
        try:
            return await self.client.range(key, end, revision=revision, limit=limit)
        except Compacted:
            raise Expired(revision, await self.client.compacted_revision()) from None
        except Future:
            raise FutureRevision(revision, await self.current_revision()) from None

    async def create(self, key: str, obj: Object) -> Object:
        k = self._key(key)
        value = encode(obj)
        response = await self.client.txn(
            [rpc.Compare(key=k, result=rpc.Compare.EQUAL, target=rpc.Compare.VERSION,
                         version=0)],
            [rpc.RequestOp(request_put=rpc.PutRequest(key=k, value=value))])
        if not response.succeeded:
            raise KeyExists(key)
        return stamped(obj, response.header.revision)

    def _guard(self, k: bytes, expected_revision: int | None) -> Any:
        if expected_revision is None:  # the key must exist
            return rpc.Compare(key=k, result=rpc.Compare.GREATER, target=rpc.Compare.VERSION,
                               version=0)
        return rpc.Compare(key=k, result=rpc.Compare.EQUAL, target=rpc.Compare.MOD,
                           mod_revision=expected_revision)

    def _refused(self, key: str, response: Any) -> Exception:
        """Why a guarded write failed: the key is gone, or it is at another revision."""
        kvs = response.responses[0].response_range.kvs
        return Conflict(key) if kvs else KeyNotFound(key)

    async def update(self, key: str, obj: Object, *, expected_revision: int | None) -> Object:
        k = self._key(key)
        value = encode(obj)
        response = await self.client.txn(
            [self._guard(k, expected_revision)],
            [rpc.RequestOp(request_put=rpc.PutRequest(key=k, value=value))],
            [rpc.RequestOp(request_range=rpc.RangeRequest(key=k, keys_only=True))])
        if not response.succeeded:
            raise self._refused(key, response)
        return stamped(obj, response.header.revision)

    async def delete(self, key: str, *, expected_revision: int | None = None) -> Object:
        k = self._key(key)
        response = await self.client.txn(
            [self._guard(k, expected_revision)],
            [rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=k, prev_kv=True))],
            [rpc.RequestOp(request_range=rpc.RangeRequest(key=k, keys_only=True))])
        if not response.succeeded:
            raise self._refused(key, response)
        prev = response.responses[0].response_delete_range.prev_kvs
        if not prev:  # deleted in between by another writer (only without a guard revision)
            raise KeyNotFound(key)
        return decode(prev[0].value, response.header.revision)

    async def watch(self, prefix: str, *, after_revision: int) -> AsyncIterator[Event]:
        """Events under `prefix` after `after_revision`; a progress notification from etcd is
        a BOOKMARK event (no key, no object) at the revision every event up to which came."""
        k = self._key(prefix)
        try:
            async for response in self.client.watch(k, prefix_end(k),
                                                    start_revision=after_revision + 1):
                if not response.events:
                    yield Event("BOOKMARK", "", {}, response.revision)
                    continue
                for ev in response.events:
                    kv = ev.kv
                    if ev.type == _PUT:
                        kind = "ADDED" if kv.create_revision == kv.mod_revision else "MODIFIED"
                        yield Event(kind, self._strip(kv.key), decode(kv.value, kv.mod_revision),
                                    kv.mod_revision)
                    else:
                        last = decode(ev.prev_kv.value, kv.mod_revision) if ev.prev_kv.key else {}
                        yield Event("DELETED", self._strip(kv.key), last, kv.mod_revision)
        except Compacted as exc:
            raise Expired(after_revision, exc.compact_revision) from None

    async def compact(self, revision: int) -> None:
        """Forget history before `revision` (the compactor's call; tests call it too)."""
        with contextlib.suppress(Compacted):  # compacted there already
            await self.client.compact(revision)
