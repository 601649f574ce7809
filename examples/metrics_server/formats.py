"""Upstream's wire formats, to the character: Kubernetes Quantity canonical strings
(DecimalSI nanocores for CPU, BinarySI bytes for memory), Go's `time.Duration.String()`
for `window`, and metav1.Time (RFC 3339, whole seconds, UTC) for timestamps.
"""

from __future__ import annotations

import time

MAX_INT64 = (1 << 63) - 1
_DECIMAL_SUFFIXES = {-9: "n", -6: "u", -3: "m", 0: "", 3: "k", 6: "M", 9: "G", 12: "T",
                     15: "P", 18: "E"}
_BINARY_SUFFIXES = ("", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei")


def _decimal(mantissa: int, exponent: int) -> str:
    """Canonical DecimalSI of mantissa x 10^exponent (mantissa >= 0): the exponent is made a
    multiple of 3 no larger than the value's own, as resource.Quantity does."""
    if mantissa == 0:
        return "0"
    while mantissa % 10 == 0:
        mantissa //= 10
        exponent += 1
    shift = exponent % 3
    mantissa *= 10**shift
    exponent -= shift
    if exponent > 18:
        mantissa *= 10 ** (exponent - 18)
        exponent = 18
    if exponent < -9:  # not reachable from nanocores; kept exact like Go (rounded up there)
        return f"{mantissa}e{exponent}"
    return f"{mantissa}{_DECIMAL_SUFFIXES[exponent]}"


def _clamp_uint64(value: int, scale: int) -> tuple[int, int]:
    """Upstream's uint64Quantity: a value above MaxInt64 loses its last decimal digit."""
    if value > MAX_INT64:
        return value // 10, scale + 1
    return value, scale


def cpu_quantity(nanocores: int) -> str:
    """`287982098n`, `500m`, `1`, `0` (DecimalSI at scale -9)."""
    mantissa, scale = _clamp_uint64(max(nanocores, 0), -9)
    return _decimal(mantissa, scale)


def memory_quantity(value: int) -> str:
    """`1156520Ki`, `5Mi`, `12533761`; below 1024 DecimalSI as Quantity prints it (`1k`)."""
    mantissa, scale = _clamp_uint64(max(value, 0), 0)
    if scale != 0 or mantissa < 1024:
        return _decimal(mantissa, scale)
    power = 0
    while power < 6 and mantissa % 1024 == 0:
        mantissa //= 1024
        power += 1
    return f"{mantissa}{_BINARY_SUFFIXES[power]}"


def _frac(value: int, digits: int) -> tuple[str, int]:
    """Go's fmtFrac: the `digits` low decimal digits as `.ddd` without trailing zeros."""
    frac = value % 10**digits
    text = f"{frac:0{digits}d}".rstrip("0")
    return ("." + text if text else ""), value // 10**digits


def go_duration(nanoseconds: int) -> str:
    """Go's time.Duration.String(): `15.043s`, `1m0s`, `1µs`, `500ms`, `0s`."""
    if nanoseconds == 0:
        return "0s"
    sign = "-" if nanoseconds < 0 else ""
    u = abs(nanoseconds)
    if u < 1_000_000_000:
        if u < 1_000:
            return f"{sign}{u}ns"
        if u < 1_000_000:
            frac, whole = _frac(u, 3)
            return f"{sign}{whole}{frac}µs"
        frac, whole = _frac(u, 6)
        return f"{sign}{whole}{frac}ms"
    frac, seconds = _frac(u, 9)
    minutes, seconds = divmod(seconds, 60)
    out = f"{seconds}{frac}s"
    if minutes:
        hours, minutes = divmod(minutes, 60)
        out = f"{minutes}m{out}"
        if hours:
            out = f"{hours}h{out}"
    return sign + out


def rfc3339(unix_ns: int) -> str:
    """metav1.Time in JSON: UTC, whole seconds (truncated), `2021-10-03T09:36:52Z`."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(unix_ns // 1_000_000_000))
