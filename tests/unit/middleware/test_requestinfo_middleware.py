"""RequestInfoMiddleware: one parse per distinct request, remembered within a bound."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_aggapi import context
from k8s_aggapi.middleware import requestinfo
from k8s_aggapi.middleware.requestinfo import RequestInfoMiddleware

PATH = "/apis/wardle.example.com/v1alpha1/namespaces/ns/flunders"


class Seen:
    def __init__(self) -> None:
        self.infos: list[Any] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        self.infos.append(scope[context.REQUEST_INFO])


async def request(mw: RequestInfoMiddleware, method: str, path: str, query: bytes = b"") -> None:
    scope = {"type": "http", "method": method, "path": path, "query_string": query}
    await mw(scope, None, None)  # type: ignore[arg-type]


async def test_the_same_request_gets_the_same_parse_and_others_their_own() -> None:
    seen = Seen()
    mw = RequestInfoMiddleware(seen)
    await request(mw, "GET", PATH)
    await request(mw, "GET", PATH)
    await request(mw, "GET", PATH, b"labelSelector=a%3Db")
    await request(mw, "POST", PATH)
    first, again, selected, created = seen.infos
    assert first is again
    assert (first.verb, selected.verb, created.verb) == ("list", "list", "create")
    assert (first.label_selector, selected.label_selector) == ("", "a=b")


async def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(requestinfo, "REMEMBERED_MAX", 2)
    seen = Seen()
    mw = RequestInfoMiddleware(seen)
    for name in ("a", "b", "c"):
        await request(mw, "GET", f"{PATH}/{name}")
    assert len(mw._parsed) == 1
    assert [i.name for i in seen.infos] == ["a", "b", "c"]


async def test_long_request_lines_are_parsed_but_not_remembered() -> None:
    """A client sending distinct long paths (up to the 1 MiB header limit) cannot make the
    memory hold more than REMEMBERED_MAX short keys."""
    seen = Seen()
    mw = RequestInfoMiddleware(seen)
    long_name = "a" * (requestinfo.REMEMBERED_KEY_BYTES + 1)
    await request(mw, "GET", f"{PATH}/{long_name}")
    await request(mw, "GET", PATH, b"labelSelector=" + b"x" * requestinfo.REMEMBERED_KEY_BYTES)
    await request(mw, "GET", f"{PATH}/short")
    assert [i.name for i in seen.infos] == [long_name, "", "short"]
    assert [key[1] for key in mw._parsed] == [f"{PATH}/short"]
