"""Go's encoding/json syntax errors, word for word, for bodies and tokens we cannot parse.

Upstream checks a document with its scanner before decoding it, so a client sent `invalid
character 'b' looking for beginning of object key string` (or `unexpected end of JSON input`);
`syntax_error(data)` walks the bytes as that scanner does and returns the same words.
"""

from __future__ import annotations

_SPACE = b" \t\r\n"
_LITERALS = {ord("t"): b"true", ord("f"): b"false", ord("n"): b"null"}


def quote_char(c: int) -> str:
    """Go's quoteChar: `'x'`, `'\\''`, `'"'`, or the escaped form (`'\\x01'`, `'·'`)."""
    if c == ord("'"):
        return "'\\''"
    if c == ord('"'):
        return "'\"'"
    ch = chr(c)
    if ch.isprintable():
        return f"'{ch}'"
    escapes = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t",
               "\v": "\\v"}
    backslash = "\\"
    shown = escapes.get(ch) or (f"{backslash}x{c:02x}" if c < 0x80 else f"{backslash}u{c:04x}")
    return f"'{shown}'"


class _Error(Exception):
    pass


def _invalid(c: int, context: str) -> _Error:
    return _Error(f"invalid character {quote_char(c)} {context}")


class _Scanner:
    def __init__(self, data: bytes) -> None:
        self.data, self.i = data, 0

    def peek(self) -> int:
        if self.i >= len(self.data):
            raise _Error("unexpected end of JSON input")
        return self.data[self.i]

    def skip_space(self) -> int:
        while self.i < len(self.data) and self.data[self.i] in _SPACE:
            self.i += 1
        return self.peek()

    def value(self, context: str = "looking for beginning of value") -> None:
        c = self.skip_space()
        if c == ord("{"):
            self.i += 1
            self.object()
        elif c == ord("["):
            self.i += 1
            self.array()
        elif c == ord('"'):
            self.i += 1
            self.string()
        elif c == ord("-") or ord("0") <= c <= ord("9"):
            self.number()
        elif c in _LITERALS:
            self.literal(_LITERALS[c])
        else:
            raise _invalid(c, context)

    def object(self) -> None:
        c = self.skip_space()
        if c == ord("}"):
            self.i += 1
            return
        while True:
            if c != ord('"'):
                raise _invalid(c, "looking for beginning of object key string")
            self.i += 1
            self.string()
            c = self.skip_space()
            if c != ord(":"):
                raise _invalid(c, "after object key")
            self.i += 1
            self.value()
            c = self.skip_space()
            self.i += 1
            if c == ord("}"):
                return
            if c != ord(","):
                raise _invalid(c, "after object key:value pair")
            c = self.skip_space()

    def array(self) -> None:
        c = self.skip_space()
        if c == ord("]"):
            self.i += 1
            return
        while True:
            self.value()
            c = self.skip_space()
            self.i += 1
            if c == ord("]"):
                return
            if c != ord(","):
                raise _invalid(c, "after array element")

    def string(self) -> None:
        while True:
            c = self.peek()
            self.i += 1
            if c == ord('"'):
                return
            if c < 0x20:
                raise _invalid(c, "in string literal")
            if c == ord("\\"):
                c = self.peek()
                self.i += 1
                if c == ord("u"):
                    for _ in range(4):
                        h = self.peek()
                        if chr(h) not in "0123456789abcdefABCDEF":
                            raise _invalid(h, "in \\u hexadecimal character escape")
                        self.i += 1
                elif chr(c) not in '"\\/bfnrt':
                    raise _invalid(c, "in string escape code")

    def digits(self) -> int:
        start = self.i
        while self.i < len(self.data) and ord("0") <= self.data[self.i] <= ord("9"):
            self.i += 1
        return self.i - start

    def number(self) -> None:
        if self.data[self.i] == ord("-"):
            self.i += 1
            c = self.peek()
            if not ord("0") <= c <= ord("9"):
                raise _invalid(c, "in numeric literal")
        if self.data[self.i] == ord("0"):
            self.i += 1
        else:
            self.digits()
        if self.i < len(self.data) and self.data[self.i] == ord("."):
            self.i += 1
            c = self.peek()
            if not self.digits():
                raise _invalid(c, "after decimal point in numeric literal")
        if self.i < len(self.data) and self.data[self.i] in b"eE":
            self.i += 1
            if self.i < len(self.data) and self.data[self.i] in b"+-":
                self.i += 1
            c = self.peek()
            if not self.digits():
                raise _invalid(c, "in exponent of numeric literal")

    def literal(self, word: bytes) -> None:
        self.i += 1
        for expected in word[1:]:
            c = self.peek()
            if c != expected:
                raise _invalid(c, f"in literal {word.decode()} (expecting {quote_char(expected)})")
            self.i += 1


def syntax_error(data: bytes) -> str | None:
    """Go's message for `data` that is not one JSON document, None for a well-formed one."""
    scanner = _Scanner(data)
    try:
        scanner.value()
        while scanner.i < len(data):
            c = data[scanner.i]
            if c not in _SPACE:
                raise _invalid(c, "after top-level value")
            scanner.i += 1
    except _Error as exc:
        return str(exc)
    return None


def go_value(value: object) -> str:
    """A decoded JSON value as Go's `fmt.Sprintf("%+v", ...)` prints it (a strategic merge
    patch in upstream's 422): `map[k:v ...]` with sorted keys, `[a b]`, bare strings, <nil>."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_value(value[k])}" for k in sorted(value)) + "]"
    if isinstance(value, list):
        return "[" + " ".join(go_value(v) for v in value) + "]"
    if isinstance(value, float):
        shown = repr(value)
        mantissa, _, exponent = shown.partition("e")
        if exponent:  # Go writes e+21 / e-07: a sign and at least two digits
            sign = "-" if exponent.startswith("-") else "+"
            shown = f"{mantissa}e{sign}{exponent.lstrip('+-').zfill(2)}"
        return shown.removesuffix(".0")
    return str(value)
