"""Upstream's Quantity, Duration and Time strings (metrics-server types_test, table_test, the
real responses quoted in its issues)."""

import pytest

from examples.metrics_server.formats import (
    MAX_INT64,
    cpu_quantity,
    go_duration,
    memory_quantity,
    rfc3339,
)


@pytest.mark.parametrize(("nanocores", "text"), [
    (287982098, "287982098n"), (500_000_000, "500m"), (1_000_000_000, "1"), (0, "0"),
    (43481, "43481n"), (10_000_000, "10m"), (20000, "20u"), (2_500_000_000, "2500m"),
    (12_436_000_000, "12436m"), (1_000_000_000_000, "1k"), (1_500_000, "1500u"),
])
def test_cpu_is_decimal_si_nanocores_shrunk_to_its_suffix(nanocores: int, text: str) -> None:
    assert cpu_quantity(nanocores) == text


@pytest.mark.parametrize(("value", "text"), [
    (1184276480, "1156520Ki"), (5 * 2**20, "5Mi"), (12533761, "12533761"), (0, "0"),
    (4620 * 1024, "4620Ki"), (864 * 1024, "864Ki"), (3 * 2**20, "3Mi"), (1000, "1k"),
    (500, "500"), (1536, "1536"), (2**30, "1Gi"), (1023, "1023"), (1024, "1Ki"),
])
def test_memory_is_binary_si(value: int, text: str) -> None:
    assert memory_quantity(value) == text


def test_a_value_above_max_int64_loses_one_decimal_digit() -> None:
    # types_test TestUint64Quantity: MaxInt64 + 10 at scale 0 -> MaxInt64/10 + 1 at scale 1
    assert memory_quantity(MAX_INT64 + 10) == _decimal_text(MAX_INT64 // 10 + 1, 1)


def _decimal_text(mantissa: int, exponent: int) -> str:
    from examples.metrics_server.formats import _decimal

    return _decimal(mantissa, exponent)


@pytest.mark.parametrize(("ns", "text"), [
    (15_043_000_000, "15.043s"), (17_913_000_000, "17.913s"), (60_000_000_000, "1m0s"),
    (30_000_000_000, "30s"), (1_000, "1µs"), (0, "0s"), (10_000_000_000, "10s"),
    (500_000_000, "500ms"), (1_500, "1.5µs"), (999, "999ns"), (3_723_000_000_000, "1h2m3s"),
    (5_000_000_001, "5.000000001s"), (1_234_567, "1.234567ms"), (-1_000, "-1µs"),
])
def test_window_is_go_duration_string(ns: int, text: str) -> None:
    assert go_duration(ns) == text


def test_time_has_second_precision_in_utc() -> None:
    assert rfc3339(1633253812_999_999_999) == "2021-10-03T09:36:52Z"
