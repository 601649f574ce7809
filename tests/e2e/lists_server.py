"""A small aggregated server for the patching e2e: `lists.example.com/v1` Widgets whose spec
declares every kind of list (`python -m tests.e2e.lists_server`, upstream's flags)."""

from __future__ import annotations

from pydantic import Field

from k8s_aggapi.api import APIGroup, ResourceInfo
from k8s_aggapi.application import Application
from k8s_aggapi.models import KubeModel, KubeObject
from k8s_aggapi.models.lists import list_map, list_set
from k8s_aggapi.storage import MemoryStorage


class Port(KubeModel):
    name: str
    port: int | None = None


class Pair(KubeModel):
    port: int
    protocol: str
    note: str | None = None


class WidgetSpec(KubeModel):
    ports: list[Port] | None = Field(default=None, json_schema_extra=list_map("name"))
    pairs: list[Pair] | None = Field(default=None,
                                     json_schema_extra=list_map("port", "protocol"))
    tags: list[str] | None = Field(default=None, json_schema_extra=list_set())
    args: list[str] | None = None
    selector: dict[str, str] | None = None


class Widget(KubeObject):
    spec: WidgetSpec = Field(default_factory=WidgetSpec)


def lists_group() -> APIGroup:
    group = APIGroup("lists.example.com")
    group.version("v1").add_store(
        ResourceInfo(kind="Widget", plural="widgets", model=Widget, namespaced=True),
        MemoryStorage())
    return group


server = Application(name="lists-server", groups=lambda: [lists_group()], title="Lists",
                     prog="python -m tests.e2e.lists_server",
                     command=("python", "-m", "tests.e2e.lists_server"))

if __name__ == "__main__":
    server.main()
