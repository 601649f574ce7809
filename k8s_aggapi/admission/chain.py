"""The ordered admission chain of a server, and its binding to one request.

`Chain.admit` runs every mutating plugin that handles the operation, in order; then
`Chain.validate` runs every validating plugin, in order (upstream's chainAdmissionHandler).
The store calls them through `RequestAdmission`, which the resource handler makes per request
from the resource asked for and the user, so the store adds only the operation and objects.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from k8s_aggapi.admission.attributes import (
    Attributes,
    GroupVersionKind,
    GroupVersionResource,
    Object,
    Operation,
)
from k8s_aggapi.admission.interface import MutatingPlugin, Plugin, ValidatingPlugin
from k8s_aggapi.request.user import User


class Chain:
    """Plugins in the order given; a plugin of both kinds takes part in both phases."""

    def __init__(self, plugins: Sequence[Plugin] = ()) -> None:
        self.plugins = tuple(plugins)
        self.mutating = tuple(p for p in self.plugins if isinstance(p, MutatingPlugin))
        self.validating = tuple(p for p in self.plugins if isinstance(p, ValidatingPlugin))
        for plugin in self.plugins:
            if not isinstance(plugin, MutatingPlugin | ValidatingPlugin):
                raise TypeError(f"{plugin!r} is neither a MutatingPlugin nor a ValidatingPlugin")

    def __bool__(self) -> bool:
        return bool(self.plugins)

    async def admit(self, attributes: Attributes) -> None:
        for plugin in self.mutating:
            if plugin.handles(attributes.operation):
                await plugin.admit(attributes)

    async def validate(self, attributes: Attributes) -> None:
        for plugin in self.validating:
            if plugin.handles(attributes.operation):
                await plugin.validate(attributes)


EMPTY = Chain()


@dataclass(frozen=True)
class RequestAdmission:
    """The chain bound to what the request asked for (kind, resource, subresource) and who
    asked; the store calls `admit` and `validate` with the operation and the objects."""

    chain: Chain
    kind: GroupVersionKind
    resource: GroupVersionResource
    subresource: str = ""
    user: User | None = None

    def attributes(
        self, operation: Operation, obj: Object | None, old: Object | None, *,
        name: str, namespace: str, dry_run: bool,
    ) -> Attributes:
        return Attributes(operation, self.kind, self.resource, name, namespace,
                          self.subresource, obj, old, self.user, dry_run)

    async def admit(
        self, operation: Operation, obj: Object | None, old: Object | None, *,
        name: str, namespace: str, dry_run: bool,
    ) -> None:
        if self.chain.mutating:
            await self.chain.admit(self.attributes(
                operation, obj, old, name=name, namespace=namespace, dry_run=dry_run))

    async def validate(
        self, operation: Operation, obj: Object | None, old: Object | None, *,
        name: str, namespace: str, dry_run: bool,
    ) -> None:
        if self.chain.validating:
            await self.chain.validate(self.attributes(
                operation, obj, old, name=name, namespace=namespace, dry_run=dry_run))
