"""The scale subresource: `<plural>/scale` as an autoscaling/v1 Scale (what `kubectl scale`
and the HorizontalPodAutoscaler use), mapped onto the object through the paths `Scale`
declares, as a CustomResourceDefinition's scale subresource is.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

from k8s_aggapi import errors
from k8s_aggapi.models.autoscaling import SCALE_GROUP, SCALE_KIND, SCALE_VERSION
from k8s_aggapi.registry.info import Scale
from k8s_aggapi.registry.rest import (
    GET_LATEST,
    GetOptions,
    Getter,
    Object,
    ObjectUpdate,
    RequestContext,
    Updater,
)
from k8s_aggapi.registry.validation import invalid

if TYPE_CHECKING:
    from k8s_aggapi.registry.store import Store

SCALE_API_VERSION = f"{SCALE_GROUP}/{SCALE_VERSION}"
_SCALE_META = ("name", "namespace", "uid", "resourceVersion", "creationTimestamp")


def _path(path: str) -> list[str]:
    return [part for part in path.split(".") if part]


def read_path(obj: Object, path: str) -> Any:
    node: Any = obj
    for part in _path(path):
        if not isinstance(node, dict):
            return None
        node = node.get(part)
    return node


def write_path(obj: Object, path: str, value: Any) -> None:
    *parents, last = _path(path)
    node = obj
    for part in parents:
        child = node.get(part)
        if not isinstance(child, dict):
            child = node[part] = {}
        node = child
    node[last] = value


class ScaleREST(Getter, Updater):
    """get, update and patch of `<plural>/scale`; writes go through the store's guaranteed
    update, so a scale never loses a concurrent change to the object."""

    def __init__(self, store: Store, scale: Scale) -> None:
        self.store = store
        self.scale = scale

    def to_scale(self, obj: Object) -> Object:
        meta = obj.get("metadata", {})
        replicas = read_path(obj, self.scale.spec_replicas_path)
        status: dict[str, Any] = {
            "replicas": read_path(obj, self.scale.status_replicas_path) or 0}
        if self.scale.label_selector_path:
            selector = read_path(obj, self.scale.label_selector_path)
            if isinstance(selector, str) and selector:
                status["selector"] = selector
        return {
            "kind": SCALE_KIND, "apiVersion": SCALE_API_VERSION,
            "metadata": {k: meta[k] for k in _SCALE_META if k in meta},
            "spec": {"replicas": replicas} if isinstance(replicas, int) else {},
            "status": status,
        }

    async def get(
        self, ctx: RequestContext, name: str, options: GetOptions = GET_LATEST
    ) -> Object:
        return self.to_scale(await self.store.get(ctx, name, options))

    async def update(
        self, ctx: RequestContext, name: str, update: ObjectUpdate
    ) -> tuple[Object, bool]:
        def compute(current: Object) -> Object:
            scale = update.compute(self.to_scale(current))
            meta = scale.get("metadata") or {}
            given = meta.get("name")
            if given and given != name:
                raise errors.BadRequest(
                    f"the name of the object ({given}) does not match the name on the URL "
                    f"({name})")
            replicas = (scale.get("spec") or {}).get("replicas") or 0  # Go's int32 zero value
            if replicas < 0:
                raise errors.Invalid(SCALE_KIND, SCALE_GROUP, name, [invalid(
                    "spec.replicas", replicas, "must be greater than or equal to 0")])
            new = copy.deepcopy(current)
            write_path(new, self.scale.spec_replicas_path, replicas)
            # the Scale's resourceVersion is the precondition; none: unconditional
            rv = meta.get("resourceVersion") or current["metadata"].get("resourceVersion")
            new["metadata"]["resourceVersion"] = rv
            return new

        # the Scale's uid, when sent, is a precondition on the object (as upstream's
        # scaleUpdatedObjectInfo passes the inner preconditions on)
        stored, _ = await self.store.update(ctx, name, ObjectUpdate(compute, None, update.uid))
        return self.to_scale(stored), False
