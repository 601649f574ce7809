import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route
from starlette.testclient import TestClient

from examples.sample_apiserver.apis import wardle_group
from k8s_aggapi.endpoints.handlers import ResourceEndpoint
from k8s_aggapi.middleware.requestinfo import RequestInfoMiddleware
from k8s_aggapi.middleware.response import ResponseMiddleware

W = "/apis/wardle.example.com/v1alpha1"
TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"


def resource_app():
    endpoint = ResourceEndpoint([wardle_group()])
    return Starlette(
        routes=[Route("/apis/{group}/{version}/{rest:path}", endpoint)],
        middleware=[Middleware(ResponseMiddleware), Middleware(RequestInfoMiddleware)],
    )


@pytest.fixture
def app():
    return resource_app()


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


def flunder(name, **spec):
    return {
        "apiVersion": "wardle.example.com/v1alpha1",
        "kind": "Flunder",
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": spec,
    }
