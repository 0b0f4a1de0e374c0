"""Limit orders: resting, crossing in price-time priority, IOC, FOK and post-only (GTX)."""

from __future__ import annotations

import pytest

from tradewind.domain.model import Side, TimeInForce
from tradewind.venues.simulated.matching import MatchingOrderStatus, SubmitRejected

from .factories import BTC_USDT, T0, D, funded_engine, make_engine


def test_limit_buy_that_does_not_cross_rests_and_holds_its_quote() -> None:
    engine = funded_engine("alice")

    result = engine.submit_limit("alice", BTC_USDT, Side.BUY, D("0.5"), D("30000"), ts_ns=T0)

    assert result.order.status is MatchingOrderStatus.NEW
    assert result.trades == []
    assert result.order.price == D("30000.00")
    assert result.order.quantity == D("0.50000")
    usdt = engine.balance("alice", "USDT")
    assert (usdt.free, usdt.locked) == (D("985000"), D("15000"))
    assert [(lvl.price, lvl.quantity) for lvl in engine.depth(BTC_USDT).bids] == [
        (D("30000.00"), D("0.50000"))
    ]


def test_limit_sell_that_does_not_cross_holds_its_base_quantity() -> None:
    engine = funded_engine("alice")

    engine.submit_limit("alice", BTC_USDT, Side.SELL, D("0.3"), D("31000"), ts_ns=T0)

    btc = engine.balance("alice", "BTC")
    assert (btc.free, btc.locked) == (D("99.7"), D("0.3"))


def test_crossing_limit_fills_best_price_first_then_oldest_first() -> None:
    engine = funded_engine("m1", "m2", "m3", "taker")
    first = engine.submit_limit("m1", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)
    second = engine.submit_limit("m2", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0 + 1)
    better = engine.submit_limit("m3", BTC_USDT, Side.SELL, D("1"), D("29990"), ts_ns=T0 + 2)

    result = engine.submit_limit("taker", BTC_USDT, Side.BUY, D("2.5"), D("30000"), ts_ns=T0 + 3)

    fills = [(t.maker_order_id, t.price, t.quantity) for t in result.trades]
    assert fills == [
        (better.order.order_id, D("29990.00"), D("1.00000")),
        (first.order.order_id, D("30000.00"), D("1.00000")),
        (second.order.order_id, D("30000.00"), D("0.50000")),
    ]
    assert result.order.status is MatchingOrderStatus.FILLED
    assert result.order.executed_quantity == D("2.5")
    assert result.order.cumulative_quote_quantity == D("74990")
    rest = engine.get_order("m2", BTC_USDT, order_id=second.order.order_id)
    assert rest.status is MatchingOrderStatus.PARTIALLY_FILLED
    assert rest.remaining_quantity == D("0.5")


def test_taker_buy_filled_below_its_limit_gets_the_unused_hold_back() -> None:
    engine = make_engine()
    engine.deposit("buyer", "USDT", D("31000"))
    engine.deposit("seller", "BTC", D("1"))
    engine.submit_limit("seller", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)

    engine.submit_limit("buyer", BTC_USDT, Side.BUY, D("1"), D("31000"), ts_ns=T0 + 1)

    usdt = engine.balance("buyer", "USDT")
    assert (usdt.free, usdt.locked) == (D("1000"), D("0"))
    assert engine.balance("buyer", "BTC").free == D("0.999")  # 0.1 % taker fee in BTC


def test_partially_filled_gtc_rests_the_remainder_and_holds_for_it() -> None:
    engine = funded_engine("maker", "taker")
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("0.4"), D("30000"), ts_ns=T0)

    result = engine.submit_limit("taker", BTC_USDT, Side.BUY, D("1"), D("30000"), ts_ns=T0 + 1)

    assert result.order.status is MatchingOrderStatus.PARTIALLY_FILLED
    assert result.order.executed_quantity == D("0.4")
    assert engine.balance("taker", "USDT").locked == D("18000")
    assert [(lvl.price, lvl.quantity) for lvl in engine.depth(BTC_USDT).bids] == [
        (D("30000.00"), D("0.60000"))
    ]
    assert engine.depth(BTC_USDT).asks == ()


def test_ioc_fills_what_it_can_and_expires_the_rest() -> None:
    engine = funded_engine("maker", "taker")
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("0.4"), D("30000"), ts_ns=T0)

    result = engine.submit_limit(
        "taker", BTC_USDT, Side.BUY, D("1"), D("30000"), time_in_force=TimeInForce.IOC, ts_ns=T0
    )

    assert result.order.status is MatchingOrderStatus.EXPIRED
    assert result.order.executed_quantity == D("0.4")
    assert engine.balance("taker", "USDT").locked == 0
    assert engine.depth(BTC_USDT).bids == ()
    assert engine.open_orders("taker") == []


def test_ioc_that_cannot_fill_expires_without_trades_or_book_change() -> None:
    engine = funded_engine("taker")
    before = engine.update_id(BTC_USDT)

    result = engine.submit_limit(
        "taker", BTC_USDT, Side.BUY, D("1"), D("30000"), time_in_force=TimeInForce.IOC, ts_ns=T0
    )

    assert result.order.status is MatchingOrderStatus.EXPIRED
    assert result.trades == []
    assert engine.update_id(BTC_USDT) == before


def test_fok_that_cannot_fill_completely_leaves_the_book_untouched() -> None:
    engine = funded_engine("maker", "taker")
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("0.4"), D("30000"), ts_ns=T0)
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("0.4"), D("30100"), ts_ns=T0)
    depth_before = engine.depth(BTC_USDT)
    balances_before = engine.balances("taker")

    result = engine.submit_limit(
        "taker", BTC_USDT, Side.BUY, D("1"), D("30100"), time_in_force=TimeInForce.FOK, ts_ns=T0
    )

    assert result.order.status is MatchingOrderStatus.EXPIRED
    assert result.order.executed_quantity == 0
    assert result.trades == []
    assert engine.depth(BTC_USDT) == depth_before
    assert engine.balances("taker") == balances_before


def test_fok_that_can_fill_completely_fills_across_levels() -> None:
    engine = funded_engine("maker", "taker")
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("0.6"), D("30000"), ts_ns=T0)
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("0.6"), D("30100"), ts_ns=T0)

    result = engine.submit_limit(
        "taker", BTC_USDT, Side.BUY, D("1"), D("30100"), time_in_force=TimeInForce.FOK, ts_ns=T0
    )

    assert result.order.status is MatchingOrderStatus.FILLED
    assert [t.quantity for t in result.trades] == [D("0.6"), D("0.4")]


def test_post_only_order_that_would_take_is_rejected() -> None:
    engine = funded_engine("maker", "taker")
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)

    with pytest.raises(SubmitRejected) as rejected:
        engine.submit_limit(
            "taker", BTC_USDT, Side.BUY, D("1"), D("30000"),
            time_in_force=TimeInForce.GTX, ts_ns=T0,
        )  # fmt: skip

    assert (rejected.value.code, rejected.value.msg) == (
        -2010,
        "Order would immediately match and take.",
    )
    assert engine.all_orders("taker") == []
    assert engine.balance("taker", "USDT").locked == 0


def test_post_only_order_that_does_not_cross_rests_as_maker() -> None:
    engine = funded_engine("maker", "taker")
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)

    result = engine.submit_limit(
        "taker", BTC_USDT, Side.BUY, D("1"), D("29999.99"),
        time_in_force=TimeInForce.GTX, ts_ns=T0,
    )  # fmt: skip

    assert result.order.status is MatchingOrderStatus.NEW
    assert result.order.time_in_force is TimeInForce.GTX


def test_limit_order_without_enough_free_balance_is_rejected() -> None:
    engine = make_engine()
    engine.deposit("alice", "USDT", D("100"))

    with pytest.raises(SubmitRejected) as rejected:
        engine.submit_limit("alice", BTC_USDT, Side.BUY, D("0.01"), D("30000"), ts_ns=T0)

    assert (rejected.value.code, rejected.value.msg) == (
        -2010,
        "Account has insufficient balance for requested action.",
    )


def test_funds_held_by_open_orders_cannot_be_spent_twice() -> None:
    engine = make_engine()
    engine.deposit("alice", "BTC", D("1"))
    engine.submit_limit("alice", BTC_USDT, Side.SELL, D("0.7"), D("40000"), ts_ns=T0)

    with pytest.raises(SubmitRejected, match="insufficient balance"):
        engine.submit_limit("alice", BTC_USDT, Side.SELL, D("0.7"), D("41000"), ts_ns=T0)


def test_side_may_be_given_as_a_plain_string() -> None:
    engine = funded_engine("alice")

    result = engine.submit_limit("alice", BTC_USDT, "BUY", D("0.1"), D("100"), ts_ns=T0)  # type: ignore[arg-type]

    assert result.order.side is Side.BUY
