"""The OpenAPI endpoints: `/openapi/v2`, `/openapi/v3` and `/openapi/v3/apis/<g>/<v>`.

Every document is rendered once, when the routes are built; the handlers add the caching
headers of kube-openapi's handler (v2) and handler3 (v3): quoted upper-hex sha512 ETags,
304 on If-None-Match / If-Modified-Since, 301 to the current `?hash=`, immutable caching on a
matching hash, 406 when the Accept header allows no JSON. `/openapi/v2` is also served as
gnostic protobuf, which client-go asks for (`protobuf.py`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urlencode

import orjson
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from k8s_aggapi.api import APIGroup
from k8s_aggapi.endpoints.negotiation import parse_accept
from k8s_aggapi.errors import NotAcceptable, PathNotFound
from k8s_aggapi.openapi.documents import build_v2, build_v3
from k8s_aggapi.openapi.protobuf import CONTENT_TYPE, PROTOBUF_TYPES, encode_v2

JSON = "application/json"
_YEAR = timedelta(days=365)


class _Document:
    """Bytes plus the validators a client caches them by."""

    def __init__(self, body: bytes, modified: datetime) -> None:
        self.body = body
        self.hash = hashlib.sha512(body).hexdigest().upper()
        self.etag = f'"{self.hash}"'
        self.last_modified = format_datetime(modified, usegmt=True)
        self.modified = modified.replace(microsecond=0)

    def not_modified(self, request: Request) -> bool:
        """net/http ServeContent's rules: If-None-Match wins over If-Modified-Since."""
        if_none_match = request.headers.get("if-none-match")
        if if_none_match is not None:
            tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
            return "*" in tags or self.etag in tags
        since = request.headers.get("if-modified-since")
        if not since:
            return False
        try:
            return self.modified <= parsedate_to_datetime(since)
        except (TypeError, ValueError):
            return False

    def respond(self, request: Request, headers: dict[str, str],
                media_type: str = JSON) -> Response:
        headers = {**headers, "ETag": self.etag, "Last-Modified": self.last_modified}
        if self.not_modified(request):
            return Response(status_code=304, headers=headers)
        return Response(self.body, headers=headers, media_type=media_type)


def _accepts_json(accept: str) -> bool:
    """Whether some clause with q > 0 names application/json, application/* or */*."""
    return any(r.matches_json() for r in parse_accept(accept))


def _wants_protobuf(accept: str) -> bool:
    """Whether the best acceptable clause is the v2 protobuf (kube-openapi serves both)."""
    for clause in parse_accept(accept):
        if clause.mime in PROTOBUF_TYPES:
            return True
        if clause.matches_json():
            return False
    return False


def _require_json(request: Request) -> None:
    if not _accepts_json(request.headers.get("accept", "")):
        raise NotAcceptable(f"only the following media types are accepted: {JSON}")


def _render(doc: object) -> bytes:
    return orjson.dumps(doc)


class _OpenAPI:
    def __init__(self, groups: Sequence[APIGroup], title: str, version: str) -> None:
        now = datetime.now(UTC)
        v2 = build_v2(groups, title=title, info_version=version)
        self.v2 = _Document(_render(v2), now)
        self.v2_protobuf = _Document(encode_v2(v2), now)
        self.v3: dict[str, _Document] = {}
        for g in groups:
            for v in g.versions:
                doc = build_v3(groups, g.name, v.name, title=title, info_version=version)
                self.v3[f"apis/{g.name}/{v.name}"] = _Document(_render(doc), now)
        self.v3_root = _Document(
            _render({"paths": {key: {"serverRelativeURL": self.url(key)} for key in self.v3}}),
            now,
        )

    def url(self, key: str) -> str:
        return f"/openapi/v3/{key}?{urlencode({'hash': self.v3[key].hash})}"

    async def serve_v2(self, request: Request) -> Response:
        if _wants_protobuf(request.headers.get("accept", "")):
            return self.v2_protobuf.respond(request, {"Vary": "Accept"}, CONTENT_TYPE)
        if not _accepts_json(request.headers.get("accept", "")):
            raise NotAcceptable("only the following media types are accepted: "
                                + ", ".join((JSON, *PROTOBUF_TYPES)))
        return self.v2.respond(request, {"Vary": "Accept"})

    async def serve_v3_root(self, request: Request) -> Response:
        return self.v3_root.respond(request, {})

    async def serve_v3(self, request: Request) -> Response:
        key = f"apis/{request.path_params['group']}/{request.path_params['version']}"
        doc = self.v3.get(key)
        if doc is None:
            raise PathNotFound()
        _require_json(request)
        headers = {"Vary": "Accept"}
        wanted = request.query_params.get("hash")
        if wanted:
            if wanted != doc.hash:
                return RedirectResponse(
                    self.url(key), status_code=301, headers={**headers, "ETag": doc.etag}
                )
            expires = format_datetime(datetime.now(UTC) + _YEAR, usegmt=True)
            headers.update({"Cache-Control": "public, immutable", "Expires": expires})
        return doc.respond(request, headers)


def openapi_routes(
    groups: Sequence[APIGroup], title: str = "k8s-aggapi", version: str = "unversioned"
) -> list[BaseRoute]:
    """The OpenAPI routes for `groups`; `title` and `version` fill each document's `info`."""
    api = _OpenAPI(groups, title, version)
    return [
        Route("/openapi/v2", api.serve_v2, methods=["GET"]),
        Route("/openapi/v3", api.serve_v3_root, methods=["GET"]),
        Route("/openapi/v3/apis/{group}/{version}", api.serve_v3, methods=["GET"]),
    ]
