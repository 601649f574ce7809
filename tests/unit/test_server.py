"""The assembled app: routes, handler chain and errors, through the public test kit."""

from starlette.testclient import TestClient

import k8s_aggapi
from examples.sample_apiserver.apis import wardle_group
from k8s_aggapi.request.user import User
from k8s_aggapi.testing import FakeAuthorizer, build_test_app

W = "/apis/wardle.example.com/v1alpha1"


def test_public_names_are_exactly_all():
    public = {n for n in dir(k8s_aggapi) if not n.startswith("_")}
    modules = {n for n in public if isinstance(getattr(k8s_aggapi, n), type(k8s_aggapi))}
    assert public - modules == set(k8s_aggapi.__all__)
    assert set(k8s_aggapi.__all__) == {
        "APIGroup", "APIVersion", "Application", "CompletedConfig", "KubeModel", "KubeObject",
        "MemoryStorage", "ObjectMeta", "PolicyRule", "Resource", "ResourceInfo", "Scale",
        "ServerConfig", "StatusError", "Storage", "Strategy", "TableColumn", "build_app",
        "main", "run",
    }


def test_discovery_and_crud_through_the_chain():
    with TestClient(build_test_app([wardle_group()])) as client:
        assert client.get(W).json()["kind"] == "APIResourceList"
        r = client.post(f"{W}/namespaces/ns/flunders", json={"metadata": {"name": "a"}})
        assert r.status_code == 201
        assert client.get(f"{W}/flunders").json()["items"][0]["metadata"]["name"] == "a"


def test_unknown_paths_and_methods_are_status_errors():
    with TestClient(build_test_app([wardle_group()])) as client:
        r = client.get("/nope")
        assert r.status_code == 404
        assert r.json()["kind"] == "Status"
        assert r.json()["reason"] == "NotFound"
        r = client.put(f"{W}/namespaces/ns/flunders", json={})
        assert r.status_code == 405
        assert r.json()["reason"] == "MethodNotAllowed"
        r = client.post(f"{W}/namespaces/ns/flunders/x", json={})
        assert r.status_code == 405
        r = client.get("/apis/other.group/v1/things")
        assert r.status_code == 404
        assert r.json()["kind"] == "Status"


def test_denied_requests_get_upstreams_message():
    authorizer = FakeAuthorizer(allow=lambda a: a.verb != "list")
    app = build_test_app([wardle_group()], user=User("alice", ("dev",)), authorizer=authorizer)
    with TestClient(app) as client:
        r = client.get(f"{W}/namespaces/default/flunders")
    assert r.status_code == 403
    assert r.json()["message"] == (
        'flunders.wardle.example.com is forbidden: User "alice" cannot list resource '
        '"flunders" in API group "wardle.example.com" in the namespace "default"'
    )
    assert authorizer.seen[-1].resource == "flunders"


def test_metrics_count_requests():
    with TestClient(build_test_app([wardle_group()])) as client:
        client.get(f"{W}/flunders")
        text = client.get("/metrics").text
    assert 'apiserver_request_total{code="200",component="apiserver"' in text
    assert 'verb="LIST"' in text


def test_request_log_names_user_groups_and_the_real_status(caplog):
    authorizer = FakeAuthorizer(allow=lambda a: a.verb != "list")
    app = build_test_app([wardle_group()], user=User("alice", ("dev",)), authorizer=authorizer)
    with caplog.at_level("DEBUG", logger="k8s_aggapi.httplog"), TestClient(app) as client:
        client.get(f"{W}/namespaces/default/flunders")
        client.get(f"{W}/namespaces/default/flunders/missing")
    lines = [r.getMessage() for r in caplog.records if r.name == "k8s_aggapi.httplog"]
    assert 'user="alice"' in lines[0]
    assert "'dev'" in lines[0]
    assert "status=403" in lines[0]
    assert "status=404" in lines[1]


def test_resource_route_comes_first_but_leaves_discovery_its_trailing_slash():
    with TestClient(build_test_app([wardle_group()])) as client:
        for path in (W, f"{W}/"):
            assert client.get(path).json()["kind"] == "APIResourceList"
        assert client.get(f"{W}/flunders").json()["kind"] == "FlunderList"
        assert client.get("/apis/wardle.example.com/").json()["kind"] == "APIGroup"
        assert client.get("/healthz").text == "ok"
