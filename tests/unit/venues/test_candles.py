"""Candles of any bar width from a venue's own widths: the widest that divides the bar,
bars aligned on the epoch and closed, and history paged backwards until enough bars."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.errors import VenueError
from tradewind.venues.candles import (
    COMMON_WIDTHS_S,
    PAGE,
    CandlePlan,
    aggregate,
    last_bars,
    plan,
)
from tradewind.venues.port import Candle

D = Decimal


def candle(open_ms: int, close: str, volume: str = "1", high: str | None = None) -> Candle:
    price = D(close)
    return Candle(open_ms=open_ms, open=price, high=D(high) if high else price, low=price,
                  close=price, volume=D(volume))  # fmt: skip


def test_the_widest_width_that_divides_the_bar_is_chosen() -> None:
    assert plan(5, COMMON_WIDTHS_S, "x") == CandlePlan("1s", 1, 5)
    assert plan(60, COMMON_WIDTHS_S, "x") == CandlePlan("1m", 60, 1)
    assert plan(600, COMMON_WIDTHS_S, "x") == CandlePlan("5m", 300, 2)
    with pytest.raises(
        VenueError, match=r"x: serves candles of 1m, 5m: none divides a bar of 90 s"
    ):
        plan(90, {"5m": 300, "1m": 60}, "x")


def test_candles_sum_into_epoch_aligned_closed_bars() -> None:
    candles = [
        candle(10_000, "10", "1", high="12"),  # bar 10_000
        candle(12_000, "11", "0.5"),
        candle(16_000, "9", "2"),  # bar 15_000
        candle(20_000, "13", "1"),  # bar 20_000: still open at now
    ]
    bars = aggregate(candles, 5, count=None, now_ms=24_999)
    assert [(b.open_ms, b.open, b.high, b.low, b.close, b.volume) for b in bars] == [
        (10_000, D(10), D(12), D(10), D(11), D("1.5")),
        (15_000, D(9), D(9), D(9), D(9), D(2)),
    ]
    assert aggregate(candles, 5, count=1, now_ms=24_999) == bars[-1:]
    assert aggregate(candles, 5, count=0, now_ms=24_999) == []


async def test_history_is_paged_backwards_until_enough_bars() -> None:
    # One candle per second for 3 * PAGE seconds; 1 s bars: the last 1,500 need two pages.
    available = [candle(s * 1000, str(s)) for s in range(3 * PAGE)]
    asked: list[int] = []

    async def page(width: str, end_ms: int, limit: int) -> list[Candle]:
        asked.append(end_ms)
        upto = [c for c in available if c.open_ms <= end_ms]
        return upto[-limit:]

    now_ms = 3 * PAGE * 1000 + 500  # the bar opening at 3000 s is still open
    bars = await last_bars(page, CandlePlan("1s", 1, 1), 1, 1500, now_ms)
    assert [b.close for b in bars] == [D(s) for s in range(1500, 3 * PAGE)]
    assert asked == [3 * PAGE * 1000 - 1, (2 * PAGE) * 1000 - 1]
    # Fewer than asked when the venue has no more.
    few = await last_bars(page, CandlePlan("1s", 1, 1), 1, 5 * PAGE, now_ms)
    assert len(few) == 3 * PAGE


async def test_a_venue_serving_fewer_candles_a_request_is_paged_in_its_size() -> None:
    # A venue that returns at most 300 candles a request (ccxt's coinbase): paged in
    # 300s, a short page is not mistaken for the end of its history.
    available = [candle(s * 60_000, str(s)) for s in range(1000)]
    limits: list[int] = []

    async def page(width: str, end_ms: int, limit: int) -> list[Candle]:
        limits.append(limit)
        upto = [c for c in available if c.open_ms <= end_ms]
        return upto[-min(limit, 300) :]

    now_ms = 1000 * 60_000
    bars = await last_bars(page, CandlePlan("1m", 60, 1), 60, 700, now_ms, page_size=300)
    assert [b.close for b in bars] == [D(s) for s in range(300, 1000)]
    assert limits == [300, 300, 300]
    everything = await last_bars(page, CandlePlan("1m", 60, 1), 60, 5000, now_ms, page_size=300)
    assert len(everything) == 1000
