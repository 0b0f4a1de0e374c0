"""The market stream names the simulated exchange serves, as Binance spells them."""

from __future__ import annotations

import re

import pytest

from tradewind.venues.simulated.kline_intervals import HOUR_MS, KLINE_INTERVALS
from tradewind.venues.simulated.server.formatting import SymbolMap
from tradewind.venues.simulated.server.stream_names import (
    InvalidStream,
    MarketStream,
    StreamKind,
    parse_stream,
)

SYMBOLS = SymbolMap(["BTC/USDT", "ETH/USDT"])


@pytest.mark.parametrize(
    ("name", "kind", "symbol", "window"),
    [
        ("btcusdt@ticker", StreamKind.TICKER, "BTC/USDT", ""),
        ("btcusdt@miniTicker", StreamKind.MINI_TICKER, "BTC/USDT", ""),
        ("ethusdt@avgPrice", StreamKind.AVG_PRICE, "ETH/USDT", ""),
        ("btcusdt@ticker_1h", StreamKind.WINDOW_TICKER, "BTC/USDT", "1h"),
        ("btcusdt@ticker_4h", StreamKind.WINDOW_TICKER, "BTC/USDT", "4h"),
        ("btcusdt@ticker_1d", StreamKind.WINDOW_TICKER, "BTC/USDT", "1d"),
        ("!ticker@arr", StreamKind.TICKER, "", ""),
        ("!miniTicker@arr", StreamKind.MINI_TICKER, "", ""),
        ("!ticker_1h@arr", StreamKind.WINDOW_TICKER, "", "1h"),
        ("!ticker_4h@arr", StreamKind.WINDOW_TICKER, "", "4h"),
        ("!ticker_1d@arr", StreamKind.WINDOW_TICKER, "", "1d"),
        ("!miniTicker@arr@1000ms", StreamKind.MINI_TICKER, "", ""),  # python-binance's
    ],
)
def test_ticker_streams_are_pushed_every_second(
    name: str, kind: StreamKind, symbol: str, window: str
) -> None:
    assert parse_stream(name, SYMBOLS) == MarketStream(name, symbol, kind, 1000, window=window)


def test_an_upper_case_symbol_names_the_lower_case_stream() -> None:
    assert parse_stream("BTCUSDT@miniTicker", SYMBOLS).name == "btcusdt@miniTicker"


@pytest.mark.parametrize("interval", KLINE_INTERVALS)
def test_every_binance_interval_has_a_kline_stream(interval: str) -> None:
    stream = parse_stream(f"btcusdt@kline_{interval}", SYMBOLS)
    assert (stream.kind, stream.interval, stream.offset_ms) == (StreamKind.KLINE, interval, 0)
    assert stream.speed_ms == (1000 if interval == "1s" else 2000)


def test_a_kline_stream_may_count_in_utc_plus_eight() -> None:
    stream = parse_stream("btcusdt@kline_1d@+08:00", SYMBOLS)
    assert (stream.name, stream.interval, stream.offset_ms) == (
        "btcusdt@kline_1d@+08:00",
        "1d",
        8 * HOUR_MS,
    )


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("btcusdt@ticker_2h", "window size must be 1h, 4h or 1d"),
        ("!ticker_12h@arr", "window size must be 1h, 4h or 1d"),
        ("!bookTicker@arr", "expected"),
        ("!miniTicker@arr@3000ms", "the only speed is @1000ms"),
        ("!ticker", "expected"),
        ("btcusdt@kline_2w", "interval must be one of 1s, 1m"),
        ("btcusdt@kline_1d@+09:00", "the only time zone is @+08:00"),
        ("dogeusdt@ticker", "DOGEUSDT is not listed"),
        ("btcusdt@tickers", "expected"),
    ],
)
def test_other_names_are_refused_saying_why(name: str, says: str) -> None:
    with pytest.raises(InvalidStream, match=re.escape(says)):
        parse_stream(name, SYMBOLS)
