"""Quantity strings as apimachinery's canonical DecimalSI form of a milli-quantity."""

from __future__ import annotations

import math
from decimal import Decimal

import pytest

from k8s_aggapi.custommetrics.quantity import format_milli, milli_value, quantity


@pytest.mark.parametrize(("value", "text"), [
    (0, "0"), (1.5, "1500m"), (42, "42"), (2000, "2k"), (0.1, "100m"), (1500, "1500"),
    (0.001, "1m"), (-1.5, "-1500m"), (1e6, "1M"), (12.345, "12345m"), (Decimal("0.25"), "250m"),
    (math.nan, "0"), (10, "10"), (100, "100"), (0.01, "10m"),
])
def test_quantity(value: float, text: str) -> None:
    assert quantity(value) == text


def test_milli_value_truncates_like_go() -> None:
    assert milli_value(0.0019) == 1
    assert milli_value(-0.0019) == -1
    assert milli_value(math.inf) == 2**63 - 1


def test_huge_values_keep_their_digits() -> None:
    assert format_milli(10**24) == "1000E"
