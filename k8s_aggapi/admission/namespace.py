"""NamespaceLifecycle: no new content in a namespace that is missing or being terminated.

Upstream's plugin of the same name (k8s.io/apiserver/pkg/admission/plugin/namespace/lifecycle),
on by default in every aggregated server that is connected to a cluster. An informer (list,
then watch, relisting after errors) keeps the namespaces' phases; a create in a namespace the
cache does not know waits a moment, then asks kube-apiserver live, as upstream does.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import ClassVar

from k8s_aggapi import errors
from k8s_aggapi.admission.attributes import Attributes, Operation, forbidden
from k8s_aggapi.admission.interface import MutatingPlugin
from k8s_aggapi.kube import JSON, KubeClient, KubeError, Namespaces, connect

logger = logging.getLogger(__name__)

NAMESPACES = errors.GroupResource("", "namespaces")
MISSING_NAMESPACE_WAIT = 0.05  # upstream's missingNamespaceWait
READY_WAIT = 10.0  # upstream's WaitForReady timeout
TERMINATING = "Terminating"


class NamespaceLifecycle(MutatingPlugin):
    name: ClassVar[str] = "NamespaceLifecycle"
    operations: ClassVar[frozenset[Operation]] = frozenset(
        {Operation.CREATE, Operation.UPDATE, Operation.DELETE})

    def __init__(
        self, kube: Namespaces, *, retry_delay: float = 1.0, max_retry_delay: float = 30.0,
        watch_timeout: int = 300, sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        owned: KubeClient | None = None,
    ) -> None:
        self._kube = kube
        self._owned = owned  # closed on stop
        self._phases: dict[str, str] = {}
        self._synced = asyncio.Event()
        self._retry_delay, self._max_retry_delay = retry_delay, max_retry_delay
        self._watch_timeout = watch_timeout
        self._sleep = sleep
        self._task: asyncio.Task[None] | None = None

    # the informer ---------------------------------------------------------
    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="namespace informer")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._owned is not None:
            await self._owned.close()

    async def _run(self) -> None:
        delay = self._retry_delay
        while True:
            try:
                items, version = await self._kube.list_namespaces()
                self._phases = {_name(ns): _phase(ns) for ns in items}
                self._synced.set()
                delay = self._retry_delay
                while True:  # a watch that times out is resumed from where it was
                    async for event in self._kube.watch_namespaces(
                            version, timeout_seconds=self._watch_timeout):
                        version = self._apply(event) or version
            except KubeError as exc:
                if exc.status != 410:
                    logger.warning("namespace informer: %s; relisting in %.1fs", exc, delay)
                    await self._sleep(delay)
                    delay = min(delay * 2, self._max_retry_delay)

    def _apply(self, event: JSON) -> str:
        obj = event.get("object") or {}
        kind = event.get("type")
        if kind in ("ADDED", "MODIFIED"):
            self._phases[_name(obj)] = _phase(obj)
        elif kind == "DELETED":
            self._phases.pop(_name(obj), None)
        return str((obj.get("metadata") or {}).get("resourceVersion") or "")

    # admission ------------------------------------------------------------
    async def admit(self, attributes: Attributes) -> None:
        namespace = attributes.namespace
        if not namespace or attributes.operation is Operation.DELETE:
            return
        if not await self._ready():
            raise forbidden(attributes, "not yet ready to handle request")
        phase = self._phases.get(namespace)
        if phase is None and attributes.operation is Operation.CREATE:
            await self._sleep(MISSING_NAMESPACE_WAIT)  # the informer may be a moment behind
            phase = self._phases.get(namespace)
        if phase is None:
            try:
                live = await self._kube.get_namespace(namespace)
            except KubeError as exc:
                raise errors.InternalError(str(exc)) from exc
            if live is None:
                raise errors.NotFound(NAMESPACES, namespace)
            phase = _phase(live)
        if attributes.operation is Operation.CREATE and phase == TERMINATING:
            refused = forbidden(attributes, (
                f"unable to create new content in namespace {namespace} because it is being "
                "terminated"))
            refused.details["causes"] = [{
                "reason": "NamespaceTerminating", "field": "metadata.namespace",
                "message": f"namespace {namespace} is being terminated"}]
            raise refused

    async def _ready(self) -> bool:
        if self._synced.is_set():
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._synced.wait(), READY_WAIT)
        return self._synced.is_set()


def _name(namespace: JSON) -> str:
    return str((namespace.get("metadata") or {}).get("name") or "")


def _phase(namespace: JSON) -> str:
    return str((namespace.get("status") or {}).get("phase") or "Active")


async def connect_namespace_lifecycle(kubeconfig: str = "") -> NamespaceLifecycle | None:
    """The plugin on a client of its own (from `kubeconfig`, else in-cluster); None when
    there is no cluster to connect to (upstream leaves the plugin out there too)."""
    kube = await connect(kubeconfig, optional=True)
    return None if kube is None else NamespaceLifecycle(kube, owned=kube)
