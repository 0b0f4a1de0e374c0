"""Bars from trades: epoch-aligned OHLCV, closed by a later trade or by time, none for
quiet intervals, late trades left out of closed bars."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.domain.bars import BarBuilder
from tradewind.domain.events import Bar, TradeTick
from tradewind.domain.model import Instrument, Side

D = Decimal
S = 1_000_000_000
T0 = 1_700_000_040 * S  # a whole minute, UTC
BTC = Instrument.parse("sim", "BTC/USDT")


def bar(open_ns: int, o: str, h: str, low: str, c: str, v: str, interval_s: int = 60) -> Bar:
    return Bar(
        instrument=BTC,
        interval_s=interval_s,
        open_ns=open_ns,
        open=D(o),
        high=D(h),
        low=D(low),
        close=D(c),
        volume=D(v),
    )


def test_trades_make_ohlcv_and_a_later_trade_closes_the_bar() -> None:
    builder = BarBuilder(BTC, 60)
    assert builder.add(D(100), D("0.5"), T0 + 1 * S) is None
    assert builder.add(D(103), D("0.25"), T0 + 10 * S) is None
    assert builder.add(D(99), D(1), T0 + 20 * S) is None
    assert builder.add(D(101), D("0.125"), T0 + 59 * S) is None
    assert builder.current == bar(T0, "100", "103", "99", "101", "1.875")
    closed = builder.add(D(102), D(2), T0 + 60 * S)
    assert closed == bar(T0, "100", "103", "99", "101", "1.875")
    assert builder.current == bar(T0 + 60 * S, "102", "102", "102", "102", "2")


def test_bars_are_aligned_to_the_epoch() -> None:
    builder = BarBuilder(BTC, 5)
    builder.add(D(1), D(1), T0 + 7 * S + 123)
    current = builder.current
    assert current is not None and current.open_ns == T0 + 5 * S


def test_close_due_closes_only_a_finished_interval() -> None:
    builder = BarBuilder(BTC, 60)
    assert builder.close_due(T0) is None  # nothing in progress
    builder.add(D(100), D(1), T0 + 5 * S)
    assert builder.close_due(T0 + 59 * S) is None
    assert builder.close_due(T0 + 60 * S) == bar(T0, "100", "100", "100", "100", "1")
    assert builder.current is None
    assert builder.close_due(T0 + 600 * S) is None


def test_no_bar_for_intervals_without_trades() -> None:
    builder = BarBuilder(BTC, 60)
    builder.add(D(100), D(1), T0)
    closed = builder.add(D(110), D(1), T0 + 300 * S)
    assert closed is not None and closed.open_ns == T0
    assert builder.close_due(T0 + 360 * S) == bar(T0 + 300 * S, "110", "110", "110", "110", "1")


def test_a_late_trade_never_changes_a_closed_bar() -> None:
    builder = BarBuilder(BTC, 60)
    builder.add(D(100), D(1), T0 + 1 * S)
    builder.close_due(T0 + 61 * S)
    assert builder.add(D(50), D(9), T0 + 59 * S) is None
    assert builder.current is None
    builder.add(D(101), D(1), T0 + 61 * S)
    assert builder.add(D(50), D(9), T0 + 59 * S) is None
    assert builder.late_trades == 2
    assert builder.current == bar(T0 + 60 * S, "101", "101", "101", "101", "1")


def test_volume_sums_exactly() -> None:
    builder = BarBuilder(BTC, 60)
    quantity = D("0.000000000000000000000000001")  # past the default 28 digits
    builder.add(D(1), D(10) ** 6, T0)
    builder.add(D(1), quantity, T0 + 1)
    current = builder.current
    assert current is not None and current.volume == D("1000000.000000000000000000000000001")


def test_add_trade_takes_a_tick() -> None:
    builder = BarBuilder(BTC, 60)
    tick = TradeTick(
        instrument=BTC,
        price=D(7),
        quantity=D(2),
        aggressor=Side.BUY,
        trade_id="1",
        ts_ns=T0,
    )
    assert builder.add_trade(tick) is None
    assert builder.current == bar(T0, "7", "7", "7", "7", "2")


def test_an_interval_below_a_second_is_refused() -> None:
    with pytest.raises(ValueError, match="at least 1 s"):
        BarBuilder(BTC, 0)
