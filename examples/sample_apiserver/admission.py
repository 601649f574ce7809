"""BanFlunder: a Flunder whose name any Fischer lists in `disallowedFlunders` is not created.

Upstream's plugin reads Fischers from an informer on its own API; here it lists them from the
server's own Fischer storage, in process (no loopback client), at resourceVersion "0": from the
watch cache as it is, as an informer's lister answers, not a consistent read of etcd (which
would cost every create a read of etcd's revision and a wait for the cache to reach it). A
Fischer just created may so be missed by a create right after it, as upstream's may.
"""

from __future__ import annotations

from typing import ClassVar

from k8s_aggapi.admission import Attributes, MutatingPlugin, Operation
from k8s_aggapi.errors import Forbidden
from k8s_aggapi.registry.rest import Lister, ListOptions, RequestContext

GROUP = "wardle.example.com"


class BanFlunder(MutatingPlugin):
    name: ClassVar[str] = "BanFlunder"
    operations: ClassVar[frozenset[Operation]] = frozenset({Operation.CREATE})

    def __init__(self, fischers: Lister) -> None:
        self.fischers = fischers

    async def admit(self, attributes: Attributes) -> None:
        if (attributes.kind.group, attributes.kind.kind) != (GROUP, "Flunder"):
            return
        meta = (attributes.object or {}).get("metadata") or {}
        name = meta.get("name") or ""
        listed = await self.fischers.list(RequestContext(), ListOptions(resource_version="0"))
        for fischer in listed.items:
            if name in (fischer.get("disallowedFlunders") or ()):
                raise Forbidden(attributes.resource.group_resource, attributes.name,
                                "this name may not be used, please change the resource name")
