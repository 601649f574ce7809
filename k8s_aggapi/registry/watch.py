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

if TYPE_CHECKING:
    from k8s_aggapi.registry.store import Store

INITIAL_EVENTS_END = "k8s.io/initial-events-end"


async def watch_store(
    store: Store, ctx: RequestContext, options: ListOptions
) -> AsyncIterator[WatchEvent]:
    prefix = store.list_prefix(ctx)
    rv = options.resource_version
    send_initial = options.send_initial_events
    if send_initial is None:
        send_initial = rv in ("", "0")
    if send_initial:
        listed = await store.backend.list(prefix)
        after = listed.revision
        for obj in listed.items:
            if store._matches(obj, options):
                yield WatchEvent("ADDED", obj)
        if options.send_initial_events and options.allow_watch_bookmarks:
            yield WatchEvent("BOOKMARK", bookmark_object(
                store.info.kind, store.api_version, str(after), initial_end=True))
    else:
        if not rv.isdigit():
            raise errors.BadRequest(f'resourceVersion: Invalid value: "{rv}": must be a number')
        after = int(rv)
    events = store.backend.watch(prefix, after_revision=after)
    try:
        async for event in events:
            if store._matches(event.object, options):
                yield WatchEvent(event.type, event.object)
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
