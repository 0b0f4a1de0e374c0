"""Reading orders, open orders, order history and an account's trades."""

from __future__ import annotations

import pytest

from tradewind.domain.model import OrderType, Side
from tradewind.venues.simulated.matching import MatchingOrderStatus, OrderNotFound, SubmitRejected

from .factories import BTC_USDT, ETH_BTC, T0, D, btc_usdt, eth_btc, funded_engine, make_engine


def test_get_order_by_id_or_client_order_id() -> None:
    engine = funded_engine("alice")
    placed = engine.submit_limit(
        "alice", BTC_USDT, Side.BUY, D("1"), D("30000"), client_order_id="c-1", ts_ns=T0
    )

    by_id = engine.get_order("alice", BTC_USDT, order_id=placed.order.order_id)
    by_client_id = engine.get_order("alice", BTC_USDT, client_order_id="c-1")

    assert by_id == by_client_id == placed.order
    assert by_id.order_type is OrderType.LIMIT
    assert (by_id.created_ms, by_id.account_id) == (T0 // 1_000_000, "alice")


def test_get_unknown_or_foreign_order_raises_2013() -> None:
    engine = funded_engine("alice", "bob")
    placed = engine.submit_limit("alice", BTC_USDT, Side.BUY, D("1"), D("30000"), ts_ns=T0)

    for account, order_id in [("alice", 999), ("bob", placed.order.order_id)]:
        with pytest.raises(OrderNotFound) as missing:
            engine.get_order(account, BTC_USDT, order_id=order_id)
        assert (missing.value.code, missing.value.msg) == (-2013, "Order does not exist.")


def test_client_order_id_is_generated_when_not_given() -> None:
    engine = funded_engine("alice")
    placed = engine.submit_limit("alice", BTC_USDT, Side.BUY, D("1"), D("30000"), ts_ns=T0)

    found = engine.get_order("alice", BTC_USDT, client_order_id=placed.order.client_order_id)

    assert found.order_id == placed.order.order_id


def test_duplicate_client_order_id_is_rejected() -> None:
    engine = make_engine(btc_usdt(), eth_btc())
    for who in ("alice", "bob"):
        engine.deposit(who, "USDT", D("100000"))
        engine.deposit(who, "BTC", D("10"))
    engine.submit_limit(
        "alice", BTC_USDT, Side.BUY, D("1"), D("100"), client_order_id="x", ts_ns=T0
    )

    with pytest.raises(SubmitRejected) as duplicate:
        engine.submit_limit(
            "alice", BTC_USDT, Side.BUY, D("1"), D("100"), client_order_id="x", ts_ns=T0
        )

    assert (duplicate.value.code, duplicate.value.msg) == (-2010, "Duplicate order sent.")
    # The same id is free for another account and for another symbol.
    engine.submit_limit("bob", BTC_USDT, Side.BUY, D("1"), D("100"), client_order_id="x", ts_ns=T0)
    engine.submit_limit(
        "alice", ETH_BTC, Side.BUY, D("1"), D("0.05"), client_order_id="x", ts_ns=T0
    )


def test_client_order_id_of_a_closed_order_cannot_be_reused() -> None:
    engine = funded_engine("alice")
    engine.submit_limit(
        "alice", BTC_USDT, Side.BUY, D("1"), D("100"), client_order_id="x", ts_ns=T0
    )
    engine.cancel_order("alice", BTC_USDT, client_order_id="x", ts_ns=T0)

    with pytest.raises(SubmitRejected, match="Duplicate order sent"):
        engine.submit_limit(
            "alice", BTC_USDT, Side.BUY, D("1"), D("100"), client_order_id="x", ts_ns=T0
        )


def test_open_orders_and_all_orders_are_oldest_first_per_symbol() -> None:
    engine = make_engine(btc_usdt(), eth_btc())
    engine.deposit("alice", "BTC", D("10"))
    engine.deposit("alice", "USDT", D("100000"))
    a = engine.submit_limit("alice", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)
    b = engine.submit_limit("alice", ETH_BTC, Side.BUY, D("1"), D("0.05"), ts_ns=T0)
    c = engine.submit_limit("alice", BTC_USDT, Side.BUY, D("1"), D("20000"), ts_ns=T0)
    engine.cancel_order("alice", BTC_USDT, order_id=a.order.order_id, ts_ns=T0)

    assert [o.order_id for o in engine.open_orders("alice")] == [
        b.order.order_id,
        c.order.order_id,
    ]
    assert [o.order_id for o in engine.open_orders("alice", BTC_USDT)] == [c.order.order_id]
    history = engine.all_orders("alice", BTC_USDT)
    assert [(o.order_id, o.status) for o in history] == [
        (a.order.order_id, MatchingOrderStatus.CANCELED),
        (c.order.order_id, MatchingOrderStatus.NEW),
    ]


def test_account_trades_show_each_side_of_the_fill() -> None:
    engine = funded_engine("maker", "taker")
    placed = engine.submit_limit("maker", BTC_USDT, Side.BUY, D("1"), D("30000"), ts_ns=T0)
    taken = engine.submit_market("taker", BTC_USDT, Side.SELL, quantity=D("0.4"), ts_ns=T0 + 7)

    [trade] = engine.account_trades("maker", BTC_USDT)

    assert engine.account_trades("taker") == [trade] == taken.trades
    assert trade.is_buyer_maker
    assert (trade.buyer_account_id, trade.seller_account_id) == ("maker", "taker")
    assert (trade.buyer_order_id, trade.seller_order_id) == (
        placed.order.order_id,
        taken.order.order_id,
    )
    assert trade.fee_for("maker") == (D("0.0004"), "BTC")
    assert trade.fee_for("taker") == (D("12"), "USDT")
    assert (trade.quote_quantity, trade.time_ms) == (D("12000"), (T0 + 7) // 1_000_000)


def test_trade_carries_both_orders_cumulative_state_after_the_fill() -> None:
    engine = funded_engine("maker", "taker")
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("1"), D("30001"), ts_ns=T0)

    first, second = engine.submit_market(
        "taker", BTC_USDT, Side.BUY, quantity=D("1.5"), ts_ns=T0
    ).trades

    assert (first.maker_status, first.maker_executed_steps) == (MatchingOrderStatus.FILLED, 100_000)
    assert (first.taker_executed_steps, second.taker_executed_steps) == (100_000, 150_000)
    assert second.maker_status is MatchingOrderStatus.PARTIALLY_FILLED
    assert second.trade_id == first.trade_id + 1


def test_trade_ids_can_continue_a_past_but_never_go_back() -> None:
    engine = funded_engine("maker", "taker")
    engine.continue_trade_ids(BTC_USDT, 5_000)  # e.g. after a replayed market's past
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)

    [trade] = engine.submit_market("taker", BTC_USDT, Side.BUY, quantity=D("1"), ts_ns=T0).trades

    assert trade.trade_id == 5_000
    with pytest.raises(ValueError, match="trade ids only grow"):
        engine.continue_trade_ids(BTC_USDT, 10)


def test_snapshots_are_values_that_later_fills_do_not_change() -> None:
    engine = funded_engine("maker", "taker")
    placed = engine.submit_limit("maker", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)

    engine.submit_market("taker", BTC_USDT, Side.BUY, quantity=D("1"), ts_ns=T0)

    assert placed.order.status is MatchingOrderStatus.NEW
    assert engine.get_order("maker", BTC_USDT, order_id=placed.order.order_id).status is (
        MatchingOrderStatus.FILLED
    )
