"""Metric values as Kubernetes Quantity strings, as the Go adapters write them.

prometheus-adapter emits `resource.NewMilliQuantity(int64(value*1000), DecimalSI)`; its
canonical form keeps an exponent that is a multiple of 3 (`1500m`, `42`, `2k`). NaN is 0.
"""

from __future__ import annotations

import math
from decimal import Decimal

_SUFFIXES = {-3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T", 15: "P", 18: "E"}
_INT64_MAX = 2**63 - 1


def milli_value(value: int | float | Decimal) -> int:
    """int64(value * 1000.0), truncated toward zero as Go converts (a float64 product, as
    prometheus-adapter computes it); NaN -> 0; clamped to int64."""
    if isinstance(value, float):
        if math.isnan(value):
            return 0
        if math.isinf(value):
            return _INT64_MAX if value > 0 else -_INT64_MAX - 1
        milli = int(value * 1000.0)
    elif isinstance(value, int):
        milli = value * 1000
    else:
        milli = int(value * 1000)
    return max(-_INT64_MAX - 1, min(_INT64_MAX, milli))


def format_milli(milli: int) -> str:
    """The canonical DecimalSI string of `milli`/1000 (apimachinery's int64Amount rules)."""
    if milli == 0:
        return "0"
    sign, amount, exponent = ("-" if milli < 0 else ""), abs(milli), -3
    while amount % 10 == 0:
        amount //= 10
        exponent += 1
    shift = exponent % 3  # Python's modulo is non-negative: shift down to a multiple of 3
    amount *= 10**shift
    exponent -= shift
    while exponent > 18:  # no suffix past E: keep the digits
        amount *= 1000
        exponent -= 3
    return f"{sign}{amount}{_SUFFIXES[exponent]}"


def quantity(value: int | float | Decimal) -> str:
    return format_milli(milli_value(value))
