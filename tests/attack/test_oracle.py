"""The suite's own judges, without a server: each can fail."""

from __future__ import annotations

import orjson

from tests.attack import corpus
from tests.attack.http import Response
from tests.attack.oracle import status_problem
from tests.attack.sar import decide


def _status(code: int, **extra: object) -> bytes:
    return orjson.dumps({"kind": "Status", "apiVersion": "v1", "metadata": {},
                         "status": "Failure", "code": code, **extra})


def test_status_problem() -> None:
    assert status_problem(Response(404, {}, _status(404))) == ""
    assert status_problem(Response(200, {}, b"anything")) == ""
    assert "500" in status_problem(Response(500, {}, _status(500)))
    assert "not JSON" in status_problem(Response(400, {}, b"Invalid HTTP request received."))
    assert "not a Status" in status_problem(Response(400, {}, b'{"kind":"Pod"}'))
    assert "code 400" in status_problem(Response(422, {}, _status(400)))
    assert status_problem(Response(403, {}, b""), "HEAD") == ""


def test_generators_write_text_without_recursion() -> None:
    deep = corpus.nested(100_000)
    assert deep.startswith('{"a":{"a":') and deep.count("{") == 100_000
    assert corpus.nested(3, "[", "]") == "[[[]]]"
    ops = orjson.loads(corpus.copies(5))
    assert [op["op"] for op in ops] == ["add", "copy", "copy", "copy", "copy"]
    case = {"method": "POST", "path": "$GV/fischers", "body": {"json": {"n": "$NAME"}}}
    built = corpus.build(case, {"$GV": "/g", "$NAME": "x"})
    assert (built.path, built.body) == ("/g/fischers", b'{"n":"x"}')


def test_sar_policy_is_name_scoped() -> None:
    attrs = {"group": "wardle.example.com", "resource": "fischers", "verb": "get",
             "name": "fuzz-a"}
    assert decide({"user": "fuzz-user", "resourceAttributes": attrs})
    assert not decide({"user": "fuzz-user", "resourceAttributes": {**attrs, "name": "fuzz-b"}})
    assert not decide({"user": "fuzz-user", "resourceAttributes": {**attrs, "name": ""}})
    assert not decide({"user": "fuzz-user",
                       "resourceAttributes": {**attrs, "verb": "deletecollection"}})
    assert not decide({"user": "mallory", "resourceAttributes": attrs})
