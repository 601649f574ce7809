"""The ObjectMeta rules every stored object obeys: upstream's ValidateObjectMetaAccessor (on
create and update) and ValidateObjectMetaAccessorUpdate, with their field paths. The store runs
them after the strategy's own validation and answers 422 Invalid with every cause.
"""

from __future__ import annotations

from typing import Any

from k8s_aggapi.errors import Cause, go_quote
from k8s_aggapi.registry.validation import (
    FIELD_MANAGER_MAX_LENGTH,
    FOREGROUND,
    MAX_SUBRESOURCE_NAME_LENGTH,
    ORPHAN,
    TOTAL_ANNOTATION_SIZE_LIMIT,
    byte_size,
    dns1123_label,
    forbidden,
    invalid,
    label_value,
    not_supported,
    path_segment_name,
    qualified_name,
    required,
    too_long,
)

_BANNED_OWNERS = {("", "v1", "Event")}
_JSON_TYPES = {str: "string", int: "integer", dict: "object", list: "array"}


def _typed(meta: dict[str, Any], key: str, kind: type, causes: list[Cause]) -> Any:
    """`meta[key]` when it has the JSON type the field needs (models guarantee it; raw dicts
    do not), else a cause and None."""
    value = meta.get(key)
    if value is None or isinstance(value, kind):
        return value
    causes.append(invalid(f"metadata.{key}", value, f"must be of type {_JSON_TYPES[kind]}"))
    return None


def _strings(value: Any, path: str, causes: list[Cause]) -> bool:
    if all(isinstance(v, str) for v in value):
        return True
    causes.append(invalid(path, value, "must hold strings only"))
    return False


def validate_object_meta(meta: dict[str, Any], namespaced: bool) -> list[Cause]:
    causes: list[Cause] = []
    generate = _typed(meta, "generateName", str, causes)
    if generate:
        causes += [invalid("metadata.generateName", generate, m)
                   for m in path_segment_name(generate, prefix=True)]
    name = _typed(meta, "name", str, causes)
    if not name:
        causes.append(required("metadata.name", "name or generateName is required"))
    else:
        causes += [invalid("metadata.name", name, m) for m in path_segment_name(name)]
    namespace = _typed(meta, "namespace", str, causes)
    if namespaced and not namespace:
        causes.append(required("metadata.namespace"))
    elif namespaced:
        causes += [invalid("metadata.namespace", namespace, m) for m in dns1123_label(namespace)]
    elif namespace:
        causes.append(forbidden("metadata.namespace", "not allowed on this type"))
    generation = _typed(meta, "generation", int, causes)
    if generation is not None and generation < 0:
        causes.append(invalid("metadata.generation", generation,
                              "must be greater than or equal to 0"))
    _labels(_typed(meta, "labels", dict, causes) or {}, causes)
    _annotations(_typed(meta, "annotations", dict, causes) or {}, causes)
    _owner_references(_typed(meta, "ownerReferences", list, causes) or [], causes)
    _finalizers(_typed(meta, "finalizers", list, causes) or [], causes)
    _managed_fields(_typed(meta, "managedFields", list, causes) or [], causes)
    return causes


def validate_object_meta_update(
    new: dict[str, Any], old: dict[str, Any], namespaced: bool
) -> list[Cause]:
    """All of create's rules, and no new finalizer on an object being deleted. The system
    fields upstream checks for immutability (uid, creationTimestamp...) the store carries over."""
    causes = validate_object_meta(new, namespaced)
    if old.get("deletionTimestamp"):
        before = set(old.get("finalizers") or [])
        extra = sorted({f for f in new.get("finalizers") or [] if isinstance(f, str)} - before)
        if extra:
            shown = "[]string{" + ", ".join(go_quote(f) for f in extra) + "}"
            causes.append(forbidden("metadata.finalizers", "no new finalizers can be added if "
                                    f"the object is being deleted, found new finalizers {shown}"))
    return causes


def _labels(labels: dict[str, Any], causes: list[Cause]) -> None:
    if not _strings(labels.values(), "metadata.labels", causes):
        return
    for key, value in labels.items():
        causes += [invalid("metadata.labels", key, m) for m in qualified_name(key)]
        causes += [invalid("metadata.labels", value, m) for m in label_value(value)]


def _annotations(annotations: dict[str, Any], causes: list[Cause]) -> None:
    if not _strings(annotations.values(), "metadata.annotations", causes):
        return
    for key in annotations:
        # qualified names, except that case does not matter
        causes += [invalid("metadata.annotations", key, m) for m in qualified_name(key.lower())]
    size = sum(byte_size(k) + byte_size(v) for k, v in annotations.items())
    if size > TOTAL_ANNOTATION_SIZE_LIMIT:
        causes.append(too_long("metadata.annotations", TOTAL_ANNOTATION_SIZE_LIMIT))


def _owner_references(refs: list[Any], causes: list[Cause]) -> None:
    controller = ""
    for index, ref in enumerate(refs):
        path = f"metadata.ownerReferences[{index}]"
        if not isinstance(ref, dict):
            causes.append(invalid(path, ref, "must be an object"))
            continue
        api_version = ref.get("apiVersion") or ""
        group, _, version = api_version.rpartition("/") if "/" in api_version else (
            "", "", api_version)
        if not api_version:
            causes.append(required(f"{path}.apiVersion", "must not be empty"))
        elif api_version.count("/") > 1 or not version:
            causes.append(invalid(f"{path}.apiVersion", api_version,
                                  "must be <group>/<version> or <version>"))
        for field in ("kind", "name", "uid"):
            if not ref.get(field):
                causes.append(required(f"{path}.{field}", "must not be empty"))
        kind = ref.get("kind") or ""
        if (group, version, kind) in _BANNED_OWNERS:
            causes.append(invalid(path, ref, f"{group}/{version}, Kind={kind} is disallowed from "
                                             "being an owner"))
        if ref.get("controller") is True:
            current = f"{kind}/{ref.get('name') or ''}"
            if controller:
                causes.append(invalid("metadata.ownerReferences", refs, (
                    'Only one reference can have Controller set to true. Found "true" in '
                    f"references for {controller} and {current}")))
            else:
                controller = current


def _finalizers(finalizers: list[Any], causes: list[Cause]) -> None:
    if not _strings(finalizers, "metadata.finalizers", causes):
        return
    for finalizer in finalizers:
        causes += [invalid("metadata.finalizers", finalizer, m)
                   for m in qualified_name(finalizer)]
    if ORPHAN in finalizers and FOREGROUND in finalizers:
        causes.append(invalid("metadata.finalizers", finalizers,
                              f"finalizer {ORPHAN} and {FOREGROUND} cannot be both set"))


def _managed_fields(entries: list[Any], causes: list[Cause]) -> None:
    for index, entry in enumerate(entries):
        path = f"metadata.managedFields[{index}]"
        if not isinstance(entry, dict):
            causes.append(invalid(path, entry, "must be an object"))
            continue
        operation = entry.get("operation") or ""
        if not operation:
            causes.append(required(f"{path}.operation", "must not be empty"))
        elif operation not in ("Apply", "Update"):
            causes.append(not_supported(f"{path}.operation", operation, ["Apply", "Update"]))
        fields_type = entry.get("fieldsType") or ""
        if fields_type and fields_type != "FieldsV1":
            causes.append(invalid(f"{path}.fieldsType", fields_type, "must be `FieldsV1`"))
        manager = str(entry.get("manager") or "")
        if byte_size(manager) > FIELD_MANAGER_MAX_LENGTH:
            causes.append(too_long(f"{path}.manager", FIELD_MANAGER_MAX_LENGTH))
        position = 0
        for ch in manager:
            if not ch.isprintable():
                causes.append(invalid(f"{path}.manager", manager,
                                      f"invalid character U+{ord(ch):04X} (at position "
                                      f"{position})"))
            position += byte_size(ch)
        if byte_size(str(entry.get("subresource") or "")) > MAX_SUBRESOURCE_NAME_LENGTH:
            causes.append(too_long(f"{path}.subresource", MAX_SUBRESOURCE_NAME_LENGTH))
