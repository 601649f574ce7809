"""The generic store: every REST verb built on a `storage.Storage` backend plus a `Strategy`.

System fields (uid, creationTimestamp, generation, resourceVersion), validation through the
resource's pydantic model, optimistic concurrency, finalizers, selectors, pagination and watch
all live here, so a new backend gets them for free.
"""

from __future__ import annotations

import builtins
import dataclasses
import datetime
import re
import secrets
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from pydantic import ValidationError

from k8s_aggapi import errors
from k8s_aggapi.admission.attributes import Operation
from k8s_aggapi.patching import managedfields, schema
from k8s_aggapi.registry import continuetoken, validation
from k8s_aggapi.registry.encoded import Encodings, ListEncoding
from k8s_aggapi.registry.info import ResourceInfo
from k8s_aggapi.registry.objectmeta import validate_object_meta, validate_object_meta_update
from k8s_aggapi.registry.rest import (
    GET_LATEST,
    CollectionDeleter,
    Creater,
    DeleteOptions,
    Deleter,
    GetOptions,
    Getter,
    Lister,
    ListOptions,
    Object,
    ObjectList,
    ObjectUpdate,
    RequestContext,
    Updater,
    Watcher,
    WatchEvent,
)
from k8s_aggapi.registry.strategy import Strategy
from k8s_aggapi.registry.validation import FOREGROUND, ORPHAN
from k8s_aggapi.registry.watch import watch_store
from k8s_aggapi.storage import interface as st
from k8s_aggapi.storage.subscriber import take_push
from k8s_aggapi.storage.update import DELETE, Delete, guaranteed_update

_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
# ObjectMeta fields a client may send empty, which Go's omitempty then leaves out of what is
# stored (managedFields: [] is a request to reset them, handled by the field manager)
_OMIT_EMPTY = frozenset({"generateName", "labels", "annotations", "ownerReferences",
                         "finalizers"})
_CREATE_RACES = 3  # PUT with create-on-update: create lost to another create, so update
_MAX_CHUNKS = 10_000  # a filtered page reads chunks of `limit` keys; bounded all the same
# k8s.io/apiserver pkg/storage/etcd3/store.go, word for word
LIST_EXPIRED = "The resourceVersion for the provided list is too old."
CONTINUE_EXPIRED = (
    "The provided continue parameter is too old to display a consistent list result. You can "
    "start a new list without the continue parameter, or use the continue token in this "
    "response to retrieve the remainder of the results. Continuing with the provided token "
    "results in an inconsistent list - objects that were created, modified, or deleted between "
    "the time the first chunk was returned and now may show up in the list.")


_NOW: list[Any] = [-1, ""]  # the last second formatted, and its text (a create asks twice)


def now_rfc3339() -> str:
    second = int(time.time())
    if second != _NOW[0]:
        _NOW[:] = [second, datetime.datetime.fromtimestamp(second, datetime.UTC).strftime(
            "%Y-%m-%dT%H:%M:%SZ")]
    return str(_NOW[1])


_TYPE_WORDS = {
    "dict_type": "must be an object", "model_type": "must be an object",
    "model_attributes_type": "must be an object", "list_type": "must be an array",
    "string_type": "must be a string", "int_type": "must be an integer",
    "int_parsing": "must be an integer", "int_from_float": "must be an integer",
    "float_type": "must be a number", "float_parsing": "must be a number",
    "bool_type": "must be a boolean", "bool_parsing": "must be a boolean",
}
_PREFIXES = ("Value error, ", "Assertion failed, ")
_SHOULD = re.compile(r"^(?:Input|String|List|Dictionary|Value|Tuple|Set|Decimal) should ")


def pydantic_causes(exc: ValidationError) -> list[errors.Cause]:
    """A model's refusals as field causes, in Kubernetes words: no Python type names."""
    causes = []
    for err in exc.errors(include_url=False):
        path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])[1:]
        if err["type"] == "missing":
            causes.append(errors.field_required(path))
            continue
        message = _TYPE_WORDS.get(err["type"]) or _SHOULD.sub("must ", str(err["msg"]))
        for prefix in _PREFIXES:
            message = message.removeprefix(prefix)
        causes.append(validation.invalid(path, err.get("input"), message))
    return causes


class Store(Getter, Lister, Creater, Updater, Deleter, CollectionDeleter, Watcher):
    """Every verb of one resource, served from `backend` in `group`/`version`. Stores over
    the same keys (a kind's versions) share `encodings`, which a write forgets entries of."""

    def __init__(
        self, info: ResourceInfo, group: str, version: str, backend: st.Storage,
        strategy: Strategy | None = None, *, encodings: Encodings | None = None,
    ) -> None:
        self.info = info
        self.group = group
        self.api_version = f"{group}/{version}" if group else version
        self.backend = backend
        self.strategy = strategy or Strategy()
        self.gr = errors.GroupResource(group, info.plural)
        self.prefix = f"/{group}/{info.plural}/"
        self.encodings = Encodings() if encodings is None else encodings

    # keys -----------------------------------------------------------------
    def key(self, ctx: RequestContext, name: str) -> str:
        if self.info.namespaced:
            return f"{self.prefix}{ctx.namespace}/{name}"
        return f"{self.prefix}{name}"

    def list_prefix(self, ctx: RequestContext) -> str:
        if self.info.namespaced and ctx.namespace:
            return f"{self.prefix}{ctx.namespace}/"
        return self.prefix

    # read -----------------------------------------------------------------
    async def get(
        self, ctx: RequestContext, name: str, options: GetOptions = GET_LATEST
    ) -> Object:
        """The latest object; a resourceVersion other than 0 asks for one at least that new
        (upstream's get has no Exact), so a revision the storage has not reached is a 504.
        With a watch cache, "0" and "N" are read from it (N once it is there)."""
        rv = options.resource_version
        if rv and isinstance(self.backend, st.CachedLister):
            # "0" (any) or "N" (not older than N): the watch cache, as upstream's cacher
            try:
                obj = await self.backend.get_cached(self.key(ctx, name),
                                                    min_revision=int(rv))
            except st.FutureRevision as exc:
                raise errors.too_large_resource_version(exc.requested, exc.current) from None
        else:
            if rv and rv != "0":
                current = await self.backend.current_revision()
                if int(rv) > current:
                    raise errors.too_large_resource_version(int(rv), current)
            obj = await self.backend.get(self.key(ctx, name))
        if obj is None:
            raise errors.NotFound(self.gr, name)
        return obj

    async def list(
        self, ctx: RequestContext, options: ListOptions
    ) -> ObjectList:
        """Every page at one revision: the first page's, carried by the continue token."""
        prefix = self.list_prefix(ctx)
        start, at = "", await self._list_revision(options)
        if options.continue_token:
            start, at = continuetoken.decode(options.continue_token, prefix)
            at = max(at, 0)  # a token after a 410 reads the latest revision
            if options.resource_version not in ("", "0"):
                raise errors.BadRequest(
                    "specifying resource version is not allowed when using continue")
        items: builtins.list[Object] = []
        filtering = not (options.label_selector.empty() and options.field_selector.empty())
        limit = options.limit
        # every object under the prefix as it is now (its join is kept); under the whole
        # resource's, every object stored (the encodings of others can go)
        latest = not (filtering or at or start)
        complete = latest and not limit and prefix == self.prefix
        any_revision = options.resource_version == "0" and not options.continue_token
        for _ in range(_MAX_CHUNKS):
            if any_revision and isinstance(self.backend, st.CachedLister):
                # resourceVersion "0": any state will do, so the watch cache's as it is
                page = await self.backend.list_cached(prefix, start=start, limit=limit)
                any_revision = False
            else:
                page = await self._read_page(prefix, start, limit, at,
                                             bool(options.continue_token))
            at = page.revision  # the next chunks read where the first did
            if filtering:
                items.extend(o for o in page.items if self._matches(o, options))
            else:
                items.extend(page.items)
            if not limit or len(items) >= limit or not page.remaining:
                break
            start = page.next_key
        rv = str(page.revision)
        if limit and len(items) > limit:
            # the last chunk matched more than asked: resume just after the last item kept
            del items[limit:]
            last = items[-1]["metadata"]
            next_key = self.key(RequestContext(last.get("namespace", "")), last["name"]) + "\x00"
            return ObjectList(items, rv, continuetoken.encode(next_key, rv, prefix),
                              encoding=self._encoding())
        if limit and page.remaining:
            token = continuetoken.encode(page.next_key, rv, prefix)
            remaining = None if filtering else page.remaining
            return ObjectList(items, rv, token, remaining, self._encoding())
        return ObjectList(items, rv, encoding=self._encoding(prefix if latest else "", complete))

    def _encoding(self, whole: str = "", complete: bool = False) -> ListEncoding:
        return ListEncoding(self.encodings, self.api_version, whole=whole, complete=complete)

    async def _list_revision(self, options: ListOptions) -> int:
        """The revision a first page reads at (0: the latest), from resourceVersion(Match):
        Exact (or, as upstream, any version with a limit) reads at it; NotOlderThan reads
        the latest, which must be at least it."""
        rv, match = options.resource_version, options.resource_version_match
        if rv in ("", "0") or options.continue_token:
            return 0
        wanted = int(rv)
        if match == "Exact" or (not match and options.limit):
            return wanted
        current = await self.backend.current_revision()
        if wanted > current:
            raise errors.too_large_resource_version(wanted, current)
        return 0

    async def _read_page(
        self, prefix: str, start: str, limit: int, at: int, continuing: bool
    ) -> st.ListResult:
        try:
            return await self.backend.list(prefix, start=start, limit=limit, at_revision=at)
        except st.Expired:
            if not continuing:
                raise errors.Gone(LIST_EXPIRED) from None
            # upstream's handleCompactedErrorForPaging: resume at the latest revision (rv -1)
            token = continuetoken.encode(start, continuetoken.LATEST, prefix)
            raise errors.Gone(CONTINUE_EXPIRED, continue_token=token) from None
        except st.FutureRevision as exc:
            raise errors.too_large_resource_version(exc.requested, exc.current) from None

    def _matches(self, obj: Object, options: ListOptions) -> bool:
        labels = obj.get("metadata", {}).get("labels")
        return options.label_selector.matches(labels) and options.field_selector.matches(obj)

    def watch(self, ctx: RequestContext, options: ListOptions) -> AsyncIterator[WatchEvent]:
        return watch_store(self, ctx, options, take_push(self))

    # write ----------------------------------------------------------------
    def _normalize(self, ctx: RequestContext, obj: Object, name: str) -> Object:
        model = self.info.model
        if model is not None:
            try:
                obj = model.model_validate(obj).model_dump(
                    by_alias=True, exclude_none=True, mode="json"
                )
            except ValidationError as exc:
                raise errors.Invalid(
                    self.info.kind, self.group, name, pydantic_causes(exc)
                ) from exc
        if isinstance(obj.get("metadata"), dict):
            omit_empty(obj["metadata"])
        obj["apiVersion"] = self.api_version
        obj["kind"] = self.info.kind
        return obj

    def _check_scope(self, ctx: RequestContext, meta: dict[str, Any]) -> None:
        if self.info.namespaced:
            ns = meta.get("namespace")
            if ns and ns != ctx.namespace:
                raise errors.BadRequest(
                    "the namespace of the provided object does not match the namespace sent on "
                    "the request"
                )
            meta["namespace"] = ctx.namespace
        else:
            meta.pop("namespace", None)

    def _invalid(self, name: str, causes: builtins.list[errors.Cause]) -> None:
        if causes:
            unique = list(dict.fromkeys(causes))  # a rule met twice is reported once
            raise errors.Invalid(self.info.kind, self.group, name, unique)

    # admission: the chain the handler bound to the request (none when called directly)
    async def _admit(self, ctx: RequestContext, operation: Operation, obj: Object | None,
                     old: Object | None, name: str) -> None:
        if ctx.admission is not None:
            await ctx.admission.admit(operation, obj, old, name=name, namespace=ctx.namespace,
                                      dry_run=ctx.dry_run)

    async def _validate_admission(self, ctx: RequestContext, operation: Operation,
                                  obj: Object | None, old: Object | None, name: str) -> None:
        if ctx.admission is not None:
            await ctx.admission.validate(operation, obj, old, name=name,
                                         namespace=ctx.namespace, dry_run=ctx.dry_run)

    async def create(self, ctx: RequestContext, obj: Object) -> Object:
        """Mutating admission, then the strategy (defaults, validation), then validating
        admission, as upstream's create handler and BeforeCreate order them."""
        meta = dict(obj.get("metadata") or {})
        name = meta.get("name") or ""
        if not name and not meta.get("generateName"):
            self._invalid("", [errors.field_required(
                "metadata.name", "name or generateName is required")])
        if self.info.status:
            obj = {k: v for k, v in obj.items() if k != "status"}  # create cannot set status
        obj = self._normalize(ctx, {**obj, "metadata": meta}, name)
        # a name is generated after mutating admission, as upstream's BeforeCreate does
        await self._admit(ctx, Operation.CREATE, obj, None, name)
        meta = obj["metadata"]
        name = meta.get("name") or name
        if not name and meta.get("generateName"):
            base = str(meta["generateName"])[:58]
            name = base + "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))
        meta["name"] = name
        self._check_scope(ctx, meta)
        if meta.get("resourceVersion"):
            raise errors.BadRequest("resourceVersion should not be set on objects to be created")
        for field in ("deletionTimestamp", "deletionGracePeriodSeconds"):
            meta.pop(field, None)
        meta["uid"] = str(uuid.uuid4())
        meta["creationTimestamp"] = now_rfc3339()
        meta["generation"] = 1
        self.strategy.prepare_for_create(ctx, obj)
        self._track(ctx, None, obj)
        self._invalid(name, self.strategy.validate_name(name) + self.strategy.validate(ctx, obj))
        # the common ObjectMeta rules run after the strategy's, as upstream's BeforeCreate does
        self._invalid(name, validate_object_meta(obj["metadata"], self.info.namespaced))
        await self._validate_admission(ctx, Operation.CREATE, obj, None, name)
        if ctx.dry_run:
            if await self.backend.get(self.key(ctx, name)) is not None:
                raise errors.AlreadyExists(self.gr, name)
            return obj
        try:
            return await self.backend.create(self.key(ctx, name), obj)
        except st.KeyExists:
            raise errors.AlreadyExists(self.gr, name) from None

    async def update(
        self, ctx: RequestContext, name: str, update: ObjectUpdate
    ) -> tuple[Object, bool]:
        """PUT or any patch: a guaranteed update, so a lost race re-reads and computes again;
        only a stale resourceVersion the client sent is a 409. With a status subresource,
        status changes made here are dropped (they go through `update_status`)."""
        return await self._guaranteed(ctx, name, update, status_only=False)

    async def update_status(
        self, ctx: RequestContext, name: str, update: ObjectUpdate
    ) -> Object:
        """The status subresource's update: every change but the status is dropped."""
        stored, _ = await self._guaranteed(  # a status never creates: no replacement
            ctx, name, ObjectUpdate(update.compute, None, update.uid), status_only=True)
        return stored

    async def _guaranteed(
        self, ctx: RequestContext, name: str, update: ObjectUpdate, *, status_only: bool
    ) -> tuple[Object, bool]:
        key = self.key(ctx, name)

        async def apply(old: Object) -> Object | Delete:
            self._check_preconditions(name, old["metadata"], update.uid, None)
            new = update.compute(old)
            await self._admit(ctx, Operation.UPDATE, new, old, name)
            new = self._updated(ctx, name, new, old, status_only=status_only)
            await self._validate_admission(ctx, Operation.UPDATE, new, old, name)
            meta = new["metadata"]
            return DELETE if meta.get("deletionTimestamp") and not meta.get(
                "finalizers") else new

        for _ in range(_CREATE_RACES):
            try:
                stored, _ = await guaranteed_update(
                    self.backend, key, apply, dry_run=ctx.dry_run)
                if not ctx.dry_run:
                    self.encodings.forget(ctx.namespace if self.info.namespaced else "", name)
                return stored, False
            except st.KeyNotFound:
                if update.replacement is None or not self.strategy.allow_create_on_update:
                    raise errors.NotFound(self.gr, name) from None
            except st.Conflict:
                raise errors.Conflict(self.gr, name, errors.OBJECT_MODIFIED) from None
            obj = update.replacement
            self._check_name(obj, name)
            try:
                return await self.create(ctx, {**obj, "metadata": {
                    **(obj.get("metadata") or {}), "name": name}}), True
            except errors.AlreadyExists:
                continue  # created meanwhile: update what is there now
        raise errors.Conflict(self.gr, name, errors.OBJECT_MODIFIED)

    @staticmethod
    def _check_name(obj: Object, name: str) -> None:
        given = (obj.get("metadata") or {}).get("name")
        if given and given != name:
            raise errors.BadRequest(
                f"the name of the object ({given}) does not match the name on the URL ({name})")

    def _updated(
        self, ctx: RequestContext, name: str, obj: Object, old: Object, *, status_only: bool
    ) -> Object:
        """The object to store in place of `old`: checked, normalised, system fields kept."""
        self._check_name(obj, name)
        meta = {**(obj.get("metadata") or {}), "name": name}
        old_meta = old["metadata"]
        rv = str(meta.get("resourceVersion") or "")
        if not rv and not self.strategy.allow_unconditional_update:
            # upstream's generic store names the resource here, not the kind, and the value 0
            raise errors.Invalid(self.info.plural, self.group, name, [
                errors.Cause("FieldValueInvalid", "Invalid value: 0: must be specified for an "
                             "update", "metadata.resourceVersion")])
        if rv and rv != old_meta.get("resourceVersion"):
            raise errors.Conflict(self.gr, name, errors.OBJECT_MODIFIED)
        if status_only:
            # upstream's status strategy: the stored object with the new status (and the
            # managedFields that track who set it)
            keep = {**old, "metadata": {**old_meta, **_managed_fields(meta)}}
            keep.pop("status", None)
            obj = {**keep, "status": obj["status"]} if "status" in obj else keep
            meta = obj["metadata"]
        new = self._normalize(ctx, {**obj, "metadata": meta}, name)
        if self.info.status and not status_only:
            new.pop("status", None)  # status is written through the status subresource only
            if "status" in old:
                new["status"] = old["status"]
        self._check_scope(ctx, new["metadata"])
        new_meta = new["metadata"]
        given_uid = new_meta.get("uid")
        new_meta["resourceVersion"] = old_meta.get("resourceVersion")
        for field in ("uid", "creationTimestamp", "deletionTimestamp",
                      "deletionGracePeriodSeconds", "generation"):
            if field in old_meta:
                new_meta[field] = old_meta[field]
            else:
                new_meta.pop(field, None)
        if new.get("spec") != old.get("spec"):
            new_meta["generation"] = int(old_meta.get("generation", 1)) + 1
        self.strategy.prepare_for_update(ctx, new, old)
        self._track(ctx, old, new, "status" if status_only else "")
        # upstream's BeforeUpdate keeps the stored uid only when none is given
        immutable = [validation.invalid("metadata.uid", given_uid, "field is immutable")] if (
            given_uid and given_uid != old_meta.get("uid")) else []
        self._invalid(name, immutable + validate_object_meta_update(
            new["metadata"], old_meta, self.info.namespaced
        ) + self.strategy.validate_update(ctx, new, old))
        return new

    def _track(self, ctx: RequestContext, old: Object | None, new: Object,
               subresource: str = "") -> None:
        track_managed_fields(ctx, old, new, self.api_version, self.info.model, subresource)

    async def delete(
        self, ctx: RequestContext, name: str, options: DeleteOptions
    ) -> tuple[Object, bool]:
        """Preconditions are checked on what is current at each attempt; an object with
        finalizers is marked for deletion (a guaranteed update), any other removed. The
        propagation policy adds the garbage collector's finalizer first
        (`deletion_finalizers`), so an Orphan or Foreground delete only marks the object and
        kube-controller-manager finishes it, as upstream's generic store does."""
        gone = False

        async def apply(current: Object) -> Object | Delete:
            nonlocal gone
            meta = current["metadata"]
            self._check_preconditions(name, meta, options.preconditions_uid,
                                      options.preconditions_resource_version)
            await self._admit(ctx, Operation.DELETE, None, current, name)
            await self._validate_admission(ctx, Operation.DELETE, None, current, name)
            finalizers = list(meta.get("finalizers") or [])
            wanted = deletion_finalizers(finalizers, options)
            changed = set(wanted) != set(finalizers)
            gone = not (wanted if changed else finalizers)
            if gone:
                return DELETE
            marked = {**meta, "deletionGracePeriodSeconds": 0}
            if changed:
                marked["finalizers"] = wanted
            if not meta.get("deletionTimestamp"):
                # upstream's markAsDeleting: the first mark bumps the generation
                marked["deletionTimestamp"] = now_rfc3339()
                if int(meta.get("generation") or 0) > 0:
                    marked["generation"] = int(meta["generation"]) + 1
            return {**current, "metadata": marked}

        try:
            stored, _ = await guaranteed_update(
                self.backend, self.key(ctx, name), apply, dry_run=ctx.dry_run)
        except st.KeyNotFound:
            raise errors.NotFound(self.gr, name) from None
        except st.Conflict:
            raise errors.Conflict(self.gr, name, errors.OBJECT_MODIFIED) from None
        if not ctx.dry_run:
            self.encodings.forget(ctx.namespace if self.info.namespaced else "", name)
        return stored, gone

    def _check_preconditions(
        self, name: str, meta: dict[str, Any], uid: str | None, resource_version: str | None
    ) -> None:
        """storage.Preconditions.Check (None: no precondition; "" is one, as upstream)."""
        if uid is not None and uid != meta.get("uid"):
            raise errors.Conflict(self.gr, name, (
                f"Precondition failed: UID in precondition: {uid}, "
                f"UID in object meta: {meta.get('uid')}"))
        if resource_version is not None and resource_version != meta.get("resourceVersion"):
            raise errors.Conflict(self.gr, name, (
                f"Precondition failed: ResourceVersion in precondition: {resource_version}, "
                f"ResourceVersion in object meta: {meta.get('resourceVersion')}"))

    async def delete_collection(
        self, ctx: RequestContext, options: DeleteOptions, list_options: ListOptions
    ) -> ObjectList:
        listed = await self.list(ctx, list_options)
        deleted = []
        for obj in listed.items:
            meta = obj["metadata"]
            item_ctx = dataclasses.replace(ctx, namespace=meta.get("namespace", ""))
            try:
                gone, _ = await self.delete(item_ctx, meta["name"], options)
            except errors.NotFound:
                continue
            deleted.append(gone)
        return ObjectList(deleted, listed.resource_version)


def deletion_finalizers(
    finalizers: builtins.list[str], options: DeleteOptions
) -> builtins.list[str]:
    """The finalizers a delete leaves for the garbage collector (upstream's
    deletionFinalizersForGarbageCollection, garbage collection enabled, the default policy
    DeleteDependents): `orphan` for Orphan or orphanDependents=true, `foregroundDeletion`
    for Foreground; Background, orphanDependents=false or a finalizer already there decide
    otherwise, and no option keeps what the object has."""
    orphan, foreground = ORPHAN in finalizers, FOREGROUND in finalizers
    if options.orphan_dependents is not None:
        orphan, foreground = options.orphan_dependents, False
    elif options.propagation_policy:
        orphan = options.propagation_policy == "Orphan"
        foreground = options.propagation_policy == "Foreground"
    else:
        # the object's finalizers decide, the first one of the two found wins
        first = next((f for f in finalizers if f in (ORPHAN, FOREGROUND)), "")
        orphan, foreground = first == ORPHAN, first == FOREGROUND
    kept = [f for f in finalizers if f not in (ORPHAN, FOREGROUND)]
    return kept + [ORPHAN] * orphan + [FOREGROUND] * foreground


def omit_empty(meta: dict[str, Any]) -> None:
    """Drop what Go's ObjectMeta leaves out when empty (omitempty): `finalizers: []`, `labels:
    {}`, `generateName: ""` are stored, answered and tracked in managedFields as no field."""
    for key in [k for k in _OMIT_EMPTY if k in meta and meta[k] in ("", {}, [])]:
        del meta[key]


def _managed_fields(meta: dict[str, Any]) -> dict[str, Any]:
    return {"managedFields": meta["managedFields"]} if "managedFields" in meta else {}


RECORDED = "\x00recorded"  # no manager can be called this (a query or User-Agent value)


def track_managed_fields(ctx: RequestContext, old: Object | None, new: Object, api_version: str,
                         model: Any, subresource: str = "") -> None:
    """managedFields of `new`, as upstream's field manager keeps them on every write
    (`k8s_aggapi.patching.managedfields`), in `api_version`; an apply brings its own (no
    field manager). Conversion calls it in the version a request is in, then hands the store
    `RECORDED` as the field manager: the managedFields given are final, even when absent."""
    if ctx.field_manager == RECORDED:
        return
    meta = new["metadata"]
    omit_empty(meta)
    given = meta.get("managedFields")
    stored = old["metadata"].get("managedFields") if old is not None else None
    if ctx.field_manager is None:
        if not given and stored:
            meta["managedFields"] = stored
        return
    if managedfields.is_reset(given):
        meta.pop("managedFields", None)
        return
    if given and given != stored and managedfields.decode(given) is None:
        return  # kept as given, for validation to name what is wrong
    managed = managedfields.track_update(
        old, new, ctx.field_manager, api_version, now_rfc3339(),
        schema.of_model(model), subresource, schema.zero_object(model))
    if managed:
        meta["managedFields"] = managed
    else:
        meta.pop("managedFields", None)
