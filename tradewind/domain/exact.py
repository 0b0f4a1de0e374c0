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

`WIDE` has `EXACT`'s 100 digits but rounds (half-even) instead of raising. It is for
arithmetic that checks or estimates rather than books: risk checks, bar volumes, the
simulator's conversions between amounts and its integer units, a bot's running view of
its balances. Their inputs are venue amounts, so a result never comes near 100 digits;
if one did, a rounding there is harmless where a raise would stop a market feed or a
check. `quotient_down` is the one division that must round toward zero: a quantity
that a spend pays for, never one more unit.

These are the platform's decimal contexts; no module makes its own.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import (
    ROUND_DOWN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)

EXACT_DIGITS = 100
QUOTIENT_DIGITS = 34
_ZERO = Decimal(0)

EXACT = Context(
    prec=EXACT_DIGITS,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow, Inexact],
)
WIDE = Context(
    prec=EXACT_DIGITS,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
_QUOTIENT = Context(
    prec=QUOTIENT_DIGITS,
    rounding=ROUND_HALF_EVEN,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)
# Python's default precision: what a spend's quantity was always computed to.
_QUOTIENT_DOWN = Context(
    prec=28,
    rounding=ROUND_DOWN,
    traps=[InvalidOperation, DivisionByZero, Overflow],
)


def quotient(dividend: Decimal, divisor: Decimal) -> Decimal:
    """`dividend / divisor`, exact when it fits in `QUOTIENT_DIGITS` significant digits,
    otherwise rounded half-even to that many; raises `DivisionByZero` for a zero divisor."""
    return _QUOTIENT.divide(dividend, divisor)


def quotients(dividends: Iterable[Decimal], divisors: Iterable[Decimal]) -> list[Decimal]:
    """`quotient` of each pair, in one pass at C speed (the analytics service divides a
    day of minutes for each account it meets)."""
    return list(map(_QUOTIENT.divide, dividends, divisors))


def quotient_down(dividend: Decimal, divisor: Decimal) -> Decimal:
    """`dividend / divisor` rounded toward zero to 28 significant digits, so that the
    quotient times `divisor` never exceeds `dividend` (a quantity `dividend` pays for at
    price `divisor`); raises `DivisionByZero` for a zero divisor."""
    return _QUOTIENT_DOWN.divide(dividend, divisor)


def is_positive(value: Decimal) -> bool:
    """True for a finite value above zero (False for zero, negatives, NaN and infinities)."""
    return value.is_finite() and value > 0


_FLOAT_NOISE = Decimal("1e-12")
"""A relative difference this small is no different trade: a value that crossed a
float (ccxt parses numbers into floats) can be off in its 16th or 17th digit."""


def quote_is_rounding(amount: Decimal, notional: Decimal) -> bool:
    """Whether a venue's quote quantity `amount` (finite, >= 0) can be `notional`
    (price x quantity, > 0) rounded: less than one unit of `amount`'s last non-zero
    decimal place away from it (at most 1: a venue rounds to the precision it reports;
    trailing zeros it pads with do not count, except in a zero, "0.00000000"), or
    within a part in 10^12 of it. So "0.01126853" for 0.0112685308140 (a venue rounding
    down to 10^-8) and "150" for 150.3 (a whole-unit quote asset) pass; "0.01126852"
    for 0.0112685308140 does not."""
    with localcontext(EXACT):
        gap = abs(amount - notional)
        exponent = (amount.normalize() if amount else amount).as_tuple().exponent
        place = Decimal(1).scaleb(min(exponent, 0)) if isinstance(exponent, int) else _ZERO
        return gap < place or gap <= notional * _FLOAT_NOISE
