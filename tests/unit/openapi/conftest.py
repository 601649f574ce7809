"""A wardle-like API with pydantic models, and a tiny app serving its OpenAPI."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

import orjson
import pytest
from pydantic import Field
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.testclient import TestClient

from k8s_aggapi.api import APIGroup, ResourceInfo
from k8s_aggapi.errors import StatusError
from k8s_aggapi.models import KubeModel, KubeObject, ObjectMeta
from k8s_aggapi.openapi import openapi_routes
from k8s_aggapi.registry.rest import (
    Creater,
    Getter,
    Lister,
    ListOptions,
    ObjectList,
    ObjectUpdate,
    RequestContext,
    Table,
    TableConvertor,
    TableOptions,
    Updater,
)

Obj = dict[str, Any]
Objs = list[Obj]  # a module-level name: `list` is a method name below


class ReferenceType(StrEnum):
    FLUNDER = "Flunder"
    FISCHER = "Fischer"


class FlunderSpec(KubeModel):
    """FlunderSpec is the specification of a Flunder."""

    reference: str | None = Field(default=None, description="A name of another flunder or fischer.")
    reference_type: ReferenceType | None = Field(default=None, description="The reference's type.")
    replicas: int = Field(default=1, gt=0, description="How many copies.")
    port: int | str | None = None
    extra: dict[str, Any] | None = None
    owner: ObjectMeta | None = Field(default=None, description="Metadata of the owner.")


class FlunderStatus(KubeModel):
    """FlunderStatus is what was observed."""

    ready: bool = False


class Flunder(KubeObject):
    """Flunder is an example type with a spec and a status."""

    spec: FlunderSpec = Field(default_factory=FlunderSpec, description="The desired state.")
    status: FlunderStatus = Field(default_factory=FlunderStatus)


class Fischer(KubeObject):
    disallowed_flunders: list[str] = Field(default_factory=list, description="Forbidden names.")


class ReadOnlyStorage(Getter, Lister, TableConvertor):
    async def get(self, ctx: RequestContext, name: str, options: object = None) -> Obj:
        return {}

    async def list(self, ctx: RequestContext, options: ListOptions) -> ObjectList:
        return ObjectList([])

    def convert_to_table(self, objects: Sequence[Obj], options: TableOptions) -> Table:
        return Table(None, [])


class WritableStorage(ReadOnlyStorage, Creater, Updater):
    """get, list, create, update and patch; no delete, no watch."""

    async def create(self, ctx: RequestContext, obj: Obj) -> Obj:
        return obj

    async def update(
        self, ctx: RequestContext, name: str, update: ObjectUpdate
    ) -> tuple[Obj, bool]:
        return update.compute({}), False


def make_groups() -> list[APIGroup]:
    wardle = APIGroup("wardle.example.com")
    v1alpha1 = wardle.version("v1alpha1")
    for info, storage in (
        (ResourceInfo("Flunder", "flunders", Flunder), WritableStorage()),
        (ResourceInfo("Fischer", "fischers", Fischer, namespaced=False), ReadOnlyStorage()),
    ):
        v1alpha1.add_rest(info, storage)
    metrics = APIGroup("metrics.k8s.io")
    nodes = ResourceInfo("NodeMetrics", "nodes", None, namespaced=False)
    metrics.version("v1beta1").add_rest(nodes, ReadOnlyStorage())
    return [wardle, metrics]


@pytest.fixture
def groups() -> list[APIGroup]:
    return make_groups()


async def _status_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StatusError)
    return Response(orjson.dumps(exc.to_status()), exc.code, media_type="application/json")


@pytest.fixture
def client(groups: list[APIGroup]) -> TestClient:
    app = Starlette(
        routes=openapi_routes(groups, title="wardle", version="v0.1"),
        exception_handlers={StatusError: _status_error},
    )
    return TestClient(app, follow_redirects=False)
