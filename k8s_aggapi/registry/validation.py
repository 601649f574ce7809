"""ObjectMeta validation, as apimachinery's pkg/api/validation/objectmeta.go and
pkg/apis/meta/v1/validation do it: names, labels, annotations, finalizers, owner references and
managed fields, with upstream's messages and field paths. The store runs it on every write.
"""

from __future__ import annotations

import re
from typing import Any

import orjson

from k8s_aggapi.errors import Cause, go_quote

TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024  # TotalAnnotationSizeLimitB
FIELD_MANAGER_MAX_LENGTH = 128
MAX_SUBRESOURCE_NAME_LENGTH = 256
ORPHAN, FOREGROUND = "orphan", "foregroundDeletion"  # FinalizerOrphanDependents, ...Delete...

_LABEL_KEY_FMT = "([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_LABEL_KEY_MSG = ("must consist of alphanumeric characters, '-', '_' or '.', and must start and "
                  "end with an alphanumeric character")
_LABEL_VALUE_MSG = ("a valid label must be an empty string or consist of alphanumeric "
                    "characters, '-', '_' or '.', and must start and end with an alphanumeric "
                    "character")
_DNS_LABEL_FMT = "[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN_FMT = _DNS_LABEL_FMT + "(\\." + _DNS_LABEL_FMT + ")*"
_DNS_LABEL_MSG = ("a lowercase RFC 1123 label must consist of lower case alphanumeric characters "
                  "or '-', and must start and end with an alphanumeric character")
_DNS_SUBDOMAIN_MSG = ("a lowercase RFC 1123 subdomain must consist of lower case alphanumeric "
                      "characters, '-' or '.', and must start and end with an alphanumeric "
                      "character")
_LABEL_KEY = re.compile(_LABEL_KEY_FMT)
# a whole valid qualified name at once: the common case costs one match
_QUALIFIED = re.compile(f"(?:{_DNS_SUBDOMAIN_FMT}/)?{_LABEL_KEY_FMT}")
_DNS_LABEL = re.compile(_DNS_LABEL_FMT)
_DNS_SUBDOMAIN = re.compile(_DNS_SUBDOMAIN_FMT)



# messages, as apimachinery's field errors print them ------------------------------------
def _shown(value: Any) -> str:
    if isinstance(value, str):
        return go_quote(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    return orjson.dumps(value, default=str).decode()


def invalid(path: str, value: Any, detail: str) -> Cause:
    return Cause("FieldValueInvalid", f"Invalid value: {_shown(value)}: {detail}", path)


def required(path: str, detail: str = "") -> Cause:
    return Cause("FieldValueRequired", "Required value" + (f": {detail}" if detail else ""), path)


def forbidden(path: str, detail: str) -> Cause:
    return Cause("FieldValueForbidden", f"Forbidden: {detail}", path)


def too_long(path: str, limit: int) -> Cause:
    return Cause("FieldValueTooLong", f"Too long: may not be more than {limit} bytes", path)


def not_supported(path: str, value: Any, supported: list[str]) -> Cause:
    listed = ", ".join(go_quote(s) for s in supported)
    return Cause("FieldValueNotSupported",
                 f"Unsupported value: {_shown(value)}: supported values: {listed}", path)


def _regex_error(msg: str, fmt: str, *examples: str) -> str:
    """Upstream's RegexError, spacing included: each example is followed by "', "."""
    if not examples:
        return f"{msg} (regex used for validation is '{fmt}')"
    shown = " or ".join(f"'{e}', " for e in examples)
    return f"{msg} (e.g. {shown}regex used for validation is '{fmt}')"


def byte_size(text: str) -> int:
    """Go's len(): bytes, not characters."""
    return len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))


# formats (apimachinery's content and util/validation packages) -----------------------------
def dns1123_label(value: str) -> list[str]:
    errs = []
    if byte_size(value) > 63:
        errs.append("must be no more than 63 characters")
    if not _DNS_LABEL.fullmatch(value):
        if _DNS_SUBDOMAIN.fullmatch(value):
            errs.append("must not contain dots")
        else:
            errs.append(_regex_error(_DNS_LABEL_MSG, _DNS_LABEL_FMT, "my-name", "123-abc"))
    return errs


def dns1123_subdomain(value: str) -> list[str]:
    errs = []
    if byte_size(value) > 253:
        errs.append("must be no more than 253 bytes")
    if not _DNS_SUBDOMAIN.fullmatch(value):
        errs.append(_regex_error(_DNS_SUBDOMAIN_MSG, _DNS_SUBDOMAIN_FMT, "example.com"))
    return errs


def qualified_name(value: str) -> list[str]:
    """A label key: an optional DNS subdomain prefix and '/', then a name of 63 bytes."""
    if _QUALIFIED.fullmatch(value) and len(value) <= 63 + 1 + 253:
        prefix, _, name = value.rpartition("/")
        if len(name) <= 63 and len(prefix) <= 253:
            return []
    name_error = _regex_error(_LABEL_KEY_MSG, _LABEL_KEY_FMT, "MyName", "my.name", "123-abc")
    parts = value.split("/")
    if len(parts) > 2:
        return [f"a valid label key {name_error} with an optional DNS subdomain prefix and '/' "
                "(e.g. 'example.com/MyName')"]
    errs = []
    name = parts[-1]
    if len(parts) == 2:
        if not parts[0]:
            errs.append("prefix part must be non-empty")
        else:
            errs.extend("prefix part " + m for m in dns1123_subdomain(parts[0]))
    if not name:
        errs.append("name part must be non-empty")
    elif byte_size(name) > 63:
        errs.append("name part must be no more than 63 bytes")
    if not _LABEL_KEY.fullmatch(name):
        errs.append("name part " + name_error)
    return errs


def label_value(value: str) -> list[str]:
    errs = []
    if byte_size(value) > 63:
        errs.append("must be no more than 63 bytes")
    if value and not _LABEL_KEY.fullmatch(value):
        errs.append(_regex_error(_LABEL_VALUE_MSG, f"({_LABEL_KEY_FMT})?",
                                 "MyValue", "my_value", "12345"))
    return errs


def path_segment_name(name: str, prefix: bool = False) -> list[str]:
    """What a name needs to be a safe path segment (and storage key) at all."""
    if not prefix and name in (".", ".."):
        return [f"may not be '{name}'"]
    return [f"may not contain '{bad}'" for bad in ("/", "%") if bad in name]
