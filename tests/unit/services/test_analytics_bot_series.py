"""A bot's series in the analytics service (`BotSeries`): one point a minute, the last
value of the minute, handed out to be recorded only when it changed; the drawdown over
the kept minutes and the open one."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.domain.bot_pnl import BotFill
from tradewind.domain.model import Side
from tradewind.services.analytics.bot_series import BotSeries

D = Decimal
MINUTE_NS = 60 * 1_000_000_000
T0 = 1_800_000_000 * 1_000_000_000


def test_each_minute_is_recorded_at_its_last_value_when_it_changed() -> None:
    series = BotSeries("b1", "a1", "USDT", keep_minutes=60)
    assert series.observe(T0, {}.get, D(1000)) is None  # no fill yet
    series.book.apply(BotFill(T0, "BTC/USDT", Side.BUY, D(100), D(1), D("0.1"), "USDT", "1"))
    prices = {"BTC/USDT": D(100)}
    assert series.observe(T0 + 1, prices.get, D(1000)) is None  # minute 0 open
    prices["BTC/USDT"] = D(104)
    assert series.observe(T0 + 30 * 10**9, prices.get, D(1004)) is None
    closed = series.observe(T0 + MINUTE_NS, prices.get, D(1004))  # minute 1: 0 closes
    assert closed is not None
    ts_ns, pnl, equity = closed
    assert (ts_ns, pnl.total, equity) == (T0 + 30 * 10**9, D("3.9"), D(1004))
    # Minute 1 ends at the same figure: nothing to record.
    assert series.observe(T0 + 2 * MINUTE_NS, prices.get, D(1004)) is None
    prices["BTC/USDT"] = D(94)  # -6.1: 10 below the peak of 3.9, on 1,004
    assert series.observe(T0 + 3 * MINUTE_NS, prices.get, D(994)) is None  # 2 closes, same
    assert series.drawdown().current == pytest.approx(-10 / 1004)
    closed = series.observe(T0 + 4 * MINUTE_NS, prices.get, D(994))
    assert closed is not None and closed[1].total == D("-6.1")
