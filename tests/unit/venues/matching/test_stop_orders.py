"""Stop-loss and take-profit orders: held at placement, waiting NEW and not working,
triggered by trade prices (Binance's direction rules), refused if they would trigger at
once, and canceled with their hold released."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.domain.model import OrderType, Side, TimeInForce
from tradewind.venues.simulated.matching import (
    MatchingEngine,
    MatchingOrderStatus,
    StopType,
    SubmitRejected,
    TriggeredOrder,
)

from .factories import BTC_USDT, T0, D, funded_engine

SL, TP = StopType.STOP_LOSS, StopType.TAKE_PROFIT


def traded_at(price: str, *accounts: str) -> MatchingEngine:
    """An engine whose last trade printed at `price`, with `accounts` funded."""
    engine = funded_engine("maker", "taker", *accounts)
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("0.01"), D(price), ts_ns=T0)
    engine.submit_market("taker", BTC_USDT, Side.BUY, quantity=D("0.01"), ts_ns=T0)
    assert engine.last_price(BTC_USDT) == D(price)
    return engine


def print_trade(engine: MatchingEngine, price: str, ts: int = T0 + 10) -> list[TriggeredOrder]:
    """A trade at `price` between the maker and the taker; the stops it triggered."""
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("0.01"), D(price), ts_ns=ts)
    result = engine.submit_market("taker", BTC_USDT, Side.BUY, quantity=D("0.01"), ts_ns=ts)
    return [c for c in result.consequences if isinstance(c, TriggeredOrder)]


def test_a_stop_limit_sell_waits_new_not_working_and_holds_its_quantity() -> None:
    engine = traded_at("30000", "me")
    placed = engine.submit_stop(
        "me", BTC_USDT, Side.SELL, SL, D("0.5"), D("29000"), price=D("28900"), ts_ns=T0 + 1
    )
    order = placed.order
    assert (order.status, order.is_working, order.working_ms) == (
        MatchingOrderStatus.NEW,
        False,
        -1,
    )
    assert (order.order_type, order.stop_type, order.stop_price) == (
        OrderType.LIMIT,
        SL,
        D("29000"),
    )
    assert engine.balance("me", "BTC").locked == D("0.5")
    assert engine.open_orders("me") == [order]
    assert engine.depth(BTC_USDT).asks == engine.depth(BTC_USDT).asks  # not on the book
    assert all(level.price != D("28900") for level in engine.depth(BTC_USDT).asks)


@pytest.mark.parametrize(
    ("side", "stop_type", "stop", "refused_stop"),
    [
        (Side.SELL, SL, "29000", "30000"),  # below the market
        (Side.BUY, SL, "31000", "30000"),  # above
        (Side.SELL, TP, "31000", "29999"),  # above
        (Side.BUY, TP, "29000", "30001"),  # below
    ],
)
def test_a_stop_that_would_trigger_at_once_is_refused_with_binances_error(
    side: Side, stop_type: StopType, stop: str, refused_stop: str
) -> None:
    engine = traded_at("30000", "me")
    engine.submit_stop("me", BTC_USDT, side, stop_type, D("0.01"), D(stop), ts_ns=T0 + 1)
    with pytest.raises(SubmitRejected) as refused:
        engine.submit_stop("me", BTC_USDT, side, stop_type, D("0.01"), D(refused_stop), ts_ns=T0)
    assert (refused.value.code, refused.value.msg) == (-2010, "Order would trigger immediately.")


def test_a_sell_stop_loss_triggers_when_a_trade_prints_at_or_below_its_stop() -> None:
    engine = traded_at("30000", "me")
    stop = engine.submit_stop("me", BTC_USDT, Side.SELL, SL, D("0.1"), D("29000"), ts_ns=T0 + 1)
    engine.submit_limit("maker", BTC_USDT, Side.BUY, D("1"), D("28000"), ts_ns=T0 + 2)
    assert print_trade(engine, "29001") == []
    [fired] = print_trade(engine, "29000", T0 + 20)
    order = fired.result.order
    assert order.order_id == stop.order.order_id and order.order_type is OrderType.MARKET
    assert order.status is MatchingOrderStatus.FILLED and order.working_ns == T0 + 20
    assert [(t.price, t.quantity) for t in fired.result.trades] == [(D("28000"), D("0.1"))]
    btc = engine.balance("me", "BTC")
    assert (btc.free, btc.locked) == (D("99.9"), 0)
    assert engine.balance("me", "USDT").free == D("1000000") + D("2800") * D("0.999")


def test_a_buy_stop_loss_limit_triggers_at_or_above_and_rests_what_does_not_fill() -> None:
    engine = traded_at("30000", "me")
    engine.submit_stop(
        "me", BTC_USDT, Side.BUY, SL, D("0.2"), D("31000"), price=D("31100"), ts_ns=T0 + 1
    )
    assert engine.balance("me", "USDT").locked == D("6220")
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("0.05"), D("31050"), ts_ns=T0 + 2)
    [fired] = print_trade(engine, "31000")
    order = fired.result.order
    assert order.status is MatchingOrderStatus.PARTIALLY_FILLED and order.is_working
    assert order.executed_quantity == D("0.05")
    usdt = engine.balance("me", "USDT")
    assert usdt.locked == D("31100") * D("0.15")
    assert usdt.free + usdt.locked == D("1000000") - D("31050") * D("0.05")
    assert engine.depth(BTC_USDT).bids[0].price == D("31100")


def test_a_take_profit_sell_triggers_on_a_trade_at_or_above_its_stop() -> None:
    engine = traded_at("30000", "me")
    engine.submit_stop("me", BTC_USDT, Side.SELL, TP, D("0.1"), D("31000"), ts_ns=T0 + 1)
    engine.submit_limit("maker", BTC_USDT, Side.BUY, D("1"), D("30500"), ts_ns=T0 + 2)
    assert print_trade(engine, "30999") == []
    [fired] = print_trade(engine, "31000", T0 + 30)
    assert fired.result.order.status is MatchingOrderStatus.FILLED
    assert fired.result.trades[0].price == D("30500")


def test_triggered_stops_cascade_and_fire_oldest_first() -> None:
    engine = traded_at("30000", "a", "b")
    engine.submit_limit("maker", BTC_USDT, Side.BUY, D("0.1"), D("28900"), ts_ns=T0 + 1)
    engine.submit_limit("maker", BTC_USDT, Side.BUY, D("0.1"), D("28500"), ts_ns=T0 + 1)
    engine.submit_limit("maker", BTC_USDT, Side.BUY, D("0.1"), D("28000"), ts_ns=T0 + 1)
    first = engine.submit_stop("a", BTC_USDT, Side.SELL, SL, D("0.2"), D("29000"), ts_ns=T0 + 2)
    second = engine.submit_stop("b", BTC_USDT, Side.SELL, SL, D("0.1"), D("28800"), ts_ns=T0 + 3)
    # A print at 29000 fires a's stop; its market sell walks down to 28500, which fires b's.
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("0.01"), D("29000"), ts_ns=T0 + 4)
    result = engine.submit_market("taker", BTC_USDT, Side.BUY, quantity=D("0.01"), ts_ns=T0 + 5)
    fired = [c.result.order.order_id for c in result.consequences if isinstance(c, TriggeredOrder)]
    assert fired == [first.order.order_id, second.order.order_id]
    assert engine.last_price(BTC_USDT) == D("28000")


def test_canceling_a_waiting_stop_releases_its_hold_without_touching_the_book() -> None:
    engine = traded_at("30000", "me")
    update_id = engine.update_id(BTC_USDT)
    placed = engine.submit_stop(
        "me", BTC_USDT, Side.BUY, TP, D("0.1"), D("29000"), price=D("29000"), ts_ns=T0 + 1
    )
    assert engine.balance("me", "USDT").locked == D("2900")
    canceled = engine.cancel_order("me", BTC_USDT, order_id=placed.order.order_id, ts_ns=T0 + 2)
    assert canceled.status is MatchingOrderStatus.CANCELED and engine.open_orders("me") == []
    assert engine.balance("me", "USDT") == engine.balance("me", "USDT").__class__(
        "USDT", D("1000000"), D(0)
    )
    assert engine.update_id(BTC_USDT) == update_id
    assert print_trade(engine, "28000") == []  # a canceled stop never fires


def test_stop_filters_and_balance_are_checked_at_placement() -> None:
    engine = traded_at("30000", "me")
    with pytest.raises(SubmitRejected, match="PRICE_FILTER"):
        engine.submit_stop("me", BTC_USDT, Side.SELL, SL, D("0.1"), D("29000.001"), ts_ns=T0)
    with pytest.raises(SubmitRejected, match="LOT_SIZE"):
        engine.submit_stop("me", BTC_USDT, Side.SELL, SL, D("0.000001"), D("29000"), ts_ns=T0)
    with pytest.raises(SubmitRejected, match="NOTIONAL"):
        engine.submit_stop(
            "me", BTC_USDT, Side.SELL, SL, D("0.0001"), D("29000"), price=D("10"), ts_ns=T0
        )
    with pytest.raises(SubmitRejected, match="insufficient balance"):
        engine.submit_stop("me", BTC_USDT, Side.SELL, SL, D("101"), D("29000"), ts_ns=T0)
    with pytest.raises(SubmitRejected, match="insufficient balance"):
        engine.submit_stop("me", BTC_USDT, Side.BUY, SL, D("40"), D("31000"), ts_ns=T0)
    assert engine.open_orders("me") == []


def test_an_ioc_stop_limit_expires_what_it_cannot_fill_when_triggered() -> None:
    engine = traded_at("30000", "me")
    engine.submit_stop(
        "me", BTC_USDT, Side.SELL, SL, D("0.3"), D("29000"), price=D("28900"),
        time_in_force=TimeInForce.IOC, ts_ns=T0 + 1,
    )  # fmt: skip
    engine.submit_limit("maker", BTC_USDT, Side.BUY, D("0.1"), D("28950"), ts_ns=T0 + 2)
    engine.submit_limit("maker", BTC_USDT, Side.BUY, D("0.1"), D("29000"), ts_ns=T0 + 2)
    engine.submit_limit("maker", BTC_USDT, Side.BUY, D("0.01"), D("29000"), ts_ns=T0 + 2)
    result = engine.submit_market("taker", BTC_USDT, Side.SELL, quantity=D("0.01"), ts_ns=T0 + 3)
    [fired] = [c for c in result.consequences if isinstance(c, TriggeredOrder)]
    assert fired.result.order.status is MatchingOrderStatus.EXPIRED
    assert fired.result.order.executed_quantity == D("0.2")
    assert engine.balance("me", "BTC") == engine.balance("me", "BTC").__class__(
        "BTC", D("99.8"), D(0)
    )


def test_a_triggered_market_buy_spends_what_its_hold_released_and_expires_the_rest() -> None:
    engine = traded_at("30000")
    engine.deposit("poor", "USDT", Decimal("310"))
    engine.submit_stop("poor", BTC_USDT, Side.BUY, SL, D("0.01"), D("31000"), ts_ns=T0 + 1)
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("1"), D("99999"), ts_ns=T0 + 2)
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("0.01"), D("31000"), ts_ns=T0 + 2)
    result = engine.submit_market("taker", BTC_USDT, Side.BUY, quantity=D("0.01"), ts_ns=T0 + 3)
    [fired] = [c for c in result.consequences if isinstance(c, TriggeredOrder)]
    # The ask at 31000 is gone; 310 USDT buys 0.0031 BTC at 99999.
    assert fired.result.order.status is MatchingOrderStatus.EXPIRED
    assert fired.result.order.executed_quantity == D("0.0031")
    assert engine.balance("poor", "USDT").free == D("310") - D("99999") * D("0.0031")
