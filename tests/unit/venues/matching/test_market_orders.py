"""Market orders: by base quantity, by quote amount (quoteOrderQty), and running dry."""

from __future__ import annotations

import pytest

from tradewind.domain.model import Side
from tradewind.venues.simulated.matching import MatchingOrderStatus, SubmitRejected

from .factories import BTC_USDT, T0, D, funded_engine, make_engine


def test_market_order_walks_the_book_and_pays_taker_fee() -> None:
    engine = funded_engine("m1", "m2")
    engine.deposit("taker", "USDT", D("100000"))
    engine.submit_limit("m1", BTC_USDT, Side.SELL, D("0.5"), D("30000"), ts_ns=T0)
    engine.submit_limit("m2", BTC_USDT, Side.SELL, D("1"), D("30010"), ts_ns=T0)

    result = engine.submit_market("taker", BTC_USDT, Side.BUY, quantity=D("1"), ts_ns=T0 + 1)

    assert result.order.status is MatchingOrderStatus.FILLED
    assert [(t.price, t.quantity) for t in result.trades] == [
        (D("30000"), D("0.5")),
        (D("30010"), D("0.5")),
    ]
    assert result.order.cumulative_quote_quantity == D("30005")
    assert [(t.taker_fee, t.taker_fee_asset) for t in result.trades] == [
        (D("0.0005"), "BTC"),
        (D("0.0005"), "BTC"),
    ]
    assert engine.balance("taker", "USDT").free == D("69995")
    assert engine.balance("taker", "BTC").free == D("0.999")
    assert engine.balance("m1", "USDT").free == D("1000000") + D("15000") - D("15")
    assert engine.fees_collected() == {"BTC": D("0.001"), "USDT": D("30.005")}


def test_market_order_larger_than_the_book_expires_the_remainder() -> None:
    engine = funded_engine("maker", "taker")
    engine.submit_limit("maker", BTC_USDT, Side.BUY, D("0.3"), D("30000"), ts_ns=T0)

    result = engine.submit_market("taker", BTC_USDT, Side.SELL, quantity=D("1"), ts_ns=T0)

    assert result.order.status is MatchingOrderStatus.EXPIRED
    assert result.order.executed_quantity == D("0.3")
    assert engine.balance("taker", "BTC").locked == 0


def test_market_order_on_an_empty_book_expires_without_trades() -> None:
    engine = funded_engine("taker")

    result = engine.submit_market("taker", BTC_USDT, Side.BUY, quantity=D("1"), ts_ns=T0)

    assert (result.order.status, result.trades) == (MatchingOrderStatus.EXPIRED, [])


def test_market_buy_by_quote_amount_buys_whole_lots_within_the_amount() -> None:
    engine = funded_engine("maker", "taker")
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)

    result = engine.submit_market("taker", BTC_USDT, Side.BUY, quote_quantity=D("1000"), ts_ns=T0)

    order = result.order
    assert order.status is MatchingOrderStatus.FILLED
    assert order.executed_quantity == D("0.03333")  # 1000 / 30000, down to the 0.00001 step
    assert order.quantity == order.executed_quantity  # origQty, as Binance reports it
    assert order.cumulative_quote_quantity == D("999.9")
    assert order.quote_order_quantity == D("1000")


def test_market_buy_by_quote_amount_walks_several_levels() -> None:
    engine = funded_engine("maker", "taker")
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("0.01"), D("30000"), ts_ns=T0)
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("1"), D("31000"), ts_ns=T0)

    result = engine.submit_market("taker", BTC_USDT, Side.BUY, quote_quantity=D("610"), ts_ns=T0)

    # 300 USDT buys the 0.01 at 30000; the other 310 buy 0.01 at 31000.
    assert [(t.price, t.quantity) for t in result.trades] == [
        (D("30000"), D("0.01")),
        (D("31000"), D("0.01")),
    ]
    assert result.order.status is MatchingOrderStatus.FILLED


def test_market_buy_by_quote_amount_larger_than_the_book_expires() -> None:
    engine = funded_engine("maker", "taker")
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("0.01"), D("30000"), ts_ns=T0)

    result = engine.submit_market("taker", BTC_USDT, Side.BUY, quote_quantity=D("1000"), ts_ns=T0)

    assert result.order.status is MatchingOrderStatus.EXPIRED
    assert result.order.cumulative_quote_quantity == D("300")


def test_market_buy_stops_when_free_quote_runs_out_and_expires_the_rest() -> None:
    engine = funded_engine("maker")
    engine.deposit("taker", "USDT", D("20000"))
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)

    result = engine.submit_market("taker", BTC_USDT, Side.BUY, quantity=D("1"), ts_ns=T0)

    assert result.order.status is MatchingOrderStatus.EXPIRED
    assert result.order.executed_quantity == D("0.66666")
    assert engine.balance("taker", "USDT").free == D("0.2")


def test_market_buy_that_cannot_afford_one_lot_is_rejected() -> None:
    engine = funded_engine("maker")
    engine.deposit("taker", "USDT", D("0.1"))
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)

    with pytest.raises(SubmitRejected) as rejected:
        engine.submit_market("taker", BTC_USDT, Side.BUY, quantity=D("1"), ts_ns=T0)

    assert rejected.value.code == -2010


def test_market_buy_by_quote_amount_beyond_free_quote_is_rejected() -> None:
    engine = make_engine()
    engine.deposit("taker", "USDT", D("100"))

    with pytest.raises(SubmitRejected, match="insufficient balance"):
        engine.submit_market("taker", BTC_USDT, Side.BUY, quote_quantity=D("101"), ts_ns=T0)


def test_market_sell_without_the_base_quantity_is_rejected() -> None:
    engine = funded_engine("maker")
    engine.deposit("taker", "BTC", D("0.5"))
    engine.submit_limit("maker", BTC_USDT, Side.BUY, D("1"), D("30000"), ts_ns=T0)

    with pytest.raises(SubmitRejected, match="insufficient balance"):
        engine.submit_market("taker", BTC_USDT, Side.SELL, quantity=D("0.6"), ts_ns=T0)


def test_market_sell_by_quote_amount_sells_just_enough_base() -> None:
    engine = funded_engine("maker", "taker")
    engine.submit_limit("maker", BTC_USDT, Side.BUY, D("1"), D("30000"), ts_ns=T0)

    result = engine.submit_market("taker", BTC_USDT, Side.SELL, quote_quantity=D("3000"), ts_ns=T0)

    assert result.order.status is MatchingOrderStatus.FILLED
    assert result.order.executed_quantity == D("0.1")
    assert result.trades[0].taker_fee == D("3")  # 0.1 % of the 3000 USDT received
    assert result.trades[0].taker_fee_asset == "USDT"


def test_market_order_needs_exactly_one_of_quantity_and_quote_quantity() -> None:
    engine = funded_engine("taker")

    with pytest.raises(SubmitRejected) as neither:
        engine.submit_market("taker", BTC_USDT, Side.BUY, ts_ns=T0)
    with pytest.raises(SubmitRejected) as both:
        engine.submit_market(
            "taker", BTC_USDT, Side.BUY, quantity=D("1"), quote_quantity=D("1"), ts_ns=T0
        )

    assert neither.value.code == -1102
    assert both.value.code == -1106


def test_market_order_below_min_notional_at_the_best_price_is_rejected() -> None:
    engine = funded_engine("maker", "taker")
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)

    with pytest.raises(SubmitRejected) as rejected:
        engine.submit_market("taker", BTC_USDT, Side.BUY, quantity=D("0.0001"), ts_ns=T0)

    assert (rejected.value.code, rejected.value.msg) == (-1013, "Filter failure: NOTIONAL")


def test_market_order_by_quote_below_min_notional_is_rejected() -> None:
    engine = funded_engine("taker")

    with pytest.raises(SubmitRejected, match="NOTIONAL"):
        engine.submit_market("taker", BTC_USDT, Side.BUY, quote_quantity=D("4.99"), ts_ns=T0)


def test_market_order_snapshot_has_no_price_or_time_in_force() -> None:
    engine = funded_engine("maker", "taker")
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)

    order = engine.submit_market("taker", BTC_USDT, Side.BUY, quantity=D("1"), ts_ns=T0).order

    assert (order.price, order.quote_order_quantity) == (D("0"), D("0"))
    assert order.time_in_force is None
