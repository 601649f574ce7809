"""Request info: method + path + query -> verb, group, version, namespace, resource, name.

A pure function with upstream's rules (k8s.io/apiserver pkg/endpoints/request/requestinfo.go),
and a resolver that remembers the results of recent requests. Resolved once, outermost;
metrics, authorization and the resource handlers all read the result.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from urllib.parse import parse_qs

API_PREFIXES = frozenset({"api", "apis"})
GROUPLESS_PREFIX = "api"
SPECIAL_VERBS = frozenset({"proxy", "watch"})
NAMESPACE_SUBRESOURCES = frozenset({"status", "finalize"})
METHOD_VERBS = {
    "POST": "create",
    "GET": "get",
    "HEAD": "get",
    "PUT": "update",
    "PATCH": "patch",
    "DELETE": "delete",
}


Query = Mapping[str, list[str]]
SelectedName = Callable[[Query], str | None]
"""The one object a list's or watch's query selects by `metadata.name`, or None: decoding
the query is the endpoints' business, so the server hands this rule to the resolver."""

REMEMBERED_MAX = 4096
"""Distinct (method, path, query) parses kept; past that the memory starts over."""
REMEMBERED_KEY_BYTES = 1024
"""Only requests with a path and query this short are remembered, so the memory stays bounded
(REMEMBERED_MAX x 1 KiB) whatever request lines a client sends (up to the header limit)."""


@dataclass(frozen=True, slots=True)
class RequestInfo:
    is_resource_request: bool
    path: str
    verb: str
    api_prefix: str = ""
    api_group: str = ""
    api_version: str = ""
    namespace: str = ""
    resource: str = ""
    subresource: str = ""
    name: str = ""
    parts: tuple[str, ...] = ()
    label_selector: str = ""
    field_selector: str = ""


def _truthy_watch(values: list[str]) -> bool:
    return bool(values) and values[0] != "0" and values[0].lower() != "false"


def _no_name(query: Query) -> str | None:
    return None


def parse_request_info(
    method: str, path: str, query: str = "", *, selected_name: SelectedName = _no_name
) -> RequestInfo:
    """Parse one request the way kube-apiserver does (see the module docstring).

    `selected_name` finds the object a list's field selector names (without it, none is:
    authorization then asks about the whole collection, the stricter question)."""
    non_resource = RequestInfo(is_resource_request=False, path=path, verb=method.lower())
    segments = [s for s in path.strip("/").split("/")] if path.strip("/") else []
    if len(segments) < 3 or segments[0] not in API_PREFIXES:
        return non_resource
    prefix, rest = segments[0], segments[1:]
    group = ""
    if prefix != GROUPLESS_PREFIX:
        if len(rest) < 3:
            return non_resource
        group, rest = rest[0], rest[1:]
    version, rest = rest[0], rest[1:]
    if not rest:
        return non_resource

    verb_from_path = ""
    if rest[0] in SPECIAL_VERBS:
        if len(rest) < 2:
            return non_resource
        verb_from_path, rest = rest[0], rest[1:]
    verb = verb_from_path or METHOD_VERBS.get(method.upper(), "")

    namespace = ""
    if rest[0] == "namespaces" and len(rest) > 1:
        namespace = rest[1]
        if len(rest) > 2 and rest[2] not in NAMESPACE_SUBRESOURCES:
            rest = rest[2:]
    parts = tuple(rest)

    resource = parts[0] if parts else ""
    name = parts[1] if len(parts) >= 2 else ""
    subresource = parts[2] if len(parts) >= 3 and verb_from_path != "proxy" else ""

    query_values = parse_qs(query, keep_blank_values=True)
    if not name and verb == "get":
        verb = "watch" if _truthy_watch(query_values.get("watch", [])) else "list"
        # a list or watch whose field selector requires one metadata.name is about that
        # object: authorization sees the name, the handler narrows to it (upstream's rule)
        name = selected_name(query_values) or ""
    elif not name and verb == "delete":
        verb = "deletecollection"
    label_selector = field_selector = ""
    # the deprecated /watch/ prefix carries no selectors for authorization (upstream)
    if not verb_from_path and verb in ("list", "watch", "deletecollection"):
        label_selector = query_values.get("labelSelector", [""])[0]
        field_selector = query_values.get("fieldSelector", [""])[0]

    return RequestInfo(
        is_resource_request=True,
        path=path,
        verb=verb,
        api_prefix=prefix,
        api_group=group,
        api_version=version,
        namespace=namespace,
        resource=resource,
        subresource=subresource,
        name=name,
        parts=parts,
        label_selector=label_selector,
        field_selector=field_selector,
    )


class RequestInfoResolver:
    """`parse_request_info` with the server's `selected_name` rule; the parse is a pure
    function of method, path and query and `RequestInfo` is frozen, so the results of recent
    requests are remembered (a bounded map: clients repeat their requests)."""

    def __init__(self, selected_name: SelectedName = _no_name) -> None:
        self.selected_name = selected_name
        self._parsed: dict[tuple[str, str, bytes], RequestInfo] = {}

    def __call__(self, method: str, path: str, query: bytes) -> RequestInfo:
        key = (method, path, query)
        info = self._parsed.get(key)
        if info is None:
            info = parse_request_info(method, path, query.decode("latin-1"),
                                      selected_name=self.selected_name)
            if len(path) + len(query) <= REMEMBERED_KEY_BYTES:
                if len(self._parsed) >= REMEMBERED_MAX:
                    self._parsed = {}
                self._parsed[key] = info
        return info
