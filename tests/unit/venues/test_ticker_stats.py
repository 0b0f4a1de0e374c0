"""Ticker statistics of a window of candles, and Binance's rolling `windowSize` values."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.venues.simulated.history import Kline
from tradewind.venues.simulated.kline_intervals import DAY_MS, HOUR_MS, MINUTE_MS
from tradewind.venues.simulated.server.ticker_stats import (
    WindowStats,
    window_size_ms,
    window_ticker,
)


def candle(
    open_ms: int, o: str, h: str, low: str, c: str, volume: str, quote: str, ids: tuple[int, int]
) -> Kline:
    first, last = ids
    return Kline(
        open_ms, MINUTE_MS, Decimal(o), Decimal(h), Decimal(low), Decimal(c), Decimal(volume),
        Decimal(quote), last - first + 1, first_trade_id=first, last_trade_id=last,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1m", MINUTE_MS),
        ("59m", 59 * MINUTE_MS),
        ("1h", HOUR_MS),
        ("23h", 23 * HOUR_MS),
        ("1d", DAY_MS),
        ("7d", 7 * DAY_MS),
        ("60m", None),
        ("24h", None),
        ("8d", None),
        ("0m", None),
        ("1d2h", None),
        ("1w", None),
        ("01m", None),
    ],
)
def test_window_sizes_are_minutes_hours_or_days_up_to_binance_bounds(
    text: str, size: int | None
) -> None:
    assert window_size_ms(text) == size


def test_stats_span_the_window_from_the_first_trade_to_the_last() -> None:
    stats = WindowStats.of(
        [
            candle(0, "9", "9", "8", "8", "100", "850", (0, 9)),
            candle(MINUTE_MS, "8", "8", "1", "1", "87", "137", (10, 60)),
        ],
        last_price=Decimal("1"),
    )
    assert (stats.open, stats.high, stats.low, stats.last) == (9, 9, 1, 1)
    assert (stats.volume, stats.quote_volume) == (187, 987)
    assert (stats.first_id, stats.last_id, stats.count) == (0, 60, 61)
    assert stats.price_change == -8
    assert stats.price_change_percent == Decimal("-88.889")
    assert stats.weighted_average == Decimal("5.27807487")


def test_a_window_without_trades_stands_still_at_the_last_price() -> None:
    stats = WindowStats.of([], last_price=Decimal("42.5"))
    assert (stats.open, stats.high, stats.low, stats.last) == (Decimal("42.5"),) * 4
    assert (stats.first_id, stats.last_id, stats.count) == (-1, -1, 0)
    assert stats.weighted_average == 0 and stats.price_change_percent == 0


def test_full_and_mini_tickers_have_binance_fields_in_binance_order() -> None:
    stats = WindowStats.of([candle(0, "2", "3", "1", "2", "4", "8", (5, 6))], Decimal("2"))
    full = window_ticker(stats, "BTCUSDT", 0, 999, mini=False)
    assert list(full) == [
        "symbol", "priceChange", "priceChangePercent", "weightedAvgPrice", "openPrice",
        "highPrice", "lowPrice", "lastPrice", "volume", "quoteVolume", "openTime",
        "closeTime", "firstId", "lastId", "count",
    ]  # fmt: skip
    assert full["priceChangePercent"] == "0.000" and full["weightedAvgPrice"] == "2.00000000"
    mini = window_ticker(stats, "BTCUSDT", 0, 999, mini=True)
    assert list(mini) == [
        "symbol", "openPrice", "highPrice", "lowPrice", "lastPrice", "volume",
        "quoteVolume", "openTime", "closeTime", "firstId", "lastId", "count",
    ]  # fmt: skip
