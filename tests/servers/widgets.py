"""widgets.example.com/v1 Widget: a resource with a status and a scale subresource.

`python -m tests.servers.widgets [flags]` serves it with upstream's flags (as the sample does).
"""

from __future__ import annotations

from pydantic import Field

from k8s_aggapi.api import APIGroup, ResourceInfo, Scale, TableColumn
from k8s_aggapi.application import Application
from k8s_aggapi.models import KubeModel, KubeObject
from k8s_aggapi.storage import MemoryStorage, Storage

GROUP = "widgets.example.com"


class WidgetSpec(KubeModel):
    replicas: int = Field(default=1, description="How many widgets are wanted.")
    color: str | None = Field(default=None, description="What colour they are.")


class WidgetStatus(KubeModel):
    replicas: int = Field(default=0, description="How many widgets there are.")
    selector: str | None = Field(default=None, description="Which pods count as widgets.")
    ready: bool | None = None


class Widget(KubeObject):
    """A Widget: desired replicas in spec, observed ones in status."""

    spec: WidgetSpec = Field(default_factory=WidgetSpec)
    status: WidgetStatus | None = None


WIDGETS = ResourceInfo(
    kind="Widget", plural="widgets", model=Widget, short_names=("wd",),
    columns=(TableColumn("Replicas", lambda o: o["spec"].get("replicas"), type="integer"),),
    status=True,
    scale=Scale(spec_replicas_path=".spec.replicas", status_replicas_path=".status.replicas",
                label_selector_path=".status.selector"),
)


def widgets_group(storage: Storage | None = None) -> APIGroup:
    group = APIGroup(GROUP)
    group.version("v1").add_store(WIDGETS, storage or MemoryStorage())
    return group


server = Application(
    name="widgets", groups=lambda: [widgets_group()], title="Widgets",
    prog="python -m tests.servers.widgets", command=("python", "-m", "tests.servers.widgets"),
)

if __name__ == "__main__":
    server.main()
