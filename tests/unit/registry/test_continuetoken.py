"""Continue tokens are checked as k8s.io/apiserver pkg/storage/continue.go checks them."""

import base64

import orjson
import pytest

from k8s_aggapi.errors import BadRequest
from k8s_aggapi.registry import continuetoken

PREFIX = "/wardle.example.com/flunders/default/"


def token(raw):
    data = raw if isinstance(raw, bytes) else orjson.dumps(raw)
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def test_round_trip_stays_under_the_prefix():
    encoded = continuetoken.encode(PREFIX + "b", "7", PREFIX)
    assert continuetoken.decode(encoded, PREFIX) == (PREFIX + "b", 7)


def test_a_negative_revision_is_the_latest_as_after_a_410():
    encoded = continuetoken.encode(PREFIX + "b", continuetoken.LATEST, PREFIX)
    assert continuetoken.decode(encoded, PREFIX) == (PREFIX + "b", -1)
    assert continuetoken.decode(token({"v": "meta.k8s.io/v1", "rv": -7, "start": "b"}),
                                PREFIX) == (PREFIX + "b", -7)


@pytest.mark.parametrize(
    ("raw", "detail"),
    [
        ({"v": "meta.k8s.io/v1", "rv": 0, "start": "b"},
         "incorrect encoded start resourceVersion (version meta.k8s.io/v1)"),
        ({"v": "meta.k8s.io/v1", "start": "b"},
         "incorrect encoded start resourceVersion (version meta.k8s.io/v1)"),
        ({"v": "meta.k8s.io/v1", "rv": 3, "start": ""},
         "encoded start key empty (version meta.k8s.io/v1)"),
        ({"v": "meta.k8s.io/v1", "rv": 3, "start": None},
         "encoded start key empty (version meta.k8s.io/v1)"),
        ({"v": "v2", "rv": 3, "start": "b"}, "server does not recognize this encoded version v2"),
        ({"rv": 3, "start": "b"}, "server does not recognize this encoded version "),
        ({"v": "meta.k8s.io/v1", "rv": 3, "start": "../other/b"}, "../other/b"),
        ({"v": "meta.k8s.io/v1", "rv": 3, "start": "/x/../../b"}, "/x/../../b"),
        ({"v": "meta.k8s.io/v1", "rv": 3, "start": "a//b"}, "a//b"),
        ({"v": "meta.k8s.io/v1", "rv": "3", "start": "b"},
         "json: cannot unmarshal string into Go struct field continueToken.rv of type int64"),
        ({"v": "meta.k8s.io/v1", "rv": 1.5, "start": "b"},
         "json: cannot unmarshal number 1.5 into Go struct field continueToken.rv of type int64"),
        ({"v": "meta.k8s.io/v1", "rv": 2**63, "start": "b"},
         f"json: cannot unmarshal number {2**63} into Go struct field continueToken.rv of type "
         "int64"),
        ({"v": "meta.k8s.io/v1", "rv": 3, "start": ["b"]},
         "json: cannot unmarshal array into Go struct field continueToken.start of type string"),
        ({"v": True, "rv": 3, "start": "b"},
         "json: cannot unmarshal bool into Go struct field continueToken.v of type string"),
        ([1], "json: cannot unmarshal array into Go value of type storage.continueToken"),
        (b"null", "server does not recognize this encoded version "),
        (b"{not json", "invalid character 'n' looking for beginning of object key string"),
        # what sample-apiserver v0.34.4 answers for `continue=abc` (bytes 0x69 0xb7)
        (b"i\xb7", "invalid character 'i' looking for beginning of value"),
        (b'{"v":', "unexpected end of JSON input"),
    ],
)
def test_malformed_tokens_are_400_with_upstreams_words(raw, detail):
    with pytest.raises(BadRequest) as err:
        continuetoken.decode(token(raw), PREFIX)
    assert err.value.message == f"invalid continue token: continue key is not valid: {detail}"


@pytest.mark.parametrize(("text", "at"), [("ab$d", 2), ("abcd=", 4), ("abcde", 4)])
def test_bad_base64_is_400(text, at):
    with pytest.raises(BadRequest) as err:
        continuetoken.decode(text, PREFIX)
    assert err.value.message.endswith(f"illegal base64 data at input byte {at}")
