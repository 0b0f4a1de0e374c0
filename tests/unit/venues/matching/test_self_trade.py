"""Self-trade prevention, Binance's default mode EXPIRE_TAKER."""

from __future__ import annotations

from tradewind.domain.model import Side, TimeInForce
from tradewind.venues.simulated.matching import MatchingOrderStatus

from .factories import BTC_USDT, T0, D, funded_engine


def test_self_trade_expires_the_taker() -> None:
    engine = funded_engine("alice")
    resting = engine.submit_limit("alice", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)
    depth_before = engine.depth(BTC_USDT)

    result = engine.submit_limit("alice", BTC_USDT, Side.BUY, D("1"), D("30000"), ts_ns=T0)

    assert result.order.status is MatchingOrderStatus.EXPIRED_IN_MATCH
    assert result.trades == []
    assert result.prevented_maker_order_id == resting.order.order_id
    assert engine.depth(BTC_USDT) == depth_before  # the resting order is kept
    assert engine.balance("alice", "USDT").locked == 0  # the taker holds nothing


def test_self_trade_prevention_keeps_the_fills_before_the_own_order() -> None:
    engine = funded_engine("alice", "bob")
    engine.submit_limit("bob", BTC_USDT, Side.SELL, D("0.5"), D("30000"), ts_ns=T0)
    engine.submit_limit("alice", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)
    engine.submit_limit("bob", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)

    result = engine.submit_limit("alice", BTC_USDT, Side.BUY, D("2"), D("30000"), ts_ns=T0)

    assert result.order.status is MatchingOrderStatus.EXPIRED_IN_MATCH
    assert result.order.executed_quantity == D("0.5")
    assert [t.maker_account_id for t in result.trades] == ["bob"]
    assert engine.depth(BTC_USDT).asks[0].quantity == D("2")


def test_self_trade_prevention_applies_to_market_orders() -> None:
    engine = funded_engine("alice")
    engine.submit_limit("alice", BTC_USDT, Side.BUY, D("1"), D("30000"), ts_ns=T0)

    result = engine.submit_market("alice", BTC_USDT, Side.SELL, quantity=D("1"), ts_ns=T0)

    assert result.order.status is MatchingOrderStatus.EXPIRED_IN_MATCH
    assert engine.balance("alice", "BTC").free == D("100")


def test_fok_counts_no_liquidity_behind_an_own_resting_order() -> None:
    engine = funded_engine("alice", "bob")
    engine.submit_limit("alice", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)
    engine.submit_limit("bob", BTC_USDT, Side.SELL, D("5"), D("30000"), ts_ns=T0)

    result = engine.submit_limit(
        "alice", BTC_USDT, Side.BUY, D("1"), D("30000"), time_in_force=TimeInForce.FOK, ts_ns=T0
    )

    assert result.order.status is MatchingOrderStatus.EXPIRED
    assert result.trades == []


def test_orders_of_different_accounts_match_normally() -> None:
    engine = funded_engine("alice", "bob")
    engine.submit_limit("alice", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)

    result = engine.submit_limit("bob", BTC_USDT, Side.BUY, D("1"), D("30000"), ts_ns=T0)

    assert result.order.status is MatchingOrderStatus.FILLED
    assert result.prevented_maker_order_id is None
