"""Go's encoding/json syntax errors, as upstream puts them in a 400."""

import pytest

from k8s_aggapi.request.gojson import syntax_error


@pytest.mark.parametrize(("data", "message"), [
    (b"i\xb7", "invalid character 'i' looking for beginning of value"),
    (b"{bad", "invalid character 'b' looking for beginning of object key string"),
    (b'{"a":1,}', "invalid character '}' looking for beginning of object key string"),
    (b"[1 2]", "invalid character '2' after array element"),
    (b'{"a" 1}', "invalid character '1' after object key"),
    (b'{"a":1 "b"}', "invalid character '\"' after object key:value pair"),
    (b'{"a":tru}', "invalid character '}' in literal true (expecting 'e')"),
    (b'"a\x01"', "invalid character '\\x01' in string literal"),
    (b'"\\q"', "invalid character 'q' in string escape code"),
    (b'"\\u12g4"', "invalid character 'g' in \\u hexadecimal character escape"),
    (b"-x", "invalid character 'x' in numeric literal"),
    (b"1.e", "invalid character 'e' after decimal point in numeric literal"),
    (b"1e+", "unexpected end of JSON input"),
    (b"{} x", "invalid character 'x' after top-level value"),
    (b"'a'", "invalid character '\\'' looking for beginning of value"),
    (b"", "unexpected end of JSON input"),
])
def test_gos_words(data, message):
    assert syntax_error(data) == message


@pytest.mark.parametrize("data", [b'{"a":[1,-2.5e3,true,false,null,"\\u00e9\\n"]}', b" 0 ",
                                  b'"\xff"'])
def test_well_formed_documents_pass(data):
    assert syntax_error(data) is None


@pytest.mark.parametrize(("value", "shown"), [
    ({"spec": {"bogus": 1}}, "map[spec:map[bogus:1]]"),
    ({"b": [1, "x", None], "a": True}, "map[a:true b:[1 x <nil>]]"),
    ({"f": 1.5, "g": 1e21, "h": 1.5e-07, "i": 2.0}, "map[f:1.5 g:1e+21 h:1.5e-07 i:2]"),
])
def test_go_value_prints_as_fmt_does(value, shown):
    from k8s_aggapi.request.gojson import go_value

    assert go_value(value) == shown
