"""A DELETE body decoded strictly as metav1.DeleteOptions, then validated as upstream does.

A field of the wrong JSON type is a 400 naming the field and the type it must have (the
decoder's error); a decoded value upstream refuses is a 422 `DeleteOptions.meta.k8s.io`.
Either way nothing is deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from k8s_aggapi import errors
from k8s_aggapi.registry import validation
from k8s_aggapi.registry.rest import DeleteOptions

META_VERSIONS = ("v1", "meta.k8s.io/v1", "meta.k8s.io/v1beta1")
_POLICIES = ("Foreground", "Background", "Orphan")
_INT64 = (-(2**63), 2**63 - 1)


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def _typed(body: Mapping[str, Any], path: str, name: str, expected: str) -> Any:
    """The value of `name` if it has the `expected` JSON type; None when absent or null."""
    value = body.get(name)
    if value is None:
        return None
    actual = _json_type(value)
    if actual != expected:
        raise errors.BadRequest(f'{path}{name} in body must be of type {expected}: "{actual}"')
    if expected == "integer":
        if value > _INT64[1]:
            raise errors.BadRequest(
                f"{path}{name} in body should be less than or equal to {_INT64[1]}")
        if value < _INT64[0]:
            raise errors.BadRequest(
                f"{path}{name} in body should be greater than or equal to {_INT64[0]}")
    return value


def from_body(body: Mapping[str, Any], api_versions: tuple[str, ...]) -> DeleteOptions:
    kind = _typed(body, "", "kind", "string")
    api_version = _typed(body, "", "apiVersion", "string")
    if api_version and api_version not in META_VERSIONS + api_versions:
        raise errors.BadRequest(
            f'no kind "{kind or "DeleteOptions"}" is registered for version "{api_version}"')
    if kind and kind != "DeleteOptions":
        raise errors.BadRequest(
            f'no kind "{kind}" is registered for version "{api_version or "meta.k8s.io/v1"}"')
    pre = _typed(body, "", "preconditions", "object") or {}
    uid = _typed(pre, "preconditions.", "uid", "string")
    rv = _typed(pre, "preconditions.", "resourceVersion", "string")
    dry_run = _typed(body, "", "dryRun", "array") or []
    for i, value in enumerate(dry_run):
        if not isinstance(value, str):
            raise errors.BadRequest(
                f'dryRun[{i}] in body must be of type string: "{_json_type(value)}"')
    _typed(body, "", "ignoreStoreReadErrorWithClusterBreakingPotential", "boolean")
    return validated(
        grace=_typed(body, "", "gracePeriodSeconds", "integer"),
        orphan=_typed(body, "", "orphanDependents", "boolean"),
        policy=_typed(body, "", "propagationPolicy", "string"),
        dry_run=dry_run, uid=uid, resource_version=rv,
    )


def validated(
    *, grace: int | None, orphan: bool | None, policy: str | None, dry_run: list[str],
    uid: str | None = None, resource_version: str | None = None,
) -> DeleteOptions:
    """apimachinery's ValidateDeleteOptions: 422 on a refused combination or value."""
    causes = []
    if orphan is not None and policy is not None:
        causes.append(validation.invalid(
            "propagationPolicy", policy,
            "orphanDependents and deletionPropagation cannot be both set"))
    if policy is not None and policy not in _POLICIES:
        causes.append(validation.not_supported("propagationPolicy", policy, [*_POLICIES, "nil"]))
    if any(value != "All" for value in dry_run):
        listed = orjson.dumps(dry_run).decode()
        causes.append(errors.Cause(
            "FieldValueNotSupported", f'Unsupported value: {listed}: supported values: "All"',
            "dryRun"))
    if causes:
        raise errors.Invalid("DeleteOptions", "meta.k8s.io", "", causes)
    return DeleteOptions(
        preconditions_uid=uid,
        preconditions_resource_version=resource_version,
        grace_period_seconds=grace,
        propagation_policy=policy or "",
        orphan_dependents=orphan,
        dry_run=bool(dry_run),
    )
