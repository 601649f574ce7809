"""Watch on the generic store: initial state when asked, then backend events, filtered.

Selectors apply to each event's object; a too-old resourceVersion ends the stream with one
ERROR event carrying a 410 Expired Status, as upstream's watch cache does.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any

from k8s_aggapi import errors
from k8s_aggapi.registry.rest import ListOptions, RequestContext, WatchEvent
from k8s_aggapi.storage import interface as st
from k8s_aggapi.storage.subscriber import Sink, offer_push

if TYPE_CHECKING:
    from k8s_aggapi.registry.store import Store

INITIAL_EVENTS_END = "k8s.io/initial-events-end"


async def watch_store(
    store: Store, ctx: RequestContext, options: ListOptions, push: Sink | None = None
) -> AsyncIterator[WatchEvent]:
    """Where the stream starts, as upstream's watch semantics say:

    - `sendInitialEvents` unset (the legacy watch): resourceVersion "" or "0" sends the current
      state as ADDED events first, "N" starts right after N;
    - `sendInitialEvents=true` (WatchList, with resourceVersionMatch=NotOlderThan): the state
      at least as new as resourceVersion as ADDED events, then, with bookmarks allowed, a
      BOOKMARK at that state's revision annotated `k8s.io/initial-events-end: "true"`;
    - `sendInitialEvents=false`: no initial state; "" or "0" starts at the latest revision.

    `push`, the endpoint's sink (`storage.subscriber`), goes on to the backend's watch when
    no selector filters: the backend's events other than BOOKMARKs are then yielded as they
    are, so the fan-out may write them itself.
    """
    prefix = store.list_prefix(ctx)
    rv = options.resource_version
    latest = rv in ("", "0")
    send_initial = options.send_initial_events
    if send_initial is None:
        send_initial = latest
    if send_initial:
        if not latest:
            current = await store.backend.current_revision()
            if int(rv) > current:
                error = errors.too_large_resource_version(int(rv), current)
                yield WatchEvent("ERROR", error.to_status())
                return
        if rv == "0" and isinstance(store.backend, st.CachedLister):
            listed = await store.backend.list_cached(prefix)  # "any": the cache as it is
        else:
            listed = await store.backend.list(prefix)
        after = listed.revision
        for obj in listed.items:
            if store._matches(obj, options):
                yield WatchEvent("ADDED", obj)
        if options.send_initial_events and options.allow_watch_bookmarks:
            yield WatchEvent("BOOKMARK", bookmark_object(
                store.info.kind, store.api_version, str(after), initial_end=True))
    elif latest:
        after = await store.backend.current_revision()
    else:
        after = int(rv)
    filtering = not (options.label_selector.empty() and options.field_selector.empty())
    if push is not None and not filtering:
        offer_push(store.backend, push)
    events = store.backend.watch(prefix, after_revision=after)
    try:
        async for event in events:
            if event.type == "BOOKMARK":  # the backend's progress: all up to it was sent
                if options.allow_watch_bookmarks:
                    yield WatchEvent("BOOKMARK", bookmark_object(
                        store.info.kind, store.api_version, str(event.revision)))
                continue
            if not filtering:
                yield WatchEvent(event.type, event.object)
                continue
            selected = store._matches(event.object, options)
            if event.type != "MODIFIED" or event.prev is None:
                if selected:
                    yield WatchEvent(event.type, event.object)
                continue
            was = store._matches(event.prev, options)
            if selected:  # upstream's cacher: entering the selection is an ADDED
                yield WatchEvent("MODIFIED" if was else "ADDED", event.object)
            elif was:  # leaving it: DELETED, the previous state at the event's revision
                yield WatchEvent("DELETED", {**event.prev, "metadata": {
                    **event.prev["metadata"], "resourceVersion": str(event.revision)}})
    except st.Expired as exc:
        yield WatchEvent("ERROR", errors.Gone(str(exc)).to_status())


def bookmark_object(
    kind: str, api_version: str, rv: str, *, initial_end: bool = False
) -> dict[str, Any]:
    """A BOOKMARK event's object: the kind with only `metadata.resourceVersion`."""
    meta: dict[str, Any] = {"resourceVersion": rv}
    if initial_end:
        meta["annotations"] = {INITIAL_EVENTS_END: "true"}
    return {"kind": kind, "apiVersion": api_version, "metadata": meta}
