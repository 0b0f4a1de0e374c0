"""The Coinbase WebSocket's messages, built from engine values: envelope, times, book
levels, trades, tickers, candles and the user channel's orders."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest

from tradewind.domain.events import BookLevel
from tradewind.domain.model import OrderType, Side
from tradewind.venues.simulated.instruments import spec_for
from tradewind.venues.simulated.kline import Kline
from tradewind.venues.simulated.matching import MatchingEngine, MatchingOrderStatus
from tradewind.venues.simulated.server.coinbase import streams_payloads as payloads
from tradewind.venues.simulated.server.coinbase.streams_payloads import OrderFills, TickerFigures

D = Decimal


def test_envelope_wraps_encoded_events_with_the_connections_number() -> None:
    events = payloads.encode_events([{"type": "update", "x": "1"}])
    text = payloads.envelope("l2_data", "2023-02-09T20:32:50.714964855Z", 7, events)
    assert json.loads(text) == {
        "channel": "l2_data",
        "client_id": "",
        "timestamp": "2023-02-09T20:32:50.714964855Z",
        "sequence_num": 7,
        "events": [{"type": "update", "x": "1"}],
    }


@pytest.mark.parametrize(
    ("ns", "text"),
    [
        (1_675_974_770_714_964_855, "2023-02-09T20:32:50.714964855Z"),
        (1_675_974_770_100_000_000, "2023-02-09T20:32:50.1Z"),
        (1_675_974_770_000_000_000, "2023-02-09T20:32:50Z"),
    ],
)
def test_rfc3339_prints_nanoseconds_without_trailing_zeros(ns: int, text: str) -> None:
    assert payloads.rfc3339(ns) == text


def test_go_time_is_how_coinbase_prints_a_heartbeats_current_time() -> None:
    text = payloads.go_time(1_687_552_316_121_961_769, 91717.525857105)
    assert text == "2023-06-23 20:31:56.121961769 +0000 UTC m=+91717.525857105"


def test_l2_event_lists_bids_then_offers_with_their_new_totals() -> None:
    event = payloads.l2_event(
        "update", "BTC-USD", [BookLevel(D("100.5"), D("2"))], [BookLevel(D("101"), D("0"))], "T"
    )
    assert event == {
        "type": "update",
        "product_id": "BTC-USD",
        "updates": [
            {"side": "bid", "event_time": "T", "price_level": "100.5", "new_quantity": "2"},
            {"side": "offer", "event_time": "T", "price_level": "101", "new_quantity": "0"},
        ],
    }


def _engine() -> MatchingEngine:
    engine = MatchingEngine(maker_fee=D("0.001"), taker_fee=D("0.002"))
    engine.add_instrument(spec_for("sim", "BTC/USD", D(30_000)))
    for account in ("maker", "taker"):
        engine.deposit(account, "USD", D(1_000_000))
        engine.deposit(account, "BTC", D(10))
    return engine


def test_market_trades_are_newest_first_with_the_makers_side() -> None:
    engine = _engine()
    engine.submit_limit("maker", "BTC/USD", Side.SELL, D("0.5"), D("30000"), ts_ns=1)
    engine.submit_limit("maker", "BTC/USD", Side.SELL, D("0.5"), D("30001"), ts_ns=2)
    result = engine.submit_market("taker", "BTC/USD", Side.BUY, quantity=D("0.7"), ts_ns=3)
    event = payloads.market_trades_event("update", result.trades)
    assert [t["price"] for t in event["trades"]] == ["30001.00", "30000.00"]  # type: ignore[index]
    first = event["trades"][0]  # type: ignore[index]
    assert first == {
        "trade_id": str(result.trades[1].trade_id),
        "product_id": "BTC-USD",
        "price": "30001.00",
        "size": format(result.trades[1].quantity, "f"),
        "side": "SELL",
        "time": "1970-01-01T00:00:00.000000003Z",
    }


def _figures() -> TickerFigures:
    return TickerFigures(
        product="BTC-USD", price=D("30000.5"), volume_24h=D("12.5"), low_24h=D("29000"),
        high_24h=D("31000"), low_52w=D("20000"), high_52w=D("40000"),
        change_24h_percent=D("1.25"), best_bid=D("30000"), best_bid_quantity=D("1.5"),
        best_ask=None, best_ask_quantity=None,
    )  # fmt: skip


def test_ticker_carries_the_top_of_the_book_and_ticker_batch_does_not() -> None:
    (ticker,) = payloads.ticker_event("snapshot", [_figures()], batch=False)["tickers"]  # type: ignore[misc]
    assert ticker["type"] == "ticker" and ticker["price"] == "30000.5"
    assert ticker["price_percent_chg_24_h"] == "1.25"
    assert (ticker["best_bid"], ticker["best_ask"]) == ("30000", "")  # no asks: empty
    (batched,) = payloads.ticker_event("update", [_figures()], batch=True)["tickers"]  # type: ignore[misc]
    assert "best_bid" not in batched and batched["volume_24_h"] == "12.5"


def test_candle_start_is_in_seconds() -> None:
    kline = Kline(1_700_000_100_000, 300_000, D(1), D(3), D("0.5"), D(2), D(7), D(14), 3)
    (candle,) = payloads.candles_event("update", "BTC-USD", [kline])["candles"]  # type: ignore[misc]
    assert candle == {
        "start": "1700000100", "high": "3", "low": "0.5", "open": "1", "close": "2",
        "volume": "7", "product_id": "BTC-USD",
    }  # fmt: skip


def test_user_order_of_a_partly_filled_limit_buy() -> None:
    engine = _engine()
    engine.submit_limit("maker", "BTC/USD", Side.SELL, D("0.25"), D("30000"), ts_ns=1)
    result = engine.submit_limit(
        "taker", "BTC/USD", Side.BUY, D("1"), D("30000"), client_order_id="c-1", ts_ns=2
    )
    order = result.order
    assert order.status is MatchingOrderStatus.PARTIALLY_FILLED
    message = payloads.user_order(
        order, "uuid-1", order.status, order.executed_quantity,
        order.cumulative_quote_quantity, OrderFills(1, D("15")),
    )  # fmt: skip
    assert message["order_id"] == "uuid-1" and message["client_order_id"] == "c-1"
    assert message["status"] == "OPEN"
    assert D(message["cumulative_quantity"]) == D("0.25")
    assert D(message["leaves_quantity"]) == D("0.75")
    assert D(message["avg_price"]) == D(30000)
    assert D(message["filled_value"]) == D(7500)
    assert D(message["total_fees"]) == D(15)
    assert D(message["total_value_after_fees"]) == D(7515)  # a buyer pays the fee on top
    assert D(message["outstanding_hold_amount"]) == D("0.75") * D(30000)
    assert message["number_of_fills"] == "1"
    assert D(message["completion_percentage"]) == D(25)
    assert (message["order_side"], message["order_type"]) == ("BUY", "Limit")
    assert message["time_in_force"] == "GOOD_UNTIL_CANCELLED"
    assert message["trigger_status"] == "INVALID_ORDER_TYPE"
    assert message["product_id"] == "BTC-USD" and message["creation_time"].endswith("Z")


@pytest.mark.parametrize(
    ("status", "shown"),
    [
        (MatchingOrderStatus.NEW, "OPEN"),
        (MatchingOrderStatus.FILLED, "FILLED"),
        (MatchingOrderStatus.CANCELED, "CANCELLED"),
        (MatchingOrderStatus.EXPIRED, "EXPIRED"),
    ],
)
def test_user_order_status_is_coinbases(status: MatchingOrderStatus, shown: str) -> None:
    engine = _engine()
    order = engine.submit_limit("maker", "BTC/USD", Side.SELL, D("1"), D("31000"), ts_ns=1).order
    message = payloads.user_order(order, "id", status, D(0), D(0), OrderFills())
    assert message["status"] == shown
    if status is not MatchingOrderStatus.NEW:
        assert D(message["leaves_quantity"]) == 0  # nothing is left of a closed order
    assert message["avg_price"] == "0"


def test_a_market_order_is_immediate_or_cancel() -> None:
    engine = _engine()
    engine.submit_limit("maker", "BTC/USD", Side.SELL, D("1"), D("30000"), ts_ns=1)
    order = engine.submit_market("taker", "BTC/USD", Side.BUY, quantity=D("0.1"), ts_ns=2).order
    assert order.order_type is OrderType.MARKET
    message = payloads.user_order(order, "id", order.status, D("0.1"), D(3000), OrderFills())
    assert (message["order_type"], message["limit_price"]) == ("Market", "")
    assert message["time_in_force"] == "IMMEDIATE_OR_CANCEL"


def test_user_snapshot_event_carries_empty_futures_positions() -> None:
    event = payloads.user_event("snapshot", [])
    assert event["positions"] == {
        "perpetual_futures_positions": [],
        "expiring_futures_positions": [],
    }
    assert "positions" not in payloads.user_event("update", [])


def test_errors_say_what_was_wrong() -> None:
    assert json.loads(payloads.error_message("authentication failure", "the JWT has expired")) == {
        "type": "error", "message": "authentication failure", "reason": "the JWT has expired",
    }  # fmt: skip
