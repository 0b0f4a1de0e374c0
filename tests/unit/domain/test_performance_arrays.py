"""The figures computed over arrays (numpy) are, to the last bit, what the plain loops
over the periods give: the loops below are the definitions (the code before the arrays,
kept here as the reference), and every figure must equal theirs exactly, not
approximately — live analytics and backtests share these figures, and a report must
not change because the arithmetic moved."""

from __future__ import annotations

import math
from decimal import Decimal, localcontext

from hypothesis import given, settings
from hypothesis import strategies as st

from tradewind.domain.exact import EXACT, quotient
from tradewind.domain.performance import (
    RETURN_PERIODS,
    Drawdown,
    Performance,
    PeriodReturn,
    TradeStats,
    TradeTally,
    _quantile,
    _tail_mean,
    beta_and_correlation,
    drawdown,
    performance_of_returns,
    periods_per_year,
    trade_stats,
)


def reference_drawdown(returns: list[PeriodReturn], start_ns: int | None) -> Drawdown:
    wealth = 1.0
    peak, peak_ns = 1.0, start_ns
    worst = 0.0
    worst_peak_ns = trough_ns = recovered_ns = None
    for period in returns:
        wealth *= 1.0 + period.value
        if wealth >= peak:
            if trough_ns is not None and recovered_ns is None:
                recovered_ns = period.ts_ns
            peak, peak_ns = wealth, period.ts_ns
            continue
        depth = wealth / peak - 1.0
        if depth < worst:
            worst, worst_peak_ns, trough_ns = depth, peak_ns, period.ts_ns
            recovered_ns = None
    return Drawdown(
        max=worst,
        peak_ns=worst_peak_ns,
        trough_ns=trough_ns,
        recovered_ns=recovered_ns,
        current=wealth / peak - 1.0,
        current_start_ns=peak_ns if wealth < peak else None,
    )


def reference_period_returns(
    returns: list[PeriodReturn], start_ns: int | None
) -> dict[str, float | None]:
    """Each period's growth from the last point at or before the end less the period."""
    points: list[tuple[int | None, float]] = [(start_ns, 1.0)]
    for period in returns:
        points.append((period.ts_ns, points[-1][1] * (1.0 + period.value)))
    end_ns, last = points[-1]
    found: dict[str, float | None] = {}
    for name, seconds in RETURN_PERIODS.items():
        if seconds is None:
            found[name] = last - 1.0
            continue
        if end_ns is None or not returns:
            found[name] = None
            continue
        back = [w for ts, w in points if ts is not None and ts <= end_ns - seconds * 10**9]
        found[name] = (last / back[-1] - 1.0 if back[-1] > 0 else None) if back else None
    return found


def reference_performance(
    returns: list[PeriodReturn], period_s: int, start_ns: int | None
) -> Performance:
    per_year = periods_per_year(period_s)
    values = [period.value for period in returns]
    n = len(values)
    wealth = math.prod([1.0 + r for r in values])
    dd = reference_drawdown(returns, start_ns)
    try:
        annual = float(wealth ** (per_year / n)) - 1.0 if n and wealth > 0 else None
    except OverflowError:
        annual = None
    mean = math.fsum(values) / n if n else 0.0
    deviation = (
        math.sqrt(math.fsum([(r - mean) * (r - mean) for r in values]) / (n - 1))
        if n >= 2
        else None
    )
    downside = math.sqrt(math.fsum([r * r for r in values if r < 0]) / n) if n else 0.0
    root_year = math.sqrt(per_year)
    ordered = sorted(values)
    return Performance(
        period_s=period_s,
        periods=n,
        total_return=wealth - 1.0,
        annual_return=annual,
        volatility=deviation * root_year if deviation is not None else None,
        sharpe=mean / deviation * root_year if deviation else None,
        sortino=mean / downside * root_year if n >= 2 and downside > 0 else None,
        calmar=annual / -dd.max if annual is not None and dd.max < 0 else None,
        drawdown=dd,
        best_period=ordered[-1] if ordered else None,
        worst_period=ordered[0] if ordered else None,
        var_95=_quantile(ordered, 0.05),
        cvar_95=_tail_mean(ordered, 0.05),
        var_99=_quantile(ordered, 0.01),
        cvar_99=_tail_mean(ordered, 0.01),
        returns=reference_period_returns(returns, start_ns),
    )


def reference_beta_and_correlation(
    ours: list[float], theirs: list[float]
) -> tuple[float | None, float | None]:
    def spread(values: list[float]) -> tuple[list[float], float]:
        mean = math.fsum(values) / len(values)
        deviations = [value - mean for value in values]
        return deviations, math.fsum([d * d for d in deviations])

    (x, x_squares), (y, y_squares) = spread(ours), spread(theirs)
    covariance = math.fsum([a * b for a, b in zip(x, y, strict=True)])
    if y_squares <= 0:
        return None, None
    if x_squares <= 0:
        return covariance / y_squares, None
    scale = math.sqrt(y_squares * x_squares) or math.sqrt(y_squares) * math.sqrt(x_squares)
    return covariance / y_squares, covariance / scale if scale else None


# Returns as the service makes them: small moves, flat minutes, repeats (ties for the
# peak and the sort), now and then a large gain or a near-total loss.
a_return = st.one_of(
    st.floats(-0.05, 0.05),
    st.just(0.0),
    st.sampled_from([0.01, -0.01, 0.5, -0.5, -0.999, 3.0]),
    st.floats(-0.999, 10.0),
)


def as_returns(values: list[float], step_ns: int = 60) -> list[PeriodReturn]:
    return [PeriodReturn(1_000 + step_ns * i, value) for i, value in enumerate(values)]


@settings(max_examples=500)
@given(st.lists(a_return, max_size=300), st.sampled_from([None, 0, 500]))
def test_every_figure_is_the_loops_to_the_last_bit(
    values: list[float], start_ns: int | None
) -> None:
    returns = as_returns(values)
    assert performance_of_returns(returns, 60, start_ns) == reference_performance(
        returns, 60, start_ns
    )
    assert drawdown(returns, start_ns) == reference_drawdown(returns, start_ns)


HOUR_NS = 3_600 * 10**9


@settings(max_examples=300)
@given(
    st.lists(a_return, max_size=800),
    st.sampled_from([None, 0, 1_000 - 5 * HOUR_NS]),
    st.sampled_from([HOUR_NS, 3 * HOUR_NS]),
)
def test_returns_over_standard_periods_are_the_loops_to_the_last_bit(
    values: list[float], start_ns: int | None, step_ns: int
) -> None:
    """Hourly and three-hourly returns: up to 100 days, so each period is covered or not."""
    returns = as_returns(values, step_ns)
    figures = performance_of_returns(returns, step_ns // 10**9, start_ns)
    assert figures.returns == reference_period_returns(returns, start_ns)


def test_a_drawdown_made_of_ties_dates_its_peak_at_the_last_of_them() -> None:
    # 1.0 -> 1.1 -> 1.1 (a tie: the peak moves to it) -> down -> back to the tie -> up
    returns = as_returns([0.1, 0.0, -0.5, 1.0, 0.1])
    dd = drawdown(returns, 0)
    assert dd == reference_drawdown(returns, 0)
    assert (dd.peak_ns, dd.trough_ns, dd.recovered_ns) == (1_060, 1_120, 1_180)


@settings(max_examples=300)
@given(st.lists(st.tuples(a_return, st.floats(-0.05, 0.05)), min_size=2, max_size=200))
def test_beta_and_correlation_are_the_loops_to_the_last_bit(
    pairs: list[tuple[float, float]],
) -> None:
    ours, theirs = [a for a, _ in pairs], [b for _, b in pairs]
    assert beta_and_correlation(ours, theirs) == reference_beta_and_correlation(ours, theirs)


pnls = st.lists(
    st.decimals(-1000, 1000, places=4, allow_nan=False, allow_infinity=False), max_size=60
)


def reference_trade_stats(realized: list[Decimal]) -> TradeStats:
    wins = [pnl for pnl in realized if pnl > 0]
    losses = [pnl for pnl in realized if pnl < 0]
    with localcontext(EXACT):
        gross_win, gross_loss = sum(wins, Decimal(0)), sum(losses, Decimal(0))
    return TradeStats(
        trades=len(realized),
        wins=len(wins),
        losses=len(losses),
        win_rate=len(wins) / len(realized) if realized else None,
        profit_factor=float(quotient(gross_win, -gross_loss)) if losses else None,
        average_win=quotient(gross_win, Decimal(len(wins))) if wins else None,
        average_loss=quotient(gross_loss, Decimal(len(losses))) if losses else None,
    )


@given(pnls, st.data())
def test_a_tally_of_a_sliding_window_is_the_statistics_of_what_it_holds(
    realized: list[Decimal], data: st.DataObject
) -> None:
    tally, oldest = TradeTally(), 0
    for newest, pnl in enumerate(realized):
        tally.add(pnl)
        leaving = data.draw(st.integers(0, newest - oldest))  # the oldest leave the window
        for old in realized[oldest : oldest + leaving]:
            tally.remove(old)
        oldest += leaving
        assert tally.stats() == reference_trade_stats(realized[oldest : newest + 1])
    assert trade_stats(realized) == reference_trade_stats(realized)
