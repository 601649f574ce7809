"""The status subresource: `<plural>/status` reads the object and writes only its status.

The main resource's writes keep the stored status and this one keeps everything else, so a
controller and a user never overwrite each other's half (upstream's status strategy).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from k8s_aggapi.registry.rest import (
    GET_LATEST,
    GetOptions,
    Getter,
    Object,
    ObjectUpdate,
    RequestContext,
    Updater,
)

if TYPE_CHECKING:
    from k8s_aggapi.registry.store import Store


class StatusREST(Getter, Updater):
    """get, update and patch of `<plural>/status`, on the resource's own store."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(
        self, ctx: RequestContext, name: str, options: GetOptions = GET_LATEST
    ) -> Object:
        return await self.store.get(ctx, name, options)

    async def update(
        self, ctx: RequestContext, name: str, update: ObjectUpdate
    ) -> tuple[Object, bool]:
        return await self.store.update_status(ctx, name, update), False
