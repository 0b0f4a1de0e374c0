"""Decimal arithmetic for money that never rounds without saying so.

Python's default decimal context keeps 28 significant digits and silently rounds past
them, so a long quantity times a long price can lose digits. Order tracking and
portfolio accounting therefore compute sums, differences and products under `EXACT`
(``with localcontext(EXACT): ...``), which keeps 100 significant digits and raises
`decimal.Inexact` rather than round: an exact result or a loud error, never drift.

Division is the one operation that cannot always be exact (1 / 3). It goes through
`quotient`, which rounds once, half-even, to `QUOTIENT_DIGITS` significant digits
(IEEE 754 decimal128). Callers keep exact totals (cost basis, notional) and divide
only to present a ratio (an average price) or to split a total, so a rounding never
feeds into the next one.
"""

from __future__ import annotations

from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
)

EXACT_DIGITS = 100
QUOTIENT_DIGITS = 34

EXACT = Context(
    prec=EXACT_DIGITS,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow, Inexact],
)
_QUOTIENT = Context(
    prec=QUOTIENT_DIGITS,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)


def quotient(dividend: Decimal, divisor: Decimal) -> Decimal:
    """`dividend / divisor`, exact when it fits in `QUOTIENT_DIGITS` significant digits,
    otherwise rounded half-even to that many; raises `DivisionByZero` for a zero divisor."""
    return _QUOTIENT.divide(dividend, divisor)


def is_positive(value: Decimal) -> bool:
    """True for a finite value above zero (False for zero, negatives, NaN and infinities)."""
    return value.is_finite() and value > 0
