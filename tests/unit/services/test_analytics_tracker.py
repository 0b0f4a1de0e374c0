"""The analytics service's per-account series: the figures it keeps incrementally (a
return per closed minute) equal those of the whole series bucketed by minute and computed
at once (`domain.performance`), whatever the valuations' timing, flows and redeliveries;
and the window forgets what is older than it."""

from __future__ import annotations

import asyncio
import copy
import math
from decimal import Decimal

import msgspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tradewind.domain.exact_sums import ExactTotal
from tradewind.domain.performance import (
    bucketed,
    mean_equity,
    performance,
    realized_changes,
    samples_from_valuations,
    trade_stats,
    turnover,
)
from tradewind.services.analytics.service import hand_back
from tradewind.services.analytics.tracker import AccountSeries

MINUTE_NS = 60 * 1_000_000_000
T0 = 1_800_000_000 * 1_000_000_000

valuations = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=5 * MINUTE_NS),  # time since the previous one
        st.decimals(min_value="1", max_value="100000", places=2),  # equity
        st.decimals(min_value="-500", max_value="500", places=2),  # realised PnL
    ),
    min_size=1,
    max_size=80,
)


@given(valuations)
def test_the_kept_figures_equal_the_whole_series_computed_at_once(
    steps: list[tuple[int, Decimal, Decimal]],
) -> None:
    series = AccountSeries("a1", keep_minutes=100_000)
    rows = []
    ts = T0
    traded = Decimal(0)
    for gap, equity, realized in steps:
        ts += gap
        traded += abs(realized)  # any cumulative amount that grows
        rows.append((ts, equity, realized, Decimal(0), Decimal(0)))
        assert series.add(ts, "USDT", equity, realized, Decimal(0), Decimal(0), traded)
        assert not series.add(ts, "USDT", equity + 1, realized, Decimal(0), Decimal(0))
    ours = series.analytics(ts)
    assert ours is not None
    minutes = bucketed(samples_from_valuations(rows), 60, fill=True)
    expected = performance(minutes, 60)
    # Turnover: what was traded after the first valuation over the minutes' mean equity.
    expected_turnover = turnover(traded - abs(steps[0][2]), mean_equity(minutes))
    assert ours.turnover == pytest.approx(expected_turnover, rel=1e-12)
    assert ours.periods == expected.periods
    assert ours.total_return == pytest.approx(expected.total_return, rel=1e-12, abs=1e-12)
    assert ours.max_drawdown == pytest.approx(expected.drawdown.max, rel=1e-12, abs=1e-12)
    assert ours.current_drawdown == pytest.approx(expected.drawdown.current, abs=1e-12)
    for name in ("volatility", "sharpe", "sortino", "var_95", "cvar_95"):
        theirs = getattr(expected, name)
        mine = getattr(ours, name)
        assert (mine is None) == (theirs is None), name
        if theirs is not None:
            assert mine == pytest.approx(theirs, rel=1e-9, abs=1e-12), name
    # Closed trades: the changes of realised PnL, as the API counts them from the record.
    closed = trade_stats(realized_changes(realized for _, _, realized, _, _ in rows))
    assert (ours.trades, ours.win_rate, ours.profit_factor) == (
        closed.trades, closed.win_rate, closed.profit_factor,
    )  # fmt: skip
    assert (ours.average_win, ours.average_loss) == (closed.average_win, closed.average_loss)


def summed_again(series: AccountSeries) -> AccountSeries:
    """A copy of `series` without its kept totals: its figures add the window's returns,
    losses and equities again (`math.fsum`), as before the totals were kept."""
    again = copy.copy(series)
    for name in ("_return_total", "_loss_total", "_equity_total"):
        unknown = ExactTotal()
        unknown.add(math.nan)  # a total holding a NaN has no value: the fallback adds
        setattr(again, name, unknown)
    return again


@given(valuations, st.sampled_from([1, 3, 30]), st.integers(0, 79))
def test_the_totals_kept_as_minutes_come_and_go_are_the_windows_sums(
    steps: list[tuple[int, Decimal, Decimal]], keep_minutes: int, asset_change: int
) -> None:
    series = AccountSeries("a1", keep_minutes=keep_minutes)
    ts = T0
    for at, (gap, equity, realized) in enumerate(steps):
        ts += gap * 7  # gaps of up to 35 minutes: longer than some windows
        asset = "USDC" if at >= asset_change else "USDT"
        series.add(ts, asset, equity, realized, Decimal(0), Decimal(0), abs(realized) * at)
        ours, theirs = series.analytics(ts), summed_again(series).analytics(ts)
        assert msgspec.json.encode(ours) == msgspec.json.encode(theirs)


def test_the_window_forgets_minutes_older_than_it() -> None:
    series = AccountSeries("a1", keep_minutes=3)
    for minute, equity in enumerate(["100", "50", "50", "50", "50", "55"]):
        series.add(
            T0 + minute * MINUTE_NS,
            "USDT",
            Decimal(equity),
            Decimal(equity) - 100,
            Decimal(0),
            Decimal(0),
        )
    figures = series.analytics(T0 + 5 * MINUTE_NS)
    assert figures is not None
    # The halving (minute 1) fell out of the 3-minute window: 50, 50, 50 -> 55.
    assert figures.total_return == pytest.approx(0.1)
    assert figures.max_drawdown == 0.0
    assert (figures.since_ns, figures.periods) == (T0 + MINUTE_NS, 4)  # from the close of minute 1


def test_turnover_is_what_the_window_traded_over_its_minutes_mean_equity() -> None:
    series = AccountSeries("a1", keep_minutes=3)
    traded = ["0", "100", "100", "130", "130", "150", "150"]  # cumulative, per minute
    for minute, (equity, moved) in enumerate(zip(["100", "50", "50", "50", "50", "55", "55"],
                                                  traded, strict=True)):  # fmt: skip
        series.add(T0 + minute * MINUTE_NS, "USDT", Decimal(equity), Decimal(equity) - 100,
                   Decimal(0), Decimal(0), Decimal(moved))  # fmt: skip
    figures = series.analytics(T0 + 6 * MINUTE_NS)
    assert figures is not None
    # Minute 1's 100 fell out of the 3-minute window; 30 (minute 3) and 20 (minute 5)
    # are in it. Its equities: minutes 3, 4, 5 closed at 50, 50, 55, and 55 now.
    assert figures.turnover == pytest.approx(50 / ((50 + 50 + 55 + 55) / 4))


def test_a_new_valuation_asset_starts_the_series_again() -> None:
    series = AccountSeries("a1", keep_minutes=60)
    series.add(T0, "USDT", Decimal(100), Decimal(0), Decimal(0), Decimal(0))
    series.add(T0 + MINUTE_NS, "USDT", Decimal(50), Decimal(-50), Decimal(0), Decimal(0))
    series.add(T0 + 2 * MINUTE_NS, "BTC", Decimal(1), Decimal(0), Decimal(0), Decimal(0))
    figures = series.analytics(T0 + 2 * MINUTE_NS)
    assert figures is not None
    assert (figures.valuation_asset, figures.periods, figures.total_return) == ("BTC", 0, 0.0)


def test_fees_paid_over_the_window_are_the_changes_of_the_cumulative_fees() -> None:
    series = AccountSeries("a1", keep_minutes=3)
    for minute, fees in enumerate(["5", "5", "6.5", "6.5", "7", "7.25"]):
        equity = Decimal(1000) - Decimal(fees)  # the fees are the only change
        series.add(T0 + minute * MINUTE_NS, "USDT", equity, Decimal(0), Decimal(0), Decimal(fees))
    figures = series.analytics(T0 + 5 * MINUTE_NS)
    assert figures is not None
    # What was paid before the first valuation (5) is not of it; the window's returns
    # run from the close of minute 1 (the test above): 1.5 + 0.5 + 0.25.
    assert figures.fees == Decimal("2.25")


async def test_a_round_sharing_the_loop_lets_a_several_turn_pipeline_through_each_slice() -> None:
    """Embedded (`tradewind up`), an event crosses the in-process bus in several turns of
    the loop: a round that handed back one turn per slice held the order path to one
    step per slice (p99 tick to order ~1 s with 1,000 accounts). Shared, it waits a
    slice's length; alone, one turn is all it gives (and needs to give)."""
    done = 0

    async def pipeline() -> None:  # five turns per event, as bar -> intent -> order
        nonlocal done
        while True:
            for _ in range(5):
                await asyncio.sleep(0)
            done += 1

    running = asyncio.create_task(pipeline())
    await asyncio.sleep(0)
    before = done
    for _ in range(10):
        await hand_back(shared=True)
    shared = done - before
    before = done
    for _ in range(10):
        await hand_back(shared=False)
    alone = done - before
    running.cancel()
    assert shared >= 10  # a whole event, at least, each slice
    assert alone <= 3  # ten turns: two events of five, and the one under way
