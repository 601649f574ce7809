"""RequestInfo parsing, table-tested against upstream's rules (requestinfo.go)."""

import pytest

from k8s_aggapi.endpoints.options import selected_object
from k8s_aggapi.request.info import parse_request_info as parse_without_names


def parse_request_info(method: str, path: str, query: str = ""):  # type: ignore[no-untyped-def]
    """As the server resolves it: with the endpoints' rule for names in field selectors."""
    return parse_without_names(method, path, query, selected_name=selected_object)

W = "/apis/wardle.example.com/v1alpha1"

CASES = [
    # method, path, query, verb, namespace, resource, subresource, name
    ("GET", f"{W}/namespaces/default/flunders", "", "list", "default", "flunders", "", ""),
    (
        "GET",
        f"{W}/namespaces/default/flunders",
        "watch=true",
        "watch",
        "default",
        "flunders",
        "",
        "",
    ),
    ("GET", f"{W}/namespaces/default/flunders", "watch=1", "watch", "default", "flunders", "", ""),
    (
        "GET",
        f"{W}/namespaces/default/flunders",
        "watch=false",
        "list",
        "default",
        "flunders",
        "",
        "",
    ),
    (
        "GET",
        f"{W}/watch/namespaces/default/flunders/x",
        "",
        "watch",
        "default",
        "flunders",
        "",
        "x",
    ),
    ("GET", f"{W}/watch/flunders", "", "watch", "", "flunders", "", ""),
    ("GET", f"{W}/namespaces/default/flunders/x", "", "get", "default", "flunders", "", "x"),
    ("HEAD", f"{W}/namespaces/default/flunders/x", "", "get", "default", "flunders", "", "x"),
    (
        "PUT",
        f"{W}/namespaces/default/flunders/x/status",
        "",
        "update",
        "default",
        "flunders",
        "status",
        "x",
    ),
    ("PATCH", f"{W}/namespaces/default/flunders/x", "", "patch", "default", "flunders", "", "x"),
    ("POST", f"{W}/namespaces/default/flunders", "", "create", "default", "flunders", "", ""),
    (
        "DELETE",
        f"{W}/namespaces/default/flunders",
        "",
        "deletecollection",
        "default",
        "flunders",
        "",
        "",
    ),
    ("DELETE", f"{W}/namespaces/default/flunders/x", "", "delete", "default", "flunders", "", "x"),
    ("GET", f"{W}/fischers", "", "list", "", "fischers", "", ""),
    ("GET", f"{W}/fischers/f", "", "get", "", "fischers", "", "f"),
    ("GET", f"{W}/namespaces/default", "", "get", "default", "namespaces", "", "default"),
    ("GET", f"{W}/namespaces", "", "list", "", "namespaces", "", ""),
    (
        "GET",
        f"{W}/namespaces/default/flunders",
        "fieldSelector=metadata.name%3Dx",
        "list",
        "default",
        "flunders",
        "",
        "x",
    ),
    (
        "GET",
        f"{W}/namespaces/default/flunders",
        "fieldSelector=metadata.name%3D%3Dx",
        "list",
        "default",
        "flunders",
        "",
        "x",
    ),
    ("GET", "/api/v1/namespaces/default/pods/p", "", "get", "default", "pods", "", "p"),
    ("GET", "/api/v1/namespaces/ns/finalize", "", "get", "ns", "namespaces", "finalize", "ns"),
    ("OPTIONS", f"{W}/flunders", "", "", "", "flunders", "", ""),
]


@pytest.mark.parametrize(
    ("method", "path", "query", "verb", "ns", "resource", "sub", "name"), CASES
)
def test_resource_requests(method, path, query, verb, ns, resource, sub, name):
    info = parse_request_info(method, path, query)
    assert info.is_resource_request
    assert (info.verb, info.namespace, info.resource, info.subresource, info.name) == (
        verb,
        ns,
        resource,
        sub,
        name,
    )
    if "wardle" in path:
        assert (info.api_group, info.api_version) == ("wardle.example.com", "v1alpha1")


@pytest.mark.parametrize(
    ("method", "path", "verb"),
    [
        ("GET", "/apis", "get"),
        ("GET", "/apis/wardle.example.com", "get"),
        ("GET", W, "get"),
        ("GET", "/healthz", "get"),
        ("POST", "/openapi/v3", "post"),
        ("GET", "/", "get"),
        ("GET", "/api/v1", "get"),
        ("GET", "/metrics", "get"),
    ],
)
def test_non_resource_requests(method, path, verb):
    info = parse_request_info(method, path)
    assert not info.is_resource_request
    assert info.verb == verb
    assert info.path == path


def test_selectors_recorded_for_lists():
    info = parse_request_info("GET", f"{W}/flunders", "labelSelector=a%3Db&fieldSelector=x%3Dy")
    assert (info.label_selector, info.field_selector) == ("a=b", "x=y")


@pytest.mark.parametrize(
    ("path", "query", "verb", "name"),
    [
        (f"{W}/flunders", "watch=1&fieldSelector=metadata.name%3Dx", "watch", "x"),
        (f"{W}/flunders", "watch=FALSE&fieldSelector=metadata.name%3Dx", "list", "x"),
        (f"{W}/flunders", "fieldSelector=metadata.name%3Dx,spec.a%3Db", "list", "x"),
        (f"{W}/flunders", "fieldSelector=metadata.name%21%3Dx", "list", ""),
        # the deprecated /watch/ prefix takes the name from the path only
        (f"{W}/watch/flunders", "fieldSelector=metadata.name%3Dx", "watch", ""),
        (f"{W}/watch/flunders/y", "", "watch", "y"),
        # a name on the path with ?watch stays a get, as upstream routes it
        (f"{W}/flunders/y", "watch=1", "get", "y"),
        # options that do not decode leave the request unnamed (upstream logs and goes on)
        (f"{W}/flunders", "limit=abc&fieldSelector=metadata.name%3Dx", "list", ""),
        (f"{W}/flunders", "labelSelector=a%20b&fieldSelector=metadata.name%3Dx", "list", ""),
        # not a valid path segment name
        (f"{W}/flunders", "fieldSelector=metadata.name%3Da%2Fb", "list", ""),
        (f"{W}/flunders", "fieldSelector=metadata.name%3D..", "list", ""),
        (f"{W}/flunders", "fieldSelector=metadata.name%3Da%25", "list", ""),
        (f"{W}/flunders", r"fieldSelector=metadata.name%3Da\%2Cb", "list", "a,b"),
    ],
)
def test_name_from_field_selector(path, query, verb, name):
    info = parse_request_info("GET", path, query)
    assert (info.verb, info.name) == (verb, name)


def test_deprecated_watch_prefix_records_no_selectors():
    info = parse_request_info("GET", f"{W}/watch/flunders", "labelSelector=a%3Db")
    assert (info.verb, info.label_selector) == ("watch", "")


def test_without_a_name_rule_a_field_selector_names_nothing():
    """The stricter question for authorization: the whole collection."""
    info = parse_without_names("GET", f"{W}/flunders", "fieldSelector=metadata.name%3Dx")
    assert (info.verb, info.name) == ("list", "")

