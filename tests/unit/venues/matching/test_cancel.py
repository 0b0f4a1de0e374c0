"""Cancelling open orders by order id or client order id."""

from __future__ import annotations

import pytest

from tradewind.domain.model import Side
from tradewind.venues.simulated.matching import CancelRejected, MatchingOrderStatus, SubmitRejected

from .factories import BTC_USDT, ETH_BTC, T0, D, btc_usdt, eth_btc, funded_engine, make_engine


def test_cancel_by_order_id_releases_the_hold_and_empties_the_level() -> None:
    engine = funded_engine("alice")
    placed = engine.submit_limit("alice", BTC_USDT, Side.BUY, D("1"), D("30000"), ts_ns=T0)

    canceled = engine.cancel_order("alice", BTC_USDT, order_id=placed.order.order_id, ts_ns=T0 + 5)

    assert canceled.status is MatchingOrderStatus.CANCELED
    assert canceled.updated_ns == T0 + 5
    usdt = engine.balance("alice", "USDT")
    assert (usdt.free, usdt.locked) == (D("1000000"), D("0"))
    assert engine.depth(BTC_USDT).bids == ()
    assert engine.open_orders("alice") == []


def test_cancel_by_client_order_id() -> None:
    engine = funded_engine("alice")
    engine.submit_limit(
        "alice", BTC_USDT, Side.SELL, D("1"), D("30000"), client_order_id="my-1", ts_ns=T0
    )

    canceled = engine.cancel_order("alice", BTC_USDT, client_order_id="my-1", ts_ns=T0)

    assert (canceled.client_order_id, canceled.status) == ("my-1", MatchingOrderStatus.CANCELED)
    assert engine.balance("alice", "BTC").locked == 0


def test_cancel_of_unknown_order_is_rejected_with_2011() -> None:
    engine = funded_engine("alice")

    with pytest.raises(CancelRejected) as by_id:
        engine.cancel_order("alice", BTC_USDT, order_id=42, ts_ns=T0)
    with pytest.raises(CancelRejected) as by_client_id:
        engine.cancel_order("alice", BTC_USDT, client_order_id="nope", ts_ns=T0)

    for rejected in (by_id, by_client_id):
        assert (rejected.value.code, rejected.value.msg) == (-2011, "Unknown order sent.")


def test_cancel_of_a_filled_order_is_rejected_with_2011() -> None:
    engine = funded_engine("maker", "taker")
    placed = engine.submit_limit("maker", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)
    engine.submit_market("taker", BTC_USDT, Side.BUY, quantity=D("1"), ts_ns=T0)

    with pytest.raises(CancelRejected, match="Unknown order sent"):
        engine.cancel_order("maker", BTC_USDT, order_id=placed.order.order_id, ts_ns=T0)


def test_cancel_of_another_accounts_order_is_rejected() -> None:
    engine = funded_engine("alice", "mallory")
    placed = engine.submit_limit("alice", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)

    with pytest.raises(CancelRejected):
        engine.cancel_order("mallory", BTC_USDT, order_id=placed.order.order_id, ts_ns=T0)

    assert engine.get_order("alice", BTC_USDT, order_id=placed.order.order_id).is_open


def test_cancel_on_the_wrong_symbol_is_rejected() -> None:
    engine = make_engine(btc_usdt(), eth_btc())
    engine.deposit("alice", "BTC", D("1"))
    placed = engine.submit_limit("alice", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)

    with pytest.raises(CancelRejected):
        engine.cancel_order("alice", ETH_BTC, order_id=placed.order.order_id, ts_ns=T0)


def test_cancel_without_an_order_reference_is_rejected_with_1102() -> None:
    engine = funded_engine("alice")

    with pytest.raises(SubmitRejected) as rejected:
        engine.cancel_order("alice", BTC_USDT, ts_ns=T0)

    assert rejected.value.code == -1102


def test_cancel_in_the_middle_of_a_level_keeps_time_priority_of_the_others() -> None:
    engine = funded_engine("a", "b", "c", "taker")
    ids = [
        engine.submit_limit(who, BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0).order.order_id
        for who in ("a", "b", "c")
    ]
    engine.cancel_order("b", BTC_USDT, order_id=ids[1], ts_ns=T0)

    result = engine.submit_market("taker", BTC_USDT, Side.BUY, quantity=D("2"), ts_ns=T0)

    assert [t.maker_order_id for t in result.trades] == [ids[0], ids[2]]
    assert engine.depth(BTC_USDT).asks == ()


def test_many_cancels_inside_a_level_keep_its_quantity_right() -> None:
    engine = funded_engine("maker", "taker")
    ids = [
        engine.submit_limit(
            "maker", BTC_USDT, Side.SELL, D("0.01"), D("30000"), ts_ns=T0
        ).order.order_id
        for _ in range(60)
    ]
    for order_id in ids[1:-1:2] + ids[2:-1:2][:10]:  # cancels in the middle of the queue
        engine.cancel_order("maker", BTC_USDT, order_id=order_id, ts_ns=T0)
    open_ids = [o.order_id for o in engine.open_orders("maker")]

    assert engine.depth(BTC_USDT).asks[0].quantity == D("0.01") * len(open_ids)
    result = engine.submit_market("taker", BTC_USDT, Side.BUY, quantity=D("1"), ts_ns=T0)
    assert [t.maker_order_id for t in result.trades] == open_ids


def test_cancel_of_a_partially_filled_order_releases_only_the_rest() -> None:
    engine = funded_engine("maker", "taker")
    placed = engine.submit_limit("maker", BTC_USDT, Side.BUY, D("1"), D("30000"), ts_ns=T0)
    engine.submit_market("taker", BTC_USDT, Side.SELL, quantity=D("0.25"), ts_ns=T0)

    canceled = engine.cancel_order("maker", BTC_USDT, order_id=placed.order.order_id, ts_ns=T0)

    assert canceled.executed_quantity == D("0.25")
    usdt = engine.balance("maker", "USDT")
    assert (usdt.free, usdt.locked) == (D("1000000") - D("7500"), D("0"))


def test_cancel_open_orders_cancels_only_that_accounts_orders_on_that_symbol() -> None:
    engine = make_engine(btc_usdt(), eth_btc())
    for who in ("alice", "bob"):
        engine.deposit(who, "BTC", D("10"))
        engine.deposit(who, "ETH", D("10"))
    engine.submit_limit("alice", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)
    engine.submit_limit("alice", BTC_USDT, Side.SELL, D("1"), D("30001"), ts_ns=T0)
    engine.submit_limit("alice", ETH_BTC, Side.SELL, D("1"), D("0.05"), ts_ns=T0)
    engine.submit_limit("bob", BTC_USDT, Side.SELL, D("1"), D("30002"), ts_ns=T0)

    canceled = engine.cancel_open_orders("alice", BTC_USDT, ts_ns=T0)

    assert [o.price for o in canceled] == [D("30000"), D("30001")]
    assert [o.symbol for o in engine.open_orders("alice")] == [ETH_BTC]
    assert len(engine.open_orders("bob")) == 1
