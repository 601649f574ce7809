"""Label and field selectors: parse the query strings, match objects, report errors as 400.

Grammar and messages follow k8s.io/apimachinery pkg/labels and pkg/fields.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from k8s_aggapi.errors import BadRequest

_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_TOKEN = re.compile(r"\s*(!=|==|=|!|\(|\)|,|[^\s!=(),]+)")
_SET_OPS = {"in", "notin"}


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        if self.operator in ("=", "in"):
            return present and labels[self.key] in self.values
        return not present or labels[self.key] not in self.values


def _check_key(key: str, selector: str) -> None:
    prefix, _, name = key.rpartition("/")
    ok = bool(name) and len(name) <= 63 and bool(_NAME.match(name))
    ok = ok and (not prefix or (len(prefix) <= 253 and bool(_PREFIX.match(prefix))))
    if not ok:
        raise BadRequest(f'unable to parse requirement: invalid label key "{key}": name part '
                         f"must consist of alphanumeric characters, '-', '_' or '.', and must "
                         f"start and end with an alphanumeric character")


def _check_value(value: str) -> None:
    if len(value) > 63 or not _NAME.match(value):
        raise BadRequest(f'unable to parse requirement: invalid label value: "{value}": '
                         f"a valid label must be an empty string or consist of alphanumeric "
                         f"characters, '-', '_' or '.', and must start and end with an "
                         f"alphanumeric character")


@dataclass(frozen=True)
class LabelSelector:
    requirements: tuple[Requirement, ...] = ()
    source: str = ""

    def empty(self) -> bool:
        return not self.requirements

    def matches(self, labels: Mapping[str, str] | None) -> bool:
        labels = labels or {}
        return all(r.matches(labels) for r in self.requirements)

    @classmethod
    def parse(cls, text: str) -> LabelSelector:
        tokens = [t for t in _TOKEN.findall(text) if t]
        pos = 0
        reqs: list[Requirement] = []

        def peek() -> str:
            return tokens[pos] if pos < len(tokens) else ""

        def fail(msg: str) -> BadRequest:
            return BadRequest(f"unable to parse requirement: {msg}")

        while pos < len(tokens):
            negate = False
            if peek() == "!":
                negate, pos = True, pos + 1
            key = peek()
            if not key or key in ("=", "==", "!=", "(", ")", ","):
                raise fail(f"found '{key}', expected: identifier")
            pos += 1
            _check_key(key, text)
            op = peek().lower() if peek() in ("in", "notin", "IN", "NOTIN") else peek()
            if negate:
                if op not in ("", ","):
                    raise fail(f"found '{op}', expected: ',' or 'end of string'")
                reqs.append(Requirement(key, "!"))
            elif op in ("", ","):
                reqs.append(Requirement(key, "exists"))
            elif op in ("=", "==", "!="):
                pos += 1
                value = peek() if peek() not in (",",) else ""
                if value in ("(", ")", "=", "==", "!=", "!"):
                    raise fail(f"found '{value}', expected: identifier")
                if value:
                    pos += 1
                _check_value(value)
                reqs.append(Requirement(key, "!=" if op == "!=" else "=", (value,)))
            elif op in _SET_OPS:
                pos += 1
                if peek() != "(":
                    raise fail(f"found '{peek()}', expected: '('")
                pos += 1
                values: list[str] = []
                while peek() != ")":
                    tok = peek()
                    if not tok:
                        raise fail("found 'end of string', expected: ')'")
                    if tok != ",":
                        _check_value(tok)
                        values.append(tok)
                    pos += 1
                pos += 1
                reqs.append(Requirement(key, op, tuple(sorted(set(values)))))
            else:
                raise fail(f"found '{op}', expected: in, notin, =, ==, !=, gt, lt")
            if peek() == ",":
                pos += 1
                if pos == len(tokens):
                    raise fail("found 'end of string', expected: identifier")
            elif peek():
                raise fail(f"found '{peek()}', expected: ',' or 'end of string'")
        return cls(tuple(reqs), text)


_FIELD_OPS = (("!=", False), ("==", True), ("=", True))
FieldGetter = Callable[[Mapping[str, Any]], str]

DEFAULT_FIELDS: dict[str, FieldGetter] = {
    "metadata.name": lambda o: str(o.get("metadata", {}).get("name", "")),
    "metadata.namespace": lambda o: str(o.get("metadata", {}).get("namespace", "")),
}


@dataclass(frozen=True)
class FieldSelector:
    terms: tuple[tuple[str, bool, str], ...] = ()  # (field, equal?, value)
    source: str = ""
    getters: Mapping[str, FieldGetter] = field(default_factory=lambda: DEFAULT_FIELDS)

    def empty(self) -> bool:
        return not self.terms

    def requires_exact(self, field_name: str) -> str | None:
        for name, equal, value in self.terms:
            if name == field_name and equal:
                return value
        return None

    def matches(self, obj: Mapping[str, Any]) -> bool:
        return all((self.getters[f](obj) == v) == eq for f, eq, v in self.terms)

    @classmethod
    def parse(cls, text: str, getters: Mapping[str, FieldGetter] = DEFAULT_FIELDS) -> FieldSelector:
        terms = []
        for raw in text.split(","):
            if not raw.strip():
                continue
            found = next(((op, eq) for op, eq in _FIELD_OPS if op in raw), None)
            if found is None:
                raise BadRequest(f"invalid selector: '{text}'; can't understand '{raw}'")
            op, is_equal = found
            key, _, value = raw.partition(op)
            key = key.strip()
            if key not in getters:
                known = ", ".join(f'"{k}"' for k in sorted(getters))
                raise BadRequest(f'"{key}" is not a known field selector: only {known}')
            terms.append((key, is_equal, value.strip()))
        return cls(tuple(terms), text, getters)
