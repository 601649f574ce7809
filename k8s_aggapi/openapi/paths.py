"""The operations a resource serves, as k8s.io/apiserver's installer describes them.

One neutral `Operation` per (path, method); `documents.py` writes it as Swagger 2.0 or
OpenAPI 3.0. Operation ids, descriptions, actions and query parameters follow
pkg/endpoints/installer.go and pkg/endpoints/openapi (GetOperationIDAndTags).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from k8s_aggapi.api import EndpointOperation, Resource, Subresource
from k8s_aggapi.openapi.meta import (
    API_RESOURCE_LIST,
    DELETE_OPTIONS,
    PATCH,
    PRETTY_DOC,
    STATUS,
    WATCH_EVENT,
    query_parameters,
)

JSON = "application/json"
WATCH_STREAM = "application/json;stream=watch"
# Strategic merge patch is listed, so kubectl's client-side apply sends one (merging lists by
# the model's merge keys) rather than a JSON merge patch.
PATCH_TYPES = (
    "application/json-patch+json",
    "application/merge-patch+json",
    "application/strategic-merge-patch+json",
    "application/apply-patch+yaml",
)
NAMESPACE_DOC = "object name and auth scope, such as for teams and projects"
WATCH_DOC = (
    "watch changes to an object of kind {kind}. deprecated: use the 'watch' parameter with a "
    "list operation instead, filtered to a single item with the 'fieldSelector' parameter."
)
WATCH_LIST_DOC = (
    "watch individual changes to a list of {kind}. deprecated: use the 'watch' parameter "
    "with a list operation instead."
)

Responses = tuple[tuple[str, str, str], ...]  # (code, description, definition name)


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # "path" | "query"
    type: str
    description: str
    required: bool = False


@dataclass(frozen=True)
class Body:
    ref: str  # definition name
    content_types: tuple[str, ...] = ("*/*",)
    required: bool = True


@dataclass(frozen=True)
class Operation:
    method: str  # get | put | post | patch | delete
    operation_id: str
    description: str
    tag: str
    responses: Responses
    produces: tuple[str, ...] = (JSON,)
    params: tuple[Param, ...] = ()
    body: Body | None = None
    action: str = ""
    gvk: dict[str, str] | None = None


@dataclass
class PathItem:
    operations: list[Operation] = field(default_factory=list)

    def shared_params(self) -> list[Param]:
        """Parameters every operation has: written once at the path level, as upstream."""
        if not self.operations:
            return []
        first, *rest = self.operations
        return [p for p in first.params if all(p in op.params for op in rest)]


def operation_id_part(s: str, capitalize: bool) -> str:
    """ToValidOperationID: keep letters (and inner digits), capitalize after the rest."""
    out: list[str] = []
    upper = capitalize
    for i, ch in enumerate(s):
        if ch.isalpha() or ch == "_" or (i and ch.isdigit()):
            out.append(ch.upper() if upper else ch)
            upper = False
        else:
            upper = True
    return "".join(out)


def _article(noun: str) -> str:
    if noun.endswith("s") and not noun.endswith("ss"):
        return " "
    return " an " if noun[:1].lower() in "aeiou" else " a "


def _query(options: str, exclude: tuple[str, ...] = ()) -> tuple[Param, ...]:
    return tuple(
        Param(p["name"], "query", p["type"], p["description"])
        for p in query_parameters(options)
        if p["name"] not in exclude
    )


def _ok(ref: str, *extra: str) -> Responses:
    texts = {"201": "Created", "202": "Accepted"}
    return (("200", "OK", ref), *((code, texts[code], ref) for code in extra))


def _group_parts(group: str) -> tuple[str, str]:
    trimmed = group.removesuffix(".k8s.io") if group else "core"
    return operation_id_part(trimmed, True), operation_id_part(trimmed, False)


@dataclass(frozen=True)
class _Scope:
    """What every operation of one resource shares: names, refs, path prefix."""

    resource: Resource
    item_ref: str
    list_ref: str
    sub: Subresource | None = None  # the subresource whose kind the operations answer with

    @property
    def base(self) -> str:
        r = self.resource
        return f"/apis/{r.group}/{r.version}" if r.group else f"/api/{r.version}"

    @property
    def ns(self) -> tuple[Param, ...]:
        if not self.resource.info.namespaced:
            return ()
        return (Param("namespace", "path", "string", NAMESPACE_DOC, True),)

    @property
    def name(self) -> tuple[Param, ...]:
        kind = self.sub.kind if self.sub is not None else self.resource.info.kind
        return (Param("name", "path", "string", f"name of the {kind}", True),)

    def op(
        self,
        path: str,
        verb: str,
        rest: str,
        *,
        method: str,
        action: str,
        description: str,
        responses: Responses,
        params: tuple[Param, ...] = (),
        body: Body | None = None,
        produces: tuple[str, ...] = (JSON,),
    ) -> tuple[str, Operation]:
        r = self.resource
        group_id, tag = _group_parts(r.group)
        return path, Operation(
            method=method,
            operation_id=verb + group_id + operation_id_part(r.version, True) + rest,
            description=description,
            tag=f"{tag}_{operation_id_part(r.version, False)}",
            responses=responses,
            produces=produces,
            params=(*params, Param("pretty", "query", "string", PRETTY_DOC)),
            body=body,
            action=action,
            gvk={"group": self.sub.group, "version": self.sub.version, "kind": self.sub.kind}
            if self.sub is not None
            else {"group": r.group, "version": r.version, "kind": r.info.kind},
        )

    def operations(self) -> Iterator[tuple[str, Operation]]:
        info, verbs = self.resource.info, set(self.resource.verbs)
        kind, ns, name = info.kind, self.ns, self.name
        scoped = "Namespaced" if info.namespaced else ""
        ns_path = "namespaces/{namespace}/" if info.namespaced else ""
        collection = f"{self.base}/{ns_path}{info.plural}"
        item = f"{collection}/{{name}}"
        watch = "watch" in verbs
        streams = (JSON, WATCH_STREAM) if watch else (JSON,)
        list_doc = f"list {'or watch ' if watch else ''}objects of kind {kind}"
        lists = [(collection, scoped, "", ns)]
        if info.namespaced:
            lists.append((f"{self.base}/{info.plural}", "", "ForAllNamespaces", ()))
        if "list" in verbs:
            for path, prefix, suffix, scope in lists:
                yield self.op(
                    path,
                    "list",
                    prefix + kind + suffix,
                    method="get",
                    action="list",
                    description=list_doc,
                    params=scope + _query("list"),
                    responses=_ok(self.list_ref),
                    produces=streams,
                )
        if "create" in verbs:
            yield self.op(
                collection,
                "create",
                scoped + kind,
                method="post",
                action="post",
                description=f"create{_article(kind)}{kind}",
                params=ns + _query("create"),
                body=Body(self.item_ref),
                responses=_ok(self.item_ref, "201", "202"),
            )
        if "deletecollection" in verbs:
            params = ns + _query("delete") + _query("list", ("watch", "allowWatchBookmarks"))
            yield self.op(
                collection,
                "delete",
                "Collection" + scoped + kind,
                method="delete",
                action="deletecollection",
                description=f"delete collection of {kind}",
                params=params,
                body=Body(DELETE_OPTIONS, required=False),
                responses=_ok(STATUS),
            )
        yield from self.item_operations(item, scoped + kind, "", verbs)
        if "delete" in verbs:
            yield self.op(
                item,
                "delete",
                scoped + kind,
                method="delete",
                action="delete",
                description=f"delete{_article(kind)}{kind}",
                params=ns + name + _query("delete"),
                body=Body(DELETE_OPTIONS, required=False),
                responses=_ok(STATUS, "202"),
            )
        if watch:
            yield self.op(
                f"{self.base}/watch/{ns_path}{info.plural}/{{name}}",
                "watch",
                scoped + kind,
                method="get",
                action="watch",
                description=WATCH_DOC.format(kind=kind),
                params=ns + name + _query("list"),
                responses=_ok(WATCH_EVENT),
                produces=streams,
            )
            for path, prefix, suffix, scope in lists:
                watch_path = path.replace(self.base + "/", self.base + "/watch/", 1)
                yield self.op(
                    watch_path,
                    "watch",
                    prefix + kind + "List" + suffix,
                    method="get",
                    action="watchlist",
                    description=WATCH_LIST_DOC.format(kind=kind),
                    params=scope + _query("list"),
                    responses=_ok(WATCH_EVENT),
                    produces=streams,
                )

    def item_operations(
        self, path: str, rest: str, sub: str, verbs: set[str]
    ) -> Iterator[tuple[str, Operation]]:
        """get, update and patch of an object (or of its subresource `sub`)."""
        kind, params = self.resource.info.kind, self.ns + self.name
        what = f"{sub} of the specified {kind}" if sub else f"the specified {kind}"
        if "get" in verbs:
            yield self.op(
                path,
                "read",
                rest,
                method="get",
                action="get",
                description=f"read {what}",
                params=params,
                responses=_ok(self.item_ref),
            )
        if "update" in verbs:
            yield self.op(
                path,
                "replace",
                rest,
                method="put",
                action="put",
                description=f"replace {what}",
                params=params + _query("update"),
                body=Body(self.item_ref),
                responses=_ok(self.item_ref, "201"),
            )
        if "patch" in verbs:
            yield self.op(
                path,
                "patch",
                rest,
                method="patch",
                action="patch",
                description=f"partially update {what}",
                params=params + _query("patch"),
                body=Body(PATCH, PATCH_TYPES),
                responses=_ok(self.item_ref, "201"),
            )


def resource_paths(resource: Resource, item_ref: str, list_ref: str) -> dict[str, PathItem]:
    """The paths of one resource, by URL template."""
    return _paths(_Scope(resource, item_ref, list_ref).operations())


def subresource_paths(resource: Resource, sub: Subresource, item_ref: str) -> dict[str, PathItem]:
    """The paths of `<plural>/<sub>`: get, update and patch of `item_ref`, as served."""
    scope = _Scope(resource, item_ref, item_ref, sub)
    info = resource.info
    ns_path = "namespaces/{namespace}/" if info.namespaced else ""
    path = f"{scope.base}/{ns_path}{info.plural}/{{name}}/{sub.name}"
    scoped = ("Namespaced" if info.namespaced else "") + info.kind
    return _paths(scope.item_operations(
        path, scoped + operation_id_part(sub.name, True), sub.name, set(sub.verbs)))


def _paths(ops: Iterator[tuple[str, Operation]]) -> dict[str, PathItem]:
    paths: dict[str, PathItem] = {}
    for path, op in ops:
        paths.setdefault(path, PathItem()).operations.append(op)
    return paths


def discovery_path(group: str, version: str) -> tuple[str, PathItem]:
    """`GET /apis/<g>/<v>/`: the APIResourceList every group version documents."""
    group_id, tag = _group_parts(group)
    op = Operation(
        method="get",
        operation_id=f"get{group_id}{operation_id_part(version, True)}APIResources",
        description="get available resources",
        tag=f"{tag}_{operation_id_part(version, False)}",
        responses=_ok(API_RESOURCE_LIST),
    )
    return f"/apis/{group}/{version}/", PathItem([op])


def endpoint_paths(group: str, version: str,
                   operations: list[EndpointOperation]) -> dict[str, PathItem]:
    """The GETs of a documented `VersionEndpoint` (custom metrics), ids and tags as
    GetOperationIDAndTags makes them from the installer's operation names."""
    group_id, tag = _group_parts(group)
    version_id = operation_id_part(version, True)
    paths: dict[str, PathItem] = {}
    for op in operations:
        verb = next(v for v in ("list", "read", "get", "watch") if op.operation.startswith(v))
        rest = op.operation.removeprefix(verb)
        params = [Param(name, "path", "string", doc, required=True)
                  for name, doc in op.path_params]
        query = _query("list", exclude=("pretty",)) if op.list_options else ()
        extra = tuple(Param(name, "query", "string", doc) for name, doc in op.query_params
                      if name not in {q.name for q in query})
        params += [*query, *extra, Param("pretty", "query", "string", PRETTY_DOC)]
        paths.setdefault(f"/apis/{group}/{version}/{op.path}", PathItem()).operations.append(
            Operation(method="get", description=op.description, params=tuple(params),
                      operation_id=f"{verb}{group_id}{version_id}{operation_id_part(rest, True)}",
                      tag=f"{tag}_{operation_id_part(version, False)}",
                      responses=_ok(op.response), produces=(JSON,)))
    return paths
