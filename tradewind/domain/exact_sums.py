"""Exact running totals of floats: `ExactTotal` keeps the exact sum of the floats added
and taken away, and gives what `math.fsum` of those present gives, to the last bit,
without adding them all again.

The analytics figures add every series exactly (`domain/performance.py`: a figure does
not depend on the order of its sum, so live, backtest and a loop agree to the last
bit). A live account's series changes by a minute a round: its returns, their losses'
squares and its minutes' equities are kept as exact totals (`services/analytics/
tracker.py`), which is ~3 µs a round instead of a list and `math.fsum` over a day of
minutes (~60 µs each, three times an account).

Every finite float64 times 2^1074 is an integer, so the total is an `int`, exact; it is
rounded once at the end (`int / int` is correctly rounded, as `math.fsum` is, both to
nearest even; a zero total is +0.0 in both). A day of minutes taken in at once
(`scaled_total`) is added with array operations: a float64 is `±m · 2^(e - 1075)` with
an integer `m < 2^53` (11 bits of exponent `e`, 52 of fraction, the leading 1 implied);
each `m` is split in two halves below 2^27 and the halves of the values with the same
exponent are added by `np.bincount` in float64, exact, as every partial sum is an
integer below 2^53 (for up to 2^26 values). Infinities and NaN have no exact total: an
`ExactTotal` holding one has no value (the caller adds the values itself).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]

#: Below this many values, one at a time costs less than the array operations.
_FEW = 64
#: Each finite float64 times 2^SCALE_BITS is an integer.
SCALE_BITS = 1074
_ONE = 1 << SCALE_BITS
_HALF_BITS = 26
_LOW_HALF = np.int64((1 << _HALF_BITS) - 1)
_FRACTION = np.int64((1 << 52) - 1)
_MAGNITUDE = np.int64(0x7FFF_FFFF_FFFF_FFFF)
#: The exponent field of infinities and NaN.
_SPECIAL_FIELD = 2047
#: More values than this and a bin's float64 sum could pass 2^53 (inexact).
_MOST = 1 << 26


def scaled(value: float) -> int:
    """`value` (finite) times 2^1074: an integer, exactly."""
    numerator, denominator = value.as_integer_ratio()
    return numerator << (SCALE_BITS + 1 - denominator.bit_length())


def rounded(total: int) -> float:
    """The float nearest `total / 2^1074` (ties to even): `math.fsum` of floats whose
    `scaled` values add up to `total`."""
    return total / _ONE


def scaled_total(values: Floats) -> int | None:
    """The sum of `scaled` over `values` (one-dimensional float64); None if one is
    infinite or NaN."""
    count = len(values)
    if count < _FEW or count > _MOST:
        listed = values.tolist()
        if not all(map(math.isfinite, listed)):
            return None
        return sum(map(scaled, listed))
    bits = np.ascontiguousarray(values).view(np.int64)
    magnitude = bits & _MAGNITUDE
    field = magnitude >> 52
    top = int(field.max())
    if top == 0:  # zeros and subnormals: each is its fraction times 2^-1074
        return int(np.where(bits < 0, -magnitude, magnitude).sum(dtype=object))
    if top == _SPECIAL_FIELD:
        return None
    normal = field != 0
    # A subnormal is its fraction times 2^-1074, as a normal value of field 1 without
    # the leading 1; a zero, its fraction 0 in field 1.
    mantissa = (magnitude & _FRACTION) | (normal.astype(np.int64) << 52)
    field[~normal] = 1
    sign = bits >> 63  # -1 where negative, else 0
    signed = (mantissa ^ sign) - sign
    bottom = int(field.min())
    field -= bottom
    high = np.bincount(field, weights=(signed >> _HALF_BITS).astype(np.float64))
    low = np.bincount(field, weights=(signed & _LOW_HALF).astype(np.float64))
    # m · 2^(e - 1075) · 2^1074 = m · 2^(e - 1), e = bottom + bin.
    total = 0
    for at, (upper, lower) in enumerate(zip(high.tolist(), low.tolist(), strict=True)):
        if upper or lower:
            total += ((int(upper) << _HALF_BITS) + int(lower)) << (bottom + at - 1)
    return total


class ExactTotal:
    """The exact sum of the floats added and not taken away again: `value()` is
    `math.fsum` of them, to the last bit. None while one of them is infinite or NaN."""

    __slots__ = ("_scaled", "_special")

    def __init__(self) -> None:
        self._scaled = 0
        self._special = 0  # infinite or NaN values held

    def __repr__(self) -> str:  # the exact state: equal totals, equal reprs
        return f"ExactTotal(scaled={self._scaled}, special={self._special})"

    def add(self, value: float, times: int = 1) -> None:
        if math.isfinite(value):
            self._scaled += scaled(value) * times
        else:
            self._special += times

    def remove(self, value: float) -> None:
        if math.isfinite(value):
            self._scaled -= scaled(value)
        else:
            self._special -= 1

    def add_all(self, values: Floats) -> None:
        total = scaled_total(values)
        if total is None:
            for value in values.tolist():
                self.add(value)
        else:
            self._scaled += total

    def value(self, *more: float) -> float | None:
        """`math.fsum` of the values held and `more`; None if one is infinite or NaN."""
        if self._special or not all(map(math.isfinite, more)):
            return None
        return rounded(self._scaled + sum(map(scaled, more)))
