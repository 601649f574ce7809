"""Discovery: `/apis`, `/apis/<g>`, `/apis/<g>/<v>` and aggregated discovery v2.

Sits among the routes behind authn/authz. Groups never change once the server starts, so
every document (and the v2 ETag) is computed once in `discovery_routes`; handlers only pick
bytes. A version served by its own `VersionEndpoint` (custom metrics) lists resources that
change: its documents, and the v2 one, are built per request. Shapes follow k8s.io/apiserver
pkg/endpoints/discovery (legacy and `aggregated/`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

import orjson
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from k8s_aggapi.api import APIGroup, APIVersion, Resource, Subresource, VersionEndpoint
from k8s_aggapi.endpoints.negotiation import MediaRange, parse_accept
from k8s_aggapi.errors import NotAcceptable, PathNotFound

JSON = "application/json"
V2_GROUP, V2_VERSION, V2_KIND = "apidiscovery.k8s.io", "v2", "APIGroupDiscoveryList"
V2_MEDIA_TYPE = f"{JSON};g={V2_GROUP};v={V2_VERSION};as={V2_KIND}"
_CONVERSION_PARAMS = ("g", "v", "as")


def _wants_v2(r: MediaRange) -> bool:
    return (
        r.matches_json()
        and r.params.get("g") == V2_GROUP
        and r.params.get("v") == V2_VERSION
        and r.params.get("as") == V2_KIND
    )


def _wants_legacy(r: MediaRange) -> bool:
    return r.matches_json() and not any(p in r.params for p in _CONVERSION_PARAMS)


def _negotiate(accept: str, *, allow_v2: bool) -> bool:
    """True for aggregated v2, False for legacy JSON; 406 when neither is acceptable.

    Only apidiscovery.k8s.io/v2 counts as aggregated (v2beta1 is gone upstream), so a
    v2beta1-only Accept gets 406, as the legacy handler's endpoint restrictions give."""
    for r in parse_accept(accept):
        if allow_v2 and _wants_v2(r):
            return True
        if _wants_legacy(r):
            return False
    accepted = f"{JSON}, {V2_MEDIA_TYPE}" if allow_v2 else JSON
    raise NotAcceptable(f"only the following media types are accepted: {accepted}")


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    candidates = [c.strip().removeprefix("W/") for c in header.split(",")]
    return etag in candidates or "*" in candidates


def _group_version(v: APIVersion) -> dict[str, str]:
    return {"groupVersion": v.group_version, "version": v.name}


def _api_group(group: APIGroup) -> dict[str, Any]:
    return {
        "name": group.name,
        "versions": [_group_version(v) for v in group.versions],
        "preferredVersion": _group_version(group.preferred),
    }


def _sorted_resources(version: APIVersion) -> list[Resource]:
    return [version.resources[name] for name in sorted(version.resources)]


def _api_resource(r: Resource) -> dict[str, Any]:
    info = r.info
    entry: dict[str, Any] = {
        "name": info.plural,
        "singularName": info.singular_name,
        "namespaced": info.namespaced,
        "kind": info.kind,
        "verbs": r.verbs,
    }
    if info.short_names:
        entry["shortNames"] = list(info.short_names)
    if info.categories:
        entry["categories"] = list(info.categories)
    entry["storageVersionHash"] = r.storage_version_hash
    return entry


def _api_subresource(r: Resource, sub: Subresource) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": f"{r.info.plural}/{sub.name}", "singularName": "",
                             "namespaced": r.info.namespaced}
    if (sub.group, sub.version) != (r.group, r.version):
        entry["group"], entry["version"] = sub.group, sub.version
    entry["kind"] = sub.kind
    entry["verbs"] = sub.verbs
    return entry


def _resource_list(version: APIVersion) -> dict[str, Any]:
    entries = []
    for r in _sorted_resources(version):
        entries.append(_api_resource(r))
        entries.extend(_api_subresource(r, r.subresources[n]) for n in sorted(r.subresources))
    return {
        "kind": "APIResourceList",
        "apiVersion": "v1",
        "groupVersion": version.group_version,
        "resources": entries,
    }


def _response_kind(group: str, version: str, kind: str) -> dict[str, str]:
    return {"group": group, "version": version, "kind": kind}


def _resource_discovery(version: APIVersion) -> list[dict[str, Any]]:
    """v2 entries, each with its subresources."""
    entries = []
    for r in _sorted_resources(version):
        info = r.info
        entry: dict[str, Any] = {
            "resource": info.plural,
            "responseKind": _response_kind(r.group, r.version, info.kind),
            "scope": "Namespaced" if info.namespaced else "Cluster",
            "singularResource": info.singular_name,
            "verbs": r.verbs,
        }
        if info.short_names:
            entry["shortNames"] = list(info.short_names)
        if info.categories:
            entry["categories"] = list(info.categories)
        if r.subresources:
            entry["subresources"] = [
                {"subresource": sub.name,
                 "responseKind": _response_kind(sub.group, sub.version, sub.kind),
                 "verbs": sub.verbs}
                for sub in (r.subresources[n] for n in sorted(r.subresources))]
        entries.append(entry)
    return entries


def _listed_discovery(version: APIVersion, listed: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """v2 entries from legacy `APIResource` dicts, as the aggregator converts a legacy-only
    server's list: `<parent>/<sub>` becomes a subresource, its parent made when missing."""
    top: dict[str, dict[str, Any]] = {}
    for r in sorted(listed, key=lambda r: str(r["name"])):
        parent, _, sub = str(r["name"]).partition("/")
        scope = "Namespaced" if r.get("namespaced") else "Cluster"
        kind = {"group": version.group, "version": version.name, "kind": r.get("kind", "")}
        entry = top.setdefault(parent, {"resource": parent, "responseKind": {} if sub else kind,
                                        "scope": scope, "singularResource": "", "verbs": []})
        if sub:
            entry.setdefault("subresources", []).append(
                {"subresource": sub, "responseKind": kind, "verbs": list(r.get("verbs", []))})
        else:
            entry.update(responseKind=kind, singularResource=r.get("singularName", ""),
                         verbs=list(r.get("verbs", [])))
    return list(top.values())


def _aggregated(
    groups: Sequence[APIGroup], listed: dict[tuple[str, str], list[dict[str, Any]]] | None = None
) -> dict[str, Any]:
    """The v2 document; `listed` holds the resources of the versions with their own endpoint."""
    listed = listed or {}

    def resources(v: APIVersion) -> list[dict[str, Any]]:
        if v.endpoint is None:
            return _resource_discovery(v)
        return _listed_discovery(v, listed.get((v.group, v.name), []))

    return {
        "kind": V2_KIND,
        "apiVersion": f"{V2_GROUP}/{V2_VERSION}",
        "metadata": {},
        "items": [
            {
                "metadata": {"name": g.name, "creationTimestamp": None},
                "versions": [
                    {"version": v.name, "resources": resources(v), "freshness": "Current"}
                    for v in g.versions
                ],
            }
            for g in groups
        ],
    }


def _json(doc: dict[str, Any]) -> bytes:
    return orjson.dumps(doc)


class _Discovery:
    """The precomputed documents and the endpoints that serve them."""

    def __init__(self, groups: Sequence[APIGroup]) -> None:
        served = [g for g in groups if g.versions]
        self.group_list = _json({"kind": "APIGroupList", "groups": [_api_group(g) for g in served]})
        self.groups = {
            g.name: _json({"kind": "APIGroup", "apiVersion": "v1", **_api_group(g)}) for g in served
        }
        self.served = served
        self.endpoints: dict[tuple[str, str], VersionEndpoint] = {
            (g.name, v.name): v.endpoint for g in served for v in g.versions
            if v.endpoint is not None
        }
        self.versions = {
            (g.name, v.name): _json(_resource_list(v)) for g in served for v in g.versions
            if v.endpoint is None
        }
        self.v2, self.v2_etag = self._v2({})

    def _v2(self, listed: dict[tuple[str, str], list[dict[str, Any]]]) -> tuple[bytes, str]:
        body = _json(_aggregated(self.served, listed))
        return body, f'"{hashlib.sha512(body).hexdigest().upper()}"'

    async def apis(self, request: Request) -> Response:
        if not _negotiate(request.headers.get("accept", ""), allow_v2=True):
            return Response(self.group_list, media_type=JSON)
        body, etag = self.v2, self.v2_etag
        if self.endpoints:
            body, etag = self._v2({k: await e.api_resources() for k, e in self.endpoints.items()})
        headers = {"ETag": etag, "Vary": "Accept", "Cache-Control": "public"}
        if _etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        return Response(body, headers=headers, media_type=V2_MEDIA_TYPE)

    async def group(self, request: Request) -> Response:
        body = self.groups.get(request.path_params["group"])
        if body is None:
            raise PathNotFound()
        _negotiate(request.headers.get("accept", ""), allow_v2=False)
        return Response(body, media_type=JSON)

    async def version(self, request: Request) -> Response:
        key = (request.path_params["group"], request.path_params["version"])
        body = self.versions.get(key)
        if (endpoint := self.endpoints.get(key)) is not None:
            body = _json({"kind": "APIResourceList", "apiVersion": "v1",
                          "groupVersion": "/".join(key),
                          "resources": await endpoint.api_resources()})
        if body is None:
            raise PathNotFound()
        _negotiate(request.headers.get("accept", ""), allow_v2=False)
        return Response(body, media_type=JSON)


def discovery_routes(groups: Sequence[APIGroup]) -> list[BaseRoute]:
    """The discovery routes for `groups` (each listed in preference order of versions)."""
    d = _Discovery(groups)
    return [
        Route("/apis", d.apis, methods=["GET"]),
        Route("/apis/", d.apis, methods=["GET"]),
        Route("/apis/{group}", d.group, methods=["GET"]),
        Route("/apis/{group}/", d.group, methods=["GET"]),
        Route("/apis/{group}/{version}", d.version, methods=["GET"]),
        Route("/apis/{group}/{version}/", d.version, methods=["GET"]),
    ]
