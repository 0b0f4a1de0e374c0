"""Sizing orders to a market's filters: round down to the step, skip under minimums."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from hypothesis import given
from hypothesis import strategies as st

from tradewind.strategies.sizing import (
    affordable_quantity,
    floor_to_step,
    meets_minimums,
    order_quantity,
    round_to_tick,
)

from .factories import D, market


def test_quantities_round_down_to_the_step() -> None:
    assert floor_to_step(D("1.23456"), D("0.001")) == D("1.234")
    assert floor_to_step(D("0.0009"), D("0.001")) == 0
    assert floor_to_step(D("-1"), D("0.001")) == 0
    assert floor_to_step(D("5"), D("2")) == D("4")


def test_prices_round_to_the_tick_nearest_or_in_a_chosen_direction() -> None:
    assert round_to_tick(D("0.0512345"), D("0.00001")) == D("0.05123")
    assert round_to_tick(D("0.0512351"), D("0.00001")) == D("0.05124")
    assert round_to_tick(D("0.0512399"), D("0.00001"), ROUND_FLOOR) == D("0.05123")
    assert round_to_tick(D("0.0512301"), D("0.00001"), ROUND_CEILING) == D("0.05124")


def test_orders_under_the_minimum_quantity_notional_or_trade_value_are_skipped() -> None:
    m = market(step="0.001", min_quantity="0.01", min_notional="0.0001")

    assert order_quantity(D("0.0099"), D("1"), m) == 0  # under min quantity
    assert order_quantity(D("0.0123"), D("0.001"), m) == 0  # notional 0.0000123 < 0.0001
    assert order_quantity(D("0.0123"), D("1"), m) == D("0.012")
    assert order_quantity(D("0.0123"), D("1"), m, min_value=D("0.02")) == 0
    assert meets_minimums(D("0.1"), D("0.001"), m)


def test_affordable_quantity_spends_at_most_the_budget() -> None:
    m = market(step="0.001")
    assert affordable_quantity(D("1"), D("0.3"), m) == D("3.333")
    assert affordable_quantity(D("0"), D("0.3"), m) == 0
    assert affordable_quantity(D("0.00001"), D("0.3"), m) == 0  # under the minimums


@given(
    spend=st.decimals(min_value="0.0001", max_value="1000", places=8),
    price=st.decimals(min_value="0.00000001", max_value="100000", places=8),
    step_exp=st.integers(min_value=-8, max_value=0),
)
def test_affordable_quantity_never_costs_more_than_the_spend_and_is_on_the_step(
    spend: Decimal, price: Decimal, step_exp: int
) -> None:
    step = Decimal(1).scaleb(step_exp)
    m = market(step=str(step), min_quantity=str(step), min_notional="0")

    quantity = affordable_quantity(spend, price, m)

    assert quantity * price <= spend
    assert quantity % step == 0
    assert quantity == 0 or (quantity + step) * price > spend  # and it is the most


@given(
    price=st.decimals(min_value="0", max_value="100000", places=10),
    tick_exp=st.integers(min_value=-8, max_value=2),
)
def test_rounding_to_the_tick_lands_on_the_grid_within_one_tick(
    price: Decimal, tick_exp: int
) -> None:
    tick = Decimal(1).scaleb(tick_exp)

    down = round_to_tick(price, tick, ROUND_FLOOR)
    up = round_to_tick(price, tick, ROUND_CEILING)
    nearest = round_to_tick(price, tick)

    assert down % tick == up % tick == nearest % tick == 0
    assert down <= price <= up and up - down <= tick
    assert nearest in (down, up) and abs(nearest - price) * 2 <= tick
