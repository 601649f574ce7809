"""Query parameters -> ListOptions and dryRun; query or body -> DeleteOptions.

Decoding follows upstream's parameter codec (Go's strconv rules and messages, 400), then
upstream's validation of ListOptions and DeleteOptions (422 with field causes).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

import orjson

from k8s_aggapi import errors
from k8s_aggapi.endpoints import deleteoptions
from k8s_aggapi.errors import BadRequest, go_quote
from k8s_aggapi.registry import validation
from k8s_aggapi.registry.rest import DeleteOptions, ListOptions, Object
from k8s_aggapi.registry.selectors import (
    DEFAULT_FIELDS,
    FieldGetter,
    FieldSelector,
    LabelSelector,
    parse_int64,
)
from k8s_aggapi.registry.validation import forbidden, not_supported

Query = Mapping[str, list[str]]
_DIGITS = re.compile(r"[+-]?[0-9]+")
_UINT64_MAX = 2**64 - 1


def first(query: Query, name: str, default: str = "") -> str:
    values = query.get(name)
    return values[0] if values else default


def query_int(query: Query, name: str) -> int | None:
    """Go's strconv.ParseInt(value, 10, 64) on the first value; None when absent."""
    values = query.get(name)
    if not values:
        return None
    value = parse_int64(values[0])
    if value is None:
        reason = "value out of range" if _DIGITS.fullmatch(values[0]) else "invalid syntax"
        raise BadRequest(f"strconv.ParseInt: parsing {go_quote(values[0])}: {reason}")
    return value


def query_bool(query: Query, name: str) -> bool | None:
    """Upstream's rule: "0" and "false" (any case) are false, any other value is true."""
    values = query.get(name)
    if not values:
        return None
    return not (values[0] == "0" or values[0].lower() == "false")


def resource_version(query: Query) -> str:
    """A resourceVersion must be an unsigned 64-bit number (storage's versioner), or empty."""
    rv = first(query, "resourceVersion")
    if rv in ("", "0"):
        return rv
    if not re.fullmatch(r"[0-9]+", rv) or int(rv) > _UINT64_MAX:
        reason = "value out of range" if re.fullmatch(r"[0-9]+", rv) else "invalid syntax"
        quoted = go_quote(rv)
        raise BadRequest(f"invalid resource version: resourceVersion: Invalid value: {quoted}: "
                         f"strconv.ParseUint: parsing {quoted}: {reason}")
    return rv


def _fields(extra: Mapping[str, Callable[[Object], str]] | None) -> dict[str, FieldGetter]:
    getters: dict[str, FieldGetter] = dict(DEFAULT_FIELDS)
    for name, getter in (extra or {}).items():
        getters[name] = _as_field_getter(getter)
    return getters


def _as_field_getter(getter: Callable[[Object], str]) -> FieldGetter:
    def get(obj: Mapping[str, Any]) -> str:
        return getter(dict(obj))

    return get


def _validate(watch: bool, rv: str, match: str, continue_token: str,
              send_initial: bool | None) -> list[errors.Cause]:
    """apimachinery's ValidateListOptions (with the WatchList feature on, as by default)."""
    path, causes = "resourceVersionMatch", []
    if watch:
        if send_initial is not None and match != "NotOlderThan":
            causes.append(forbidden(path, "sendInitialEvents requires setting "
                                    "resourceVersionMatch to NotOlderThan"))
        if match:
            if send_initial is None:
                causes.append(forbidden(path, "resourceVersionMatch is forbidden for watch "
                                        "unless sendInitialEvents is provided"))
            if match != "NotOlderThan":
                causes.append(not_supported(path, match, ["NotOlderThan"]))
            if continue_token:
                causes.append(forbidden(path, "resourceVersionMatch is forbidden when continue "
                                        "is provided"))
        return causes
    if match:
        if not rv:
            causes.append(forbidden(path, "resourceVersionMatch is forbidden unless "
                                    "resourceVersion is provided"))
        if continue_token:
            causes.append(forbidden(path, "resourceVersionMatch is forbidden when continue is "
                                    "provided"))
        if match not in ("Exact", "NotOlderThan"):
            causes.append(not_supported(path, match, ["Exact", "NotOlderThan", ""]))
        if match == "Exact" and rv == "0":
            causes.append(forbidden(path, 'resourceVersionMatch "exact" is forbidden for '
                                    'resourceVersion "0"'))
    if send_initial is not None:
        causes.append(forbidden("sendInitialEvents", "sendInitialEvents is forbidden for list"))
    return causes


def list_options(
    query: Query,
    fields: Mapping[str, Callable[[Object], str]] | None = None,
    *,
    watch: bool = False,
) -> ListOptions:
    """Decode (400 on what does not parse), then validate (422) as a list or a watch."""
    label_selector = LabelSelector.parse(first(query, "labelSelector"))
    field_selector = FieldSelector.parse(first(query, "fieldSelector"), _fields(fields))
    limit = query_int(query, "limit")
    timeout = query_int(query, "timeoutSeconds")
    send_initial = query_bool(query, "sendInitialEvents")
    bookmarks = query_bool(query, "allowWatchBookmarks")
    continue_token = first(query, "continue")
    match = first(query, "resourceVersionMatch")
    rv = resource_version(query)
    if causes := _validate(watch, rv, match, continue_token, send_initial):
        raise errors.Invalid("ListOptions", "meta.k8s.io", "", causes)
    return ListOptions(
        label_selector=label_selector,
        field_selector=field_selector,
        limit=max(limit or 0, 0),  # upstream pages only when the limit is positive
        continue_token=continue_token,
        resource_version=rv,
        resource_version_match=match,
        timeout_seconds=timeout,
        allow_watch_bookmarks=bool(bookmarks),
        send_initial_events=send_initial,
    )


def selected_name(query: Query) -> str | None:
    """The metadata.name a list or watch's field selector requires, when all its ListOptions
    decode (any field name accepted), else None: request info names the request only then."""
    raw = first(query, "fieldSelector")
    if "metadata.name" not in raw:  # the cheap test first: most lists name nothing
        return None
    try:
        name = FieldSelector.parse(raw, None).requires_exact("metadata.name")
        LabelSelector.parse(first(query, "labelSelector"))
        query_int(query, "limit")
        query_int(query, "timeoutSeconds")
    except BadRequest:
        return None
    return name


def selected_object(query: Query) -> str | None:
    """`selected_name` when it is also a name an object can have in a path: the rule request
    info is resolved with (`request.info.RequestInfoResolver`)."""
    name = selected_name(query)
    return name if name is not None and not validation.path_segment_name(name) else None


def dry_run(query: Query, kind: str = "CreateOptions") -> bool:
    """Validate the options of a write (CreateOptions, UpdateOptions or PatchOptions) as
    apimachinery does, 422 on a refused value; whether it is a dry run."""
    values = list(query.get("dryRun", []))
    causes = []
    manager = first(query, "fieldManager")
    if validation.byte_size(manager) > validation.FIELD_MANAGER_MAX_LENGTH:
        causes.append(validation.too_long("fieldManager", validation.FIELD_MANAGER_MAX_LENGTH))
    at = 0
    for char in manager:
        if not char.isprintable():
            causes.append(validation.invalid(
                "fieldManager", manager,
                f"invalid character U+{ord(char):04X} (at position {at})"))
        at += len(char.encode())
    if any(value != "All" for value in values):
        causes.append(errors.Cause(
            "FieldValueNotSupported",
            f'Unsupported value: {orjson.dumps(values).decode()}: supported values: "All"',
            "dryRun"))
    checking = first(query, "fieldValidation")
    if checking not in ("", "Ignore", "Strict", "Warn"):
        causes.append(not_supported(
            "fieldValidation", checking, ["", "Ignore", "Strict", "Warn"]))
    if kind == "PatchOptions" and "force" in query:
        causes.append(forbidden("force", "may not be specified for non-apply patch"))
    if causes:
        raise errors.Invalid(kind, "meta.k8s.io", "", causes)
    return bool(values)


def delete_options(
    query: Query, body: Mapping[str, Any] | None, api_versions: tuple[str, ...] = ()
) -> DeleteOptions:
    """From the body when there is one, else from the query, as upstream's delete handlers."""
    if body is not None:
        return deleteoptions.from_body(body, api_versions)
    policy = query.get("propagationPolicy")
    return deleteoptions.validated(
        grace=query_int(query, "gracePeriodSeconds"),
        orphan=query_bool(query, "orphanDependents"),
        policy=policy[0] if policy else None,
        dry_run=list(query.get("dryRun", [])),
    )
