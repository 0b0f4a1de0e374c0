"""Binance's stream payloads as the simulated exchange builds them: klines with trade ids
and taker volumes, tickers and average prices in Binance's field order, and the user
data stream's 8-decimal commissions and balances."""

from __future__ import annotations

import json
from decimal import Decimal

import msgspec

from tradewind.domain.model import OrderType, Side
from tradewind.venues.simulated.exchange import OrderUpdate, SimulatedExchange
from tradewind.venues.simulated.history import Kline
from tradewind.venues.simulated.kline_intervals import DAY_MS, MINUTE_MS
from tradewind.venues.simulated.market import SyntheticMarket
from tradewind.venues.simulated.matching import BalanceSnapshot, BookTicker, DepthUpdate, Trade
from tradewind.venues.simulated.server import stream_payloads as payloads
from tradewind.venues.simulated.server import stream_ticker_payloads as tickers
from tradewind.venues.simulated.server.ticker_stats import WindowStats

START_NS = 1_700_000_000_000_000_000
NOW_MS = START_NS // 1_000_000
D = Decimal


def as_json(payload: object) -> dict[str, object]:
    assert isinstance(payload, msgspec.Struct)
    decoded = json.loads(payloads.encode(payload))
    assert isinstance(decoded, dict)
    return decoded


def stats() -> WindowStats:
    return WindowStats(
        open=D("100"), high=D("130"), low=D("90"), last=D("120"), volume=D("3"),
        quote_volume=D("330"), first_id=7, last_id=9, count=3,
    )  # fmt: skip


def test_a_kline_carries_its_trade_ids_and_taker_buy_volumes() -> None:
    kline = Kline(
        0, MINUTE_MS, D("1"), D("2"), D("0.5"), D("1.5"), D("10"), D("12"), 4, False,
        D("6"), D("7.5"), 101, 104,
    )  # fmt: skip
    event = as_json(payloads.kline_event("BTCUSDT", "1m", kline, True, 60_001))
    body = event["k"]
    assert isinstance(body, dict)
    assert list(body) == list("tTsifLochlvnxqVQB")
    assert (body["f"], body["L"], body["n"], body["x"]) == (101, 104, 4, True)
    assert (body["V"], body["Q"], body["B"]) == ("6.00000000", "7.50000000", "0")
    assert (body["t"], body["T"]) == (0, MINUTE_MS - 1)


def test_a_kline_without_trades_has_no_trade_ids() -> None:
    kline = Kline(0, MINUTE_MS, D(1), D(1), D(1), D(1), D(0), D(0), 0)
    body = as_json(payloads.kline_event("BTCUSDT", "1m", kline, False, 1))["k"]
    assert isinstance(body, dict)
    assert (body["f"], body["L"], body["V"], body["Q"]) == (-1, -1, "0.00000000", "0.00000000")


def test_the_24_hour_ticker_has_binances_fields_in_order() -> None:
    top = BookTicker("BTC/USDT", 55, D("119"), D("2"), D("121"), D("1.5"))
    event = as_json(tickers.ticker_event("BTCUSDT", stats(), D("0.25"), top, 1_000, 87_401_000))
    assert list(event) == list("eEspPwxcQbBaAohlvqOCFLn")
    assert event == {
        "e": "24hrTicker", "E": 87_401_000, "s": "BTCUSDT", "p": "20.00000000", "P": "20.000",
        "w": "110.00000000", "x": "100.00000000", "c": "120.00000000", "Q": "0.25000000",
        "b": "119.00000000", "B": "2.00000000", "a": "121.00000000", "A": "1.50000000",
        "o": "100.00000000", "h": "130.00000000", "l": "90.00000000", "v": "3.00000000",
        "q": "330.00000000", "O": 1_000, "C": 87_401_000, "F": 7, "L": 9, "n": 3,
    }  # fmt: skip


def test_an_empty_book_side_shows_zero_in_the_ticker() -> None:
    empty = BookTicker("BTC/USDT", 0, None, None, None, None)
    event = as_json(tickers.ticker_event("BTCUSDT", stats(), D(0), empty, 0, DAY_MS))
    assert (event["b"], event["B"], event["a"], event["A"]) == ("0.00000000",) * 4


def test_the_mini_ticker_has_prices_and_volumes_only() -> None:
    event = as_json(tickers.mini_ticker_event("BTCUSDT", stats(), 5))
    assert event == {
        "e": "24hrMiniTicker", "E": 5, "s": "BTCUSDT", "c": "120.00000000",
        "o": "100.00000000", "h": "130.00000000", "l": "90.00000000", "v": "3.00000000",
        "q": "330.00000000",
    }  # fmt: skip


def test_a_rolling_window_ticker_names_its_window() -> None:
    event = as_json(tickers.window_ticker_event("4h", "ETHUSDT", stats(), 60_000, 99_999))
    assert list(event) == list("eEspPohlcwvqOCFLn")
    assert (event["e"], event["s"], event["O"], event["C"], event["E"]) == (
        "4hTicker", "ETHUSDT", 60_000, 99_999, 99_999,
    )  # fmt: skip
    assert (event["p"], event["P"], event["w"]) == ("20.00000000", "20.000", "110.00000000")


def test_the_average_price_event_is_over_five_minutes() -> None:
    event = as_json(tickers.average_price_event("BTCUSDT", D("25776.86"), 1_693_907_032_213, 7))
    assert event == {
        "e": "avgPrice", "E": 7, "s": "BTCUSDT", "i": "5m", "w": "25776.86000000",
        "T": 1_693_907_032_213,
    }  # fmt: skip


class Reports:
    """Collects the exchange's order updates (the other listener calls are ignored)."""

    def __init__(self) -> None:
        self.updates: list[OrderUpdate] = []

    def on_trades(self, symbol: str, trades: list[Trade]) -> None:
        return None

    def on_depth(self, update: DepthUpdate) -> None:
        return None

    def on_order_updates(self, updates: list[OrderUpdate]) -> None:
        self.updates += updates

    def on_balances(self, account_id: str, assets: set[str], ts_ms: int) -> None:
        return None


def market_buy_reports() -> tuple[list[OrderUpdate], str]:
    exchange = SimulatedExchange(
        SyntheticMarket(seed=5, start_ms=NOW_MS), clock=lambda: START_NS
    )  # fmt: skip
    exchange.step()
    account = exchange.create_account({"USDT": D(100_000)}).account_id
    reports = Reports()
    exchange.add_listener(reports)
    exchange.submit_order(account, "BTC/USDT", Side.BUY, OrderType.MARKET, quantity=D("0.01"))
    return [u for u in reports.updates if u.account_id == account], account


def test_a_report_without_a_trade_shows_commission_zero_as_binance() -> None:
    updates, _ = market_buy_reports()
    new = as_json(payloads.execution_report("BTCUSDT", updates[0], 1))
    assert (new["x"], new["n"], new["N"]) == ("NEW", "0", None)


def test_a_commission_is_shown_with_eight_decimals_rounded_up() -> None:
    updates, account = market_buy_reports()
    update = updates[1]
    assert update.trade is not None
    # the ledger keeps 18 decimals: a fee with more than 8 shows the next 10**-8 up
    trade = msgspec.structs.replace(update.trade, taker_fee_units=update.trade.taker_fee_units + 3)
    fee, asset = trade.fee_for(account)
    finer = msgspec.structs.replace(update, trade=trade)
    report = as_json(payloads.execution_report("BTCUSDT", finer, 2))
    assert report["x"] == "TRADE" and report["N"] == asset
    commission = str(report["n"])
    assert fee.as_tuple().exponent == -18  # finer than Binance shows
    assert len(commission.split(".")[1]) == 8 and 0 < D(commission) - fee < D("0.00000001")


def test_balances_show_eight_decimals_free_rounded_down_locked_up() -> None:
    balance = BalanceSnapshot("USDT", D("10.123456789"), D("0.000000001"))
    event = as_json(payloads.account_position_event([balance], 1, 2))
    assert event["B"] == [{"a": "USDT", "f": "10.12345678", "l": "0.00000001"}]
