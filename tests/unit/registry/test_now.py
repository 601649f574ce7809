"""now_rfc3339: the current second in RFC 3339, formatted once per second."""

from __future__ import annotations

import datetime

import pytest

from k8s_aggapi.registry import store


def test_now_is_the_current_second_in_rfc3339() -> None:
    before = datetime.datetime.now(datetime.UTC).replace(microsecond=0)
    got = datetime.datetime.strptime(store.now_rfc3339(), "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=datetime.UTC)
    after = datetime.datetime.now(datetime.UTC)
    assert before <= got <= after


def test_now_follows_the_clock_from_second_to_second(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = [1_700_000_000.25]
    monkeypatch.setattr(store.time, "time", lambda: clock[0])
    assert store.now_rfc3339() == "2023-11-14T22:13:20Z"
    assert store.now_rfc3339() == "2023-11-14T22:13:20Z"
    clock[0] += 1
    assert store.now_rfc3339() == "2023-11-14T22:13:21Z"
    clock[0] += 59.9
    assert store.now_rfc3339() == "2023-11-14T22:14:21Z"
