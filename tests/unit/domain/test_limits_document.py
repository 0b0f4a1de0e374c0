"""The pre-trade limits document: amounts read exactly, a typo refused, not dropped."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.domain.limits_document import DEFAULT_LIMITS, parse_limits


def test_amounts_are_read_exactly_and_overrides_keep_the_defaults() -> None:
    limits = parse_limits(
        '{"defaults": {"max_order_value": {"USDT": "2500.5"}, "max_orders_per_second": 10},'
        ' "accounts": {"a2": {"max_order_value": {"USDT": 0.1}}}}'
    )
    assert limits.for_account("a1").max_order_value == {"USDT": Decimal("2500.5")}
    assert limits.for_account("a2").max_order_value == {"USDT": Decimal("0.1")}
    assert limits.for_account("a2").max_orders_per_second == 10


def test_an_unknown_field_is_refused_with_where_it_is() -> None:
    with pytest.raises(ValueError, match=r"unknown field 'price_band' at `\$.accounts.a1`"):
        parse_limits('{"accounts": {"a1": {"price_band": "5"}}}')


def test_a_bad_value_or_malformed_json_is_refused() -> None:
    with pytest.raises(ValueError, match="must be a number >= 0"):
        parse_limits('{"defaults": {"daily_loss_limit": "-5"}}')
    with pytest.raises(ValueError, match="not a valid limits document"):
        parse_limits("{")


def test_the_default_limits_only_pace_orders() -> None:
    assert DEFAULT_LIMITS.defaults.max_orders_per_second == 20.0
    assert DEFAULT_LIMITS.defaults.max_order_value == {}
