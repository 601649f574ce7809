"""Content negotiation: which representation an `Accept` header asks for.

JSON only on the wire. A client may ask for the object itself, a server-side `Table`, or
`PartialObjectMetadata(List)`; a request that accepts only protobuf, CBOR or YAML gets 406.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass

from k8s_aggapi.errors import NotAcceptable, UnsupportedMediaType, UnsupportedPatchType

JSON = "application/json"
META_GROUP = "meta.k8s.io"
META_VERSIONS = ("v1", "v1beta1")


class Target(enum.Enum):
    OBJECT = "object"
    TABLE = "Table"
    PARTIAL = "PartialObjectMetadata"


@dataclass(frozen=True)
class MediaRange:
    type: str
    subtype: str
    params: dict[str, str]
    q: float

    @property
    def mime(self) -> str:
        return f"{self.type}/{self.subtype}"

    def matches_json(self) -> bool:
        return self.type in ("application", "*") and self.subtype in ("json", "*")


def parse_accept(header: str | None) -> list[MediaRange]:
    """Accept clauses with q > 0, best first: by q, then concrete types before wildcards
    (goautoneg's order); otherwise the client's order is kept. No header means `*/*`."""
    ranges = []
    for part in (header or "*/*").split(","):
        pieces = [p.strip() for p in part.split(";")]
        mime = pieces[0].lower()
        if not mime:
            continue
        kind, _, subtype = mime.partition("/")
        params: dict[str, str] = {}
        for piece in pieces[1:]:
            key, _, value = piece.partition("=")
            if key.strip():
                params[key.strip().lower()] = value.strip().strip('"')
        try:
            q = float(params.pop("q", "1"))
        except ValueError:
            q = 0.0
        if q > 0:
            ranges.append(MediaRange(kind, subtype or "*", params, q))
    return sorted(ranges, key=lambda r: (-r.q, r.type == "*", r.subtype == "*"))


@functools.lru_cache(maxsize=512)  # a pure function of the header; clients repeat theirs
def negotiate(accept: str | None, *, is_list: bool) -> Target:
    """Pick the representation for an object (or list) response, or raise 406."""
    if not accept:
        return Target.OBJECT
    partial_kind = "PartialObjectMetadataList" if is_list else "PartialObjectMetadata"
    for media in parse_accept(accept):
        if not media.matches_json():
            continue
        as_kind = media.params.get("as")
        if as_kind is None:
            return Target.OBJECT
        if media.params.get("g") != META_GROUP or media.params.get("v") not in META_VERSIONS:
            continue
        if as_kind == "Table":
            return Target.TABLE
        if as_kind == partial_kind:
            return Target.PARTIAL
    raise NotAcceptable(
        "only the following media types are accepted: application/json, "
        "application/json;as=Table;v=v1;g=meta.k8s.io, "
        f"application/json;as={partial_kind};v=v1;g=meta.k8s.io"
    )


def body_media_type(content_type: str | None, allowed: tuple[str, ...] = (JSON,),
                    default: str | None = JSON) -> str:
    """The media type of a request body (parameters dropped), or 415. No Content-Type at all
    is `default` (upstream's first serializer, JSON; client-go's scale client sends none);
    a patch has no default (its type is the Content-Type)."""
    mime = (content_type or "").split(";")[0].strip().lower()
    if not mime and default is not None:
        return default
    if mime not in allowed:
        if default is None:  # a patch: go-restful refuses the route's Content-Type itself
            raise UnsupportedPatchType()
        raise UnsupportedMediaType(allowed)
    return mime
