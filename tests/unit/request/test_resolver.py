"""RequestInfoResolver: one parse per distinct request, remembered within a bound; the
middleware resolves it once, outermost, with the endpoints' rule for selected names."""

from __future__ import annotations

from typing import Any

import pytest

from k8s_aggapi.middleware.requestinfo import RequestInfoMiddleware
from k8s_aggapi.request import context, info
from k8s_aggapi.request.info import RequestInfoResolver

PATH = "/apis/wardle.example.com/v1alpha1/namespaces/ns/flunders"


def test_the_same_request_gets_the_same_parse_and_others_their_own() -> None:
    resolve = RequestInfoResolver()
    first, again = resolve("GET", PATH, b""), resolve("GET", PATH, b"")
    selected = resolve("GET", PATH, b"labelSelector=a%3Db")
    created = resolve("POST", PATH, b"")
    assert first is again
    assert (first.verb, selected.verb, created.verb) == ("list", "list", "create")
    assert (first.label_selector, selected.label_selector) == ("", "a=b")


def test_the_memory_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(info, "REMEMBERED_MAX", 2)
    resolve = RequestInfoResolver()
    names = [resolve("GET", f"{PATH}/{name}", b"").name for name in ("a", "b", "c")]
    assert names == ["a", "b", "c"]
    assert len(resolve._parsed) == 1


def test_long_request_lines_are_parsed_but_not_remembered() -> None:
    """A client sending distinct long paths (up to the 1 MiB header limit) cannot make the
    memory hold more than REMEMBERED_MAX short keys."""
    resolve = RequestInfoResolver()
    long_name = "a" * (info.REMEMBERED_KEY_BYTES + 1)
    infos = [resolve("GET", f"{PATH}/{long_name}", b""),
             resolve("GET", PATH, b"labelSelector=" + b"x" * info.REMEMBERED_KEY_BYTES),
             resolve("GET", f"{PATH}/short", b"")]
    assert [i.name for i in infos] == [long_name, "", "short"]
    assert [key[1] for key in resolve._parsed] == [f"{PATH}/short"]


async def test_the_middleware_names_the_object_a_field_selector_selects() -> None:
    seen: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        seen.append(scope[context.REQUEST_INFO])

    mw = RequestInfoMiddleware(app)
    scope = {"type": "http", "method": "GET", "path": PATH,
             "query_string": b"fieldSelector=metadata.name%3Dx"}
    await mw(scope, None, None)  # type: ignore[arg-type]
    assert (seen[0].verb, seen[0].name) == ("list", "x")
