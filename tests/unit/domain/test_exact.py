"""The platform's decimal contexts: `EXACT` raises rather than round, `WIDE` rounds past
100 digits, `quotient` rounds once to 34, `quotient_down` never rounds up."""

from __future__ import annotations

from decimal import Decimal, DivisionByZero, Inexact

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradewind.domain.exact import EXACT, WIDE, quotient, quotient_down

_AMOUNTS = st.decimals(
    min_value=Decimal("0.00000001"), max_value=Decimal("1e12"), places=8, allow_nan=False
)


def test_exact_raises_where_a_sum_would_round() -> None:
    long = Decimal("1" * 100)
    with pytest.raises(Inexact):
        EXACT.add(long, Decimal("0.1"))


def test_wide_keeps_the_same_digits_but_rounds_instead_of_raising() -> None:
    long = Decimal("1" * 100)
    assert WIDE.add(long, Decimal("0.1")) == long
    assert WIDE.divide(Decimal(1), Decimal(3)) == Decimal("0." + "3" * 100)


@given(_AMOUNTS, _AMOUNTS)
def test_wide_and_exact_agree_on_venue_amounts(price: Decimal, quantity: Decimal) -> None:
    assert WIDE.multiply(price, quantity) == EXACT.multiply(price, quantity)
    assert WIDE.add(price, quantity) == EXACT.add(price, quantity)


def test_quotient_rounds_half_even_to_34_digits() -> None:
    assert quotient(Decimal(2), Decimal(3)) == Decimal("0." + "6" * 33 + "7")


def test_quotient_down_rounds_toward_zero_to_28_digits() -> None:
    assert quotient_down(Decimal(2), Decimal(3)) == Decimal("0." + "6" * 28)
    assert quotient_down(Decimal(100), Decimal(4)) == Decimal(25)


@given(_AMOUNTS, _AMOUNTS)
def test_a_quantity_rounded_down_never_costs_more_than_the_spend(
    spend: Decimal, price: Decimal
) -> None:
    assert EXACT.multiply(quotient_down(spend, price), price) <= spend


def test_dividing_by_zero_raises() -> None:
    with pytest.raises(DivisionByZero):
        quotient_down(Decimal(1), Decimal(0))
    with pytest.raises(DivisionByZero):
        WIDE.divide(Decimal(1), Decimal(0))
