"""Label and field selectors of a list/watch as SubjectAccessReview requirements, so RBAC-like
authorizers can allow a narrowed request (upstream's authorization-selectors conversion).

A selector that does not parse is left out: requirements only narrow, so leaving one out asks
about the broader request, which is the safe direction.
"""

from __future__ import annotations

from typing import Any

from k8s_aggapi.errors import BadRequest
from k8s_aggapi.registry.selectors import LabelSelector

_LABEL_OPERATORS = {"=": "In", "in": "In", "!=": "NotIn", "notin": "NotIn",
                    "exists": "Exists", "!": "DoesNotExist"}
_FIELD_OPERATORS = ("!=", "==", "=")


def label_requirements(selector: str) -> list[dict[str, Any]]:
    try:
        parsed = LabelSelector.parse(selector)
    except BadRequest:
        return []
    out: list[dict[str, Any]] = []
    for req in sorted(parsed.requirements, key=lambda r: r.key):
        operator = _LABEL_OPERATORS.get(req.operator)
        if operator is None:
            continue
        entry: dict[str, Any] = {"key": req.key, "operator": operator}
        if req.values:
            entry["values"] = list(req.values)
        out.append(entry)
    return out


def _split_unescaped(text: str, sep: str) -> list[str]:
    parts, current, escaped = [], "", False
    for char in text:
        if escaped:
            current, escaped = current + "\\" + char, False
        elif char == "\\":
            escaped = True
        elif char == sep:
            parts.append(current)
            current = ""
        else:
            current += char
    parts.append(current + ("\\" if escaped else ""))
    return parts


def _unescape(value: str) -> str | None:
    out, escaped = "", False
    for char in value:
        if escaped:
            if char not in "\\,=":
                return None
            out, escaped = out + char, False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            return None
        else:
            out += char
    return None if escaped else out


def field_requirements(selector: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for term in sorted(_split_unescaped(selector, ",")):
        if not term:
            continue
        for i in range(len(term)):
            op = next((o for o in _FIELD_OPERATORS if term.startswith(o, i)), None)
            if op is not None:
                value = _unescape(term[i + len(op):])
                if value is None:
                    return []
                operator = "NotIn" if op == "!=" else "In"
                out.append({"key": term[:i], "operator": operator, "values": [value]})
                break
        else:
            return []
    return out
