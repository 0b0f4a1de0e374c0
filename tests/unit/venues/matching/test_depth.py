"""Book depth, best bid/ask, update ids and Binance-style depth diffs."""

from __future__ import annotations

import pytest

from tradewind.domain.events import BookLevel
from tradewind.domain.model import Side, TimeInForce
from tradewind.venues.simulated.matching import SubmitRejected

from .factories import BTC_USDT, ETH_BTC, T0, D, btc_usdt, fine_eth_btc, funded_engine, make_engine


def _levels(levels: tuple[BookLevel, ...]) -> list[tuple[str, str]]:
    return [(str(lvl.price), str(lvl.quantity)) for lvl in levels]


def test_depth_aggregates_levels_best_first_and_limits_them() -> None:
    engine = funded_engine("a", "b")
    for who, side, quantity, price in [
        ("a", Side.BUY, "1", "29990"),
        ("b", Side.BUY, "2", "29990"),
        ("a", Side.BUY, "1", "29995"),
        ("a", Side.BUY, "1", "29980"),
        ("b", Side.SELL, "1", "30010"),
        ("b", Side.SELL, "0.5", "30005"),
    ]:
        engine.submit_limit(who, BTC_USDT, side, D(quantity), D(price), ts_ns=T0)

    depth = engine.depth(BTC_USDT, limit=2)

    assert _levels(depth.bids) == [("29995.00", "1.00000"), ("29990.00", "3.00000")]
    assert _levels(depth.asks) == [("30005.00", "0.50000"), ("30010.00", "1.00000")]
    assert depth.last_update_id == 6


def test_update_id_counts_book_changing_operations_only() -> None:
    engine = funded_engine("a", "b")
    engine.submit_limit("a", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)  # 1
    engine.submit_limit("b", BTC_USDT, Side.BUY, D("2"), D("30000"), ts_ns=T0)  # 2: fill + rest
    engine.submit_limit(
        "a", BTC_USDT, Side.SELL, D("1"), D("31000"), time_in_force=TimeInForce.IOC, ts_ns=T0
    )  # expired without a trade: no change
    with pytest.raises(SubmitRejected):  # rejected: no change
        engine.submit_limit("a", BTC_USDT, Side.SELL, D("1"), D("30000.001"), ts_ns=T0)
    engine.cancel_open_orders("b", BTC_USDT, ts_ns=T0)  # 3

    assert engine.update_id(BTC_USDT) == 3


def test_drain_depth_update_reports_changed_levels_and_their_update_id_range() -> None:
    engine = funded_engine("a", "b")
    engine.submit_limit("a", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)
    engine.submit_limit("a", BTC_USDT, Side.SELL, D("1"), D("30010"), ts_ns=T0)
    first = engine.drain_depth_update(BTC_USDT)
    engine.submit_limit("b", BTC_USDT, Side.BUY, D("1.5"), D("30010"), ts_ns=T0)
    engine.submit_limit("b", BTC_USDT, Side.BUY, D("1"), D("29000"), ts_ns=T0)

    second = engine.drain_depth_update(BTC_USDT)

    assert first is not None and second is not None
    assert (first.first_update_id, first.final_update_id) == (1, 2)
    assert (second.first_update_id, second.final_update_id) == (3, 4)
    assert _levels(second.asks) == [("30000.00", "0.00000"), ("30010.00", "0.50000")]
    assert _levels(second.bids) == [("29000.00", "1.00000")]


def test_drain_depth_update_is_none_when_nothing_changed() -> None:
    engine = funded_engine("a")
    assert engine.drain_depth_update(BTC_USDT) is None
    engine.submit_limit("a", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)
    engine.drain_depth_update(BTC_USDT)
    assert engine.drain_depth_update(BTC_USDT) is None


def test_drain_depth_updates_gives_the_books_that_changed_and_drains_them() -> None:
    engine = make_engine(btc_usdt(), fine_eth_btc())
    engine.deposit("a", "BTC", D("10"))
    assert engine.drain_depth_updates() == []
    engine.submit_limit("a", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)
    engine.submit_limit("a", ETH_BTC, Side.BUY, D("1"), D("0.05"), ts_ns=T0)
    engine.drain_depth_update(BTC_USDT)  # drained apart: not given again

    (update,) = engine.drain_depth_updates()

    assert update.symbol == ETH_BTC
    assert _levels(update.bids) == [("0.05000000", "1.00000")]
    assert engine.drain_depth_updates() == []
    assert engine.drain_depth_update(ETH_BTC) is None


def test_book_ticker_and_last_price() -> None:
    engine = funded_engine("a", "b")
    empty = engine.book_ticker(BTC_USDT)
    engine.submit_limit("a", BTC_USDT, Side.SELL, D("1"), D("30000"), ts_ns=T0)
    engine.submit_limit("a", BTC_USDT, Side.SELL, D("2"), D("30001"), ts_ns=T0)
    engine.submit_limit("b", BTC_USDT, Side.BUY, D("1.25"), D("29999"), ts_ns=T0)
    engine.submit_market("b", BTC_USDT, Side.BUY, quantity=D("0.5"), ts_ns=T0)

    ticker = engine.book_ticker(BTC_USDT)

    assert (empty.bid_price, empty.ask_price) == (None, None)
    assert (ticker.bid_price, ticker.bid_quantity) == (D("29999"), D("1.25"))
    assert (ticker.ask_price, ticker.ask_quantity) == (D("30000"), D("0.5"))
    assert engine.last_price(BTC_USDT) == D("30000")


def test_levels_that_empty_and_return_keep_the_best_price_right() -> None:
    engine = funded_engine("a", "b")
    for _ in range(200):
        engine.submit_limit("a", BTC_USDT, Side.SELL, D("0.01"), D("30000"), ts_ns=T0)
        engine.submit_limit("a", BTC_USDT, Side.SELL, D("0.01"), D("30001"), ts_ns=T0)
        engine.submit_market("b", BTC_USDT, Side.BUY, quantity=D("0.02"), ts_ns=T0)
    engine.submit_limit("a", BTC_USDT, Side.SELL, D("1"), D("30002"), ts_ns=T0)

    assert engine.book_ticker(BTC_USDT).ask_price == D("30002")
    assert len(engine.depth(BTC_USDT).asks) == 1


def test_best_price_stays_right_when_deep_levels_come_and_go_many_times() -> None:
    engine = funded_engine("a")
    engine.submit_limit("a", BTC_USDT, Side.SELL, D("0.01"), D("30000"), ts_ns=T0)
    engine.submit_limit("a", BTC_USDT, Side.BUY, D("0.01"), D("29000"), ts_ns=T0)
    for i in range(500):
        ask = D("30001") + i % 7
        bid = D("28999") - i % 5
        placed = [
            engine.submit_limit("a", BTC_USDT, Side.SELL, D("0.01"), ask, ts_ns=T0),
            engine.submit_limit("a", BTC_USDT, Side.BUY, D("0.01"), bid, ts_ns=T0),
        ]
        for result in placed:
            engine.cancel_order("a", BTC_USDT, order_id=result.order.order_id, ts_ns=T0)

    ticker = engine.book_ticker(BTC_USDT)
    assert (ticker.bid_price, ticker.ask_price) == (D("29000"), D("30000"))
    assert (len(engine.depth(BTC_USDT).bids), len(engine.depth(BTC_USDT).asks)) == (1, 1)
