"""The Go templates of prometheus-adapter's rules (`<<` and `>>` delimiters), the small part
its configurations use: `<<.Field>>` and `<<index .Map "key">>`. Anything else is refused when
the configuration loads, not when a query runs."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_ACTION = re.compile(r"<<-?\s*(.*?)\s*-?>>", re.S)
_FIELD = re.compile(r"\.([A-Za-z_][A-Za-z0-9_]*)")
_INDEX = re.compile(r'index\s+\.([A-Za-z_][A-Za-z0-9_]*)\s+"((?:[^"\\]|\\.)*)"')


def _go_value(value: Any) -> str:
    """How text/template prints a value: slices as `[a b]`, maps as `map[k:v]`."""
    if isinstance(value, list | tuple):
        return "[" + " ".join(_go_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "map[" + " ".join(f"{k}:{_go_value(value[k])}" for k in sorted(value)) + "]"
    return str(value)


@dataclass(frozen=True)
class Template:
    source: str
    fields: frozenset[str]

    @classmethod
    def parse(cls, source: str, fields: frozenset[str]) -> Template:
        for action in _ACTION.findall(source):
            if (m := _INDEX.fullmatch(action)) or (m := _FIELD.fullmatch(action)):
                name = m.group(1)
            else:
                raise ValueError(f"unsupported template action <<{action}>> in {source!r}")
            if name not in fields:
                raise ValueError(f"template {source!r}: no field {name} (known: "
                                 f"{', '.join(sorted(fields))})")
        return cls(source, fields)

    def render(self, values: Mapping[str, Any]) -> str:
        def action(match: re.Match[str]) -> str:
            text = match.group(1)
            if m := _INDEX.fullmatch(text):
                mapping = values[m.group(1)]
                return _go_value(mapping.get(m.group(2).encode().decode("unicode_escape"), ""))
            m = _FIELD.fullmatch(text)
            assert m is not None
            return _go_value(values[m.group(1)])

        return _ACTION.sub(action, self.source)
