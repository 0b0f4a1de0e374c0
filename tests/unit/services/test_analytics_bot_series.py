"""A bot's series in the analytics service (`BotSeries`): one point a minute, the last
value of the minute, handed out to be recorded only when it changed; the drawdown over
the kept minutes and the open one."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

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


@given(
    st.lists(
        st.tuples(st.integers(-50, 50), st.integers(1, 3), st.sampled_from([None, 900, 1000])),
        min_size=1,
        max_size=40,
    )
)
@example([(10, 1, 900), (10, 1, 1000), (0, 1, 1000), (0, 1, 1000)])  # equal peaks
@example([(10, 1, 1000), (-10, 1, 1000), (-5, 6, 1000), (-8, 1, 1000)])  # the peak left
def test_the_rounds_current_drawdown_is_the_windows_walked_one(
    moves: list[tuple[int, int, int | None]],
) -> None:
    # The service's O(1) drawdown (a sliding-window maximum) against `bot_drawdown`
    # over the kept minutes, old minutes leaving a 5-minute window, equal peaks and
    # unknown equities included.
    series = BotSeries("b1", "a1", "USDT", keep_minutes=5)
    series.book.apply(BotFill(T0, "BTC/USDT", Side.BUY, D(100), D(1), D(0), "USDT", "1"))
    ts_ns = T0
    for price, minutes, equity in moves:
        ts_ns += minutes * MINUTE_NS
        series.observe(
            ts_ns, {"BTC/USDT": D(100 + price)}.get, None if equity is None else D(equity)
        )
        assert series.current_drawdown() == pytest.approx(series.drawdown().current)
