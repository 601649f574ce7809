"""Label and field selectors: parse the query strings, match objects, report errors as 400.

The lexer, grammar (`=`, `==`, `!=`, `in`, `notin`, `!`, `>`, `<`), value checks and messages
follow k8s.io/apimachinery pkg/labels/selector.go and pkg/fields/selector.go.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from k8s_aggapi.errors import BadRequest, go_quote
from k8s_aggapi.registry.validation import label_value, qualified_name

_BINARY_OPERATORS = "in, notin, =, ==, !=, gt, lt"
_INT64 = (-(2**63), 2**63 - 1)


def parse_int64(text: str) -> int | None:
    """Go's strconv.ParseInt(text, 10, 64): None when it is not a base-10 int64."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        return None
    value = int(text)
    return value if _INT64[0] <= value <= _INT64[1] else None


@dataclass(frozen=True)
class Requirement:
    key: str
    operator: str  # "=", "!=", "in", "notin", "exists", "!", "gt", "lt"
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        present = self.key in labels
        if self.operator == "exists":
            return present
        if self.operator == "!":
            return not present
        if self.operator in ("=", "in"):
            return present and labels[self.key] in self.values
        if self.operator in ("gt", "lt"):
            have = parse_int64(labels[self.key]) if present else None
            want = parse_int64(self.values[0]) if len(self.values) == 1 else None
            if have is None or want is None:
                return False
            return have > want if self.operator == "gt" else have < want
        return not present or labels[self.key] not in self.values


def _requirement(key: str, op: str, values: list[str]) -> Requirement:
    """NewRequirement's checks of the values, with its field paths (the key is checked by
    the parser)."""
    errs = []
    if op in ("gt", "lt"):
        errs += [f"values[{i}]: Invalid value: {go_quote(v)}: for 'Gt', 'Lt' operators, the value "
                 "must be an integer" for i, v in enumerate(values) if parse_int64(v) is None]
    for i, value in enumerate(values):
        if problems := label_value(value):
            errs.append(f"values[{i}][{key}]: Invalid value: {go_quote(value)}: "
                        + "; ".join(problems))
    if errs:
        raise ValueError(errs[0] if len(errs) == 1 else "[" + ", ".join(errs) + "]")
    canonical = "=" if op == "==" else op
    return Requirement(key, canonical, tuple(values))


_TOKENS = frozenset({")", ",", "!", "==", "=", ">", "in", "<", "!=", "notin", "("})
# upstream's Lexer: whitespace is only space, tab, CR and LF; at a special character the longest
# operator wins (only `!=` and `==` are two characters long); anything else is an identifier
_LEXEME = re.compile(r"[ \t\r\n]*(?:(!=|==|[=!(),><])|([^ \t\r\n=!(),><]+))")
ID, END = "identifier", "end"
Token = tuple[str, str]  # (kind, literal): kind is ID, END or the operator itself


def lex(text: str) -> list[Token]:
    tokens: list[Token] = []
    for operator, word in _LEXEME.findall(text):
        if operator:
            tokens.append((operator, operator))
        elif word:
            tokens.append((word if word in _TOKENS else ID, word))
    tokens.append((END, ""))
    return tokens


class _Parser:
    def __init__(self, text: str) -> None:
        self.items = lex(text)
        self.pos = 0

    def peek(self, values: bool = True) -> Token:
        kind, lit = self.items[self.pos]
        return (ID, lit) if values and kind in ("in", "notin") else (kind, lit)

    def take(self, values: bool = True) -> Token:
        token = self.peek(values)
        self.pos += 1
        return token

    def parse(self) -> list[Requirement]:
        reqs: list[Requirement] = []
        while True:
            kind, lit = self.peek()
            if kind == END:
                return reqs
            if kind not in (ID, "!"):
                raise ValueError(f"found '{lit}', expected: !, identifier, or 'end of string'")
            try:
                reqs.append(self.requirement())
            except ValueError as exc:
                raise ValueError(f"unable to parse requirement: {exc}") from None
            kind, lit = self.take()
            if kind == END:
                return reqs
            if kind != ",":
                raise ValueError(f"found '{lit}', expected: ',' or 'end of string'")
            kind, lit = self.peek()
            if kind not in (ID, "!"):
                raise ValueError(f"found '{lit}', expected: identifier after ','")

    def requirement(self) -> Requirement:
        kind, key = self.take()
        negated = kind == "!"
        if negated:
            kind, key = self.take()
        if kind != ID:
            raise ValueError(f"found '{key}', expected: identifier")
        if problems := qualified_name(key):
            raise ValueError(f"<nil>: Invalid value: {go_quote(key)}: " + "; ".join(problems))
        if negated or self.peek()[0] in (END, ","):
            # `!key` takes no operator: whatever follows is the caller's to refuse
            return Requirement(key, "!" if negated else "exists")
        op, lit = self.take(values=False)
        ops = {"in": "in", "notin": "notin", "=": "=", "==": "==", "!=": "!=", ">": "gt",
               "<": "lt"}
        if op not in ops:
            raise ValueError(f"found '{lit}', expected: {_BINARY_OPERATORS}")
        values = self.set_values() if op in ("in", "notin") else self.exact_value()
        return _requirement(key, ops[op], sorted(values))

    def exact_value(self) -> set[str]:
        if self.peek()[0] in (END, ","):
            return {""}
        kind, lit = self.take()
        if kind != ID:
            raise ValueError(f"found '{lit}', expected: identifier")
        return {lit}

    def set_values(self) -> set[str]:
        kind, lit = self.take()
        if kind != "(":
            raise ValueError(f"found '{lit}' expected: '('")
        kind, lit = self.peek()
        if kind == ")":
            self.take()
            return {""}
        if kind not in (ID, ","):
            raise ValueError(f"found '{lit}', expected: ',', ')' or identifier")
        values: set[str] = set()
        while True:
            kind, value = self.take()
            if kind == ID:
                values.add(value)
                after, lit2 = self.peek()
                if after == ")":
                    break
                if after != ",":
                    raise ValueError(f"found '{lit2}', expected: ',' or ')'")
            elif kind == ",":
                after = self.peek()[0]
                if not values or after in (")", ","):
                    values.add("")
                if after == ")":
                    break
            else:
                raise ValueError(f"found '{value}', expected: ',', or identifier")
        if self.take()[0] != ")":
            raise ValueError(f"found '{lit}', expected: ')'")
        return values


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
        try:
            reqs = _Parser(text).parse()
        except ValueError as exc:
            raise BadRequest(str(exc)) from None
        return cls(tuple(sorted(reqs, key=lambda r: r.key)), text)


FieldGetter = Callable[[Mapping[str, Any]], str]

DEFAULT_FIELDS: dict[str, FieldGetter] = {
    "metadata.name": lambda o: str(o.get("metadata", {}).get("name", "")),
    "metadata.namespace": lambda o: str(o.get("metadata", {}).get("namespace", "")),
}


def _split_terms(text: str) -> list[str]:
    terms, start, escaped = [], 0, False
    for i, char in enumerate(text):
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == ",":
            terms.append(text[start:i])
            start = i + 1
    return [*terms, text[start:]] if text else []


def _unescape(value: str) -> str:
    out, escaped = [], False
    for char in value:
        if escaped:
            if char not in "\\,=":
                raise BadRequest(f"invalid field selector: invalid escape sequence: \\{char}")
            out.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in ",=":
            # Go prints the rune as its code point
            raise BadRequest(f"invalid field selector: unescaped character in value: {ord(char)}")
        else:
            out.append(char)
    if escaped:
        raise BadRequest("invalid field selector: invalid escape sequence: \\")
    return "".join(out)


@dataclass(frozen=True)
class FieldSelector:
    terms: tuple[tuple[str, bool, str], ...] = ()  # (field, equal?, value), sorted as upstream
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
    def one_term(cls, name: str, value: str, getters: Mapping[str, FieldGetter]) -> FieldSelector:
        return cls(((name, True, value),), f"{name}={value}", getters)

    @classmethod
    def parse(
        cls, text: str, getters: Mapping[str, FieldGetter] | None = DEFAULT_FIELDS
    ) -> FieldSelector:
        """`getters=None` accepts any field name (request info reads selectors before the
        resource is known, as upstream does)."""
        terms = []
        for raw in sorted(_split_terms(text)):
            if not raw:
                continue
            i = raw.find("=")
            if i < 0:
                raise BadRequest(f"invalid selector: '{text}'; can't understand '{raw}'")
            op = "="
            if i > 0 and raw[i - 1] == "!":
                i, op = i - 1, "!="
            elif raw.startswith("==", i):
                op = "=="
            key, value = raw[:i], _unescape(raw[i + len(op):])
            if getters is not None and key not in getters:
                known = ", ".join(f'"{k}"' for k in sorted(getters))
                raise BadRequest(f'"{key}" is not a known field selector: only {known}')
            terms.append((key, op != "!=", value))
        return cls(tuple(terms), text, getters if getters is not None else DEFAULT_FIELDS)
