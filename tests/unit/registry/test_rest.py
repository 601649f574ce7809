"""Capabilities are declared, never guessed: verbs follow from the classes a REST object derives.

mypy checks this module too (pyproject's `files`): each `type: ignore[arg-type]` below is an
error mypy must report (strict mode refuses an unused ignore), so a storage backend passed as a
REST object, or the reverse, stays a type error.
"""

from collections.abc import Sequence

import pytest
from starlette.testclient import TestClient

from k8s_aggapi.api import APIGroup, ResourceInfo, TableColumn
from k8s_aggapi.registry import rest
from k8s_aggapi.registry.info import ColumnDefinition
from k8s_aggapi.registry.store import Store
from k8s_aggapi.registry.table import DefaultTableConvertor
from k8s_aggapi.storage import MemoryStorage
from k8s_aggapi.testing import build_test_app

G = "/apis/metrics.example.io/v1"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io"
NODE: rest.Object = {"kind": "NodeMetrics", "apiVersion": "metrics.example.io/v1",
        "metadata": {"name": "n1", "creationTimestamp": "2026-01-01T00:00:00Z"},
        "usage": {"cpu": "250m", "memory": "1Gi"}}


class NodeMetrics(rest.Getter, rest.Lister, rest.TableConvertor):
    """Read-only, with its own Table (as the metrics server shows CPU and memory)."""

    def __init__(self) -> None:
        self.seen: list[rest.TableOptions] = []

    async def get(self, ctx: rest.RequestContext, name: str,
                  options: rest.GetOptions = rest.GET_LATEST) -> rest.Object:
        return NODE

    async def list(self, ctx: rest.RequestContext, options: rest.ListOptions) -> rest.ObjectList:
        return rest.ObjectList([NODE], "7")

    def convert_to_table(
        self, objects: Sequence[rest.Object], options: rest.TableOptions
    ) -> rest.Table:
        self.seen.append(options)
        columns = (ColumnDefinition("Name", format="name"), ColumnDefinition("CPU(cores)"),
                   ColumnDefinition("Memory(bytes)"))
        return rest.Table(columns, [rest.TableRow(
            [o["metadata"]["name"], o["usage"]["cpu"], o["usage"]["memory"]], o)
            for o in objects])


def metrics_group(rest_object: rest.REST) -> APIGroup:
    group = APIGroup("metrics.example.io")
    group.version("v1").add_rest(ResourceInfo("NodeMetrics", "nodes", namespaced=False),
                                 rest_object)
    return group


def test_a_storage_backend_is_no_getter_and_no_rest_object() -> None:
    backend = MemoryStorage()
    assert not isinstance(backend, rest.Getter)
    assert not isinstance(backend, rest.REST)
    with pytest.raises(TypeError, match="declares no REST capability"):
        APIGroup("g").version("v1").add_rest(ResourceInfo("A", "as"), backend)  # type: ignore[arg-type]


def test_a_rest_object_is_no_storage_backend() -> None:
    with pytest.raises(TypeError, match=r"is no storage\.Storage backend"):
        APIGroup("g").version("v1").add_store(ResourceInfo("A", "as"), NodeMetrics())  # type: ignore[arg-type]


def test_methods_named_like_verbs_declare_nothing() -> None:
    class LooksLikeAGetter(rest.REST):
        async def get(self, ctx: rest.RequestContext, name: str,
                  options: rest.GetOptions = rest.GET_LATEST) -> rest.Object:
            return {}

    with pytest.raises(TypeError, match="serves no REST verb"):
        APIGroup("g").version("v1").add_rest(ResourceInfo("A", "as"), LooksLikeAGetter())


def test_get_and_list_only() -> None:
    caps = rest.Capabilities.of(NodeMetrics(), DefaultTableConvertor())
    assert caps.verbs == ["get", "list"]
    assert (caps.creater, caps.updater, caps.deleter, caps.watcher) == (None, None, None, None)


def test_the_generic_store_serves_every_verb_and_patch_needs_get_and_update() -> None:
    store = Store(ResourceInfo("A", "as"), "g", "v1", MemoryStorage())
    assert rest.Capabilities.of(store, DefaultTableConvertor()).verbs == [
        "create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]

    class UpdateOnly(rest.Updater):
        async def update(self, ctx: rest.RequestContext, name: str,
                         update: rest.ObjectUpdate) -> tuple[rest.Object, bool]:
            return update.compute({}), False

    assert rest.Capabilities.of(UpdateOnly(), DefaultTableConvertor()).verbs == ["update"]


def test_read_only_rest_object_is_served_read_only_everywhere() -> None:
    with TestClient(build_test_app([metrics_group(NodeMetrics())])) as client:
        [entry] = client.get(G).json()["resources"]
        assert entry["verbs"] == ["get", "list"]
        assert client.get(f"{G}/nodes/n1").json() == NODE
        assert client.get(f"{G}/nodes").json()["items"] == [NODE]
        for method, path in (("POST", "nodes"), ("PUT", "nodes/n1"), ("DELETE", "nodes/n1"),
                             ("PATCH", "nodes/n1"), ("DELETE", "nodes")):
            r = client.request(method, f"{G}/{path}", content=b"{}",
                               headers={"content-type": "application/merge-patch+json"})
            assert r.status_code == 405, (method, path)
        assert client.get(f"{G}/nodes", params={"watch": "true"}).status_code == 405


def test_custom_table_convertor_is_honoured_for_get_and_list() -> None:
    node_metrics = NodeMetrics()
    with TestClient(build_test_app([metrics_group(node_metrics)])) as client:
        listed = client.get(f"{G}/nodes", headers={"accept": TABLE}).json()
        one = client.get(f"{G}/nodes/n1", headers={"accept": TABLE},
                         params={"includeObject": "Object"}).json()
    assert listed["kind"] == "Table"
    assert [c["name"] for c in listed["columnDefinitions"]] == [
        "Name", "CPU(cores)", "Memory(bytes)"]
    assert listed["rows"][0]["cells"] == ["n1", "250m", "1Gi"]
    assert listed["rows"][0]["object"]["kind"] == "PartialObjectMetadata"
    assert listed["metadata"] == {"resourceVersion": "7"}
    assert one["rows"][0]["object"] == NODE
    assert node_metrics.seen == [rest.TableOptions(), rest.TableOptions()]


def test_a_store_takes_a_table_convertor_in_place_of_its_columns() -> None:
    group = APIGroup("metrics.example.io")
    info = ResourceInfo("NodeMetrics", "nodes", namespaced=False,
                        columns=(TableColumn("Ignored", lambda o: "x"),))
    group.version("v1").add_store(info, MemoryStorage(), table=NodeMetrics())
    with TestClient(build_test_app([group])) as client:
        client.post(f"{G}/nodes", json={"metadata": {"name": "n1"}, "usage": {"cpu": "1",
                                                                              "memory": "2"}})
        listed = client.get(f"{G}/nodes", headers={"accept": TABLE}).json()
    assert [c["name"] for c in listed["columnDefinitions"]][1] == "CPU(cores)"
