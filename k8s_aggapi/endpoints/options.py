"""Query parameters -> ListOptions, DeleteOptions and dryRun, with 400s for bad values."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from k8s_aggapi.errors import BadRequest
from k8s_aggapi.registry.rest import DeleteOptions, ListOptions, Object
from k8s_aggapi.registry.selectors import (
    DEFAULT_FIELDS,
    FieldGetter,
    FieldSelector,
    LabelSelector,
)

Query = Mapping[str, list[str]]


def first(query: Query, name: str, default: str = "") -> str:
    values = query.get(name)
    return values[0] if values else default


def _int(query: Query, name: str) -> int | None:
    raw = first(query, name)
    if raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        raise BadRequest(f'{name}: Invalid value: "{raw}": must be an integer') from None
    if value < 0:
        raise BadRequest(f"{name}: Invalid value: {value}: must be greater than or equal to 0")
    return value


def _bool(query: Query, name: str) -> bool | None:
    raw = first(query, name)
    if raw == "":
        return None
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise BadRequest(f'{name}: Invalid value: "{raw}": must be a boolean')


def _fields(extra: Mapping[str, Callable[[Object], str]] | None) -> dict[str, FieldGetter]:
    getters: dict[str, FieldGetter] = dict(DEFAULT_FIELDS)
    for name, getter in (extra or {}).items():
        getters[name] = _as_field_getter(getter)
    return getters


def _as_field_getter(getter: Callable[[Object], str]) -> FieldGetter:
    def get(obj: Mapping[str, Any]) -> str:
        return getter(dict(obj))

    return get


def list_options(
    query: Query, fields: Mapping[str, Callable[[Object], str]] | None = None
) -> ListOptions:
    match = first(query, "resourceVersionMatch")
    if match and match not in ("NotOlderThan", "Exact"):
        raise BadRequest(
            f'resourceVersionMatch: Unsupported value: "{match}": supported values: '
            '"Exact", "NotOlderThan"'
        )
    return ListOptions(
        label_selector=LabelSelector.parse(first(query, "labelSelector")),
        field_selector=FieldSelector.parse(first(query, "fieldSelector"), _fields(fields)),
        limit=_int(query, "limit") or 0,
        continue_token=first(query, "continue"),
        resource_version=first(query, "resourceVersion"),
        resource_version_match=match,
        timeout_seconds=_int(query, "timeoutSeconds"),
        allow_watch_bookmarks=bool(_bool(query, "allowWatchBookmarks")),
        send_initial_events=_bool(query, "sendInitialEvents"),
    )


def dry_run(query: Query, body: Mapping[str, Any] | None = None) -> bool:
    values = list(query.get("dryRun", []))
    if body and isinstance(body.get("dryRun"), list):
        values += [str(v) for v in body["dryRun"]]
    for value in values:
        if value != "All":
            raise BadRequest(f'dryRun: Unsupported value: "{value}": supported values: "All"')
    return bool(values)


def delete_options(query: Query, body: Mapping[str, Any] | None) -> DeleteOptions:
    body = body or {}
    pre = body.get("preconditions") or {}
    grace = body.get("gracePeriodSeconds")
    if grace is None:
        grace = _int(query, "gracePeriodSeconds")
    policy = body.get("propagationPolicy") or first(query, "propagationPolicy")
    if policy and policy not in ("Orphan", "Background", "Foreground"):
        raise BadRequest(
            f'propagationPolicy: Unsupported value: "{policy}": supported values: '
            '"Foreground", "Background", "Orphan"'
        )
    return DeleteOptions(
        preconditions_uid=str(pre.get("uid") or ""),
        preconditions_resource_version=str(pre.get("resourceVersion") or ""),
        grace_period_seconds=grace,
        propagation_policy=str(policy or ""),
    )
