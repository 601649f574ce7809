"""NamespaceLifecycle over a fake namespace API: missing, terminating, followed by watch."""

import asyncio

import pytest

from k8s_aggapi import errors
from k8s_aggapi.admission import Attributes, GroupVersionKind, GroupVersionResource, Operation
from k8s_aggapi.admission.namespace import NamespaceLifecycle
from k8s_aggapi.kube import KubeError

GVK = GroupVersionKind("wardle.example.com", "v1alpha1", "Flunder")
GVR = GroupVersionResource("wardle.example.com", "v1alpha1", "flunders")


def ns(name, phase="Active", rv="1"):
    return {"metadata": {"name": name, "resourceVersion": rv}, "status": {"phase": phase}}


class FakeNamespaces:
    def __init__(self, *items):
        self.items = {n["metadata"]["name"]: n for n in items}
        self.events: asyncio.Queue = asyncio.Queue()
        self.live_gets = 0

    async def list_namespaces(self):
        return list(self.items.values()), "1"

    async def watch_namespaces(self, resource_version, *, timeout_seconds=300):
        while True:
            event = await self.events.get()
            if isinstance(event, Exception):
                raise event
            yield event

    async def get_namespace(self, name):
        self.live_gets += 1
        return self.items.get(name)


def create(namespace, name="f"):
    return Attributes(Operation.CREATE, GVK, GVR, name, namespace,
                      object={"metadata": {"name": name}})


@pytest.fixture
async def plugin_and_api():
    api = FakeNamespaces(ns("default"), ns("going", "Terminating"))

    async def no_sleep(_):
        await asyncio.sleep(0)

    plugin = NamespaceLifecycle(api, sleep=no_sleep)
    await plugin.start()
    yield plugin, api
    await plugin.stop()


async def test_create_in_active_namespace(plugin_and_api):
    plugin, _ = plugin_and_api
    await plugin.admit(create("default"))


async def test_create_in_missing_namespace_is_404(plugin_and_api):
    plugin, api = plugin_and_api
    with pytest.raises(errors.NotFound) as refused:
        await plugin.admit(create("nope"))
    assert refused.value.message == 'namespaces "nope" not found'
    assert api.live_gets == 1  # the cache missed; asked live once


async def test_create_in_terminating_namespace_is_403(plugin_and_api):
    plugin, _ = plugin_and_api
    with pytest.raises(errors.Forbidden) as refused:
        await plugin.admit(create("going", "f1"))
    status = refused.value.to_status()
    assert status["message"] == (
        'flunders.wardle.example.com "f1" is forbidden: unable to create new content in '
        "namespace going because it is being terminated")
    assert status["details"]["causes"] == [{
        "reason": "NamespaceTerminating", "field": "metadata.namespace",
        "message": "namespace going is being terminated"}]


async def test_updates_and_deletes_in_terminating_namespace_pass(plugin_and_api):
    plugin, _ = plugin_and_api
    for op in (Operation.UPDATE, Operation.DELETE):
        await plugin.admit(Attributes(op, GVK, GVR, "f", "going"))


async def test_watch_events_are_followed(plugin_and_api):
    plugin, api = plugin_and_api
    await plugin.admit(create("default"))
    api.events.put_nowait({"type": "MODIFIED", "object": ns("default", "Terminating", "5")})
    for _ in range(100):
        await asyncio.sleep(0)
    with pytest.raises(errors.Forbidden):
        await plugin.admit(create("default"))
    api.events.put_nowait({"type": "ADDED", "object": ns("fresh", rv="6")})
    for _ in range(100):
        await asyncio.sleep(0)
    await plugin.admit(create("fresh"))
    assert api.live_gets == 0


async def test_relists_after_a_watch_error(plugin_and_api):
    plugin, api = plugin_and_api
    api.items["later"] = ns("later")
    api.events.put_nowait(KubeError(410, "too old", "Expired"))
    for _ in range(100):
        await asyncio.sleep(0)
    await plugin.admit(create("later"))
    assert api.live_gets == 0


async def test_cluster_scoped_objects_pass(plugin_and_api):
    plugin, api = plugin_and_api
    await plugin.admit(create(""))
    assert api.live_gets == 0
