"""`tradewind.domain.performance`: the identities every equity series must keep
(property tests), the edge cases, and the figures against a well-kept reference library
(empyrical-reloaded) on random and on real series (the bundled January 2018 candles).

Conventions where they differ from empyrical's defaults are passed to it explicitly
(a year of 365 periods for daily returns), as `docs/analytics.md` writes down."""

from __future__ import annotations

import itertools
from decimal import Decimal

import empyrical
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradewind.domain.analytics_figures import account_figures, figures_json
from tradewind.domain.performance import (
    EquitySample,
    PeriodReturn,
    bucketed,
    conditional_value_at_risk,
    correlation,
    drawdown,
    performance,
    realized_changes,
    samples_from_valuations,
    time_weighted_returns,
    trade_stats,
    value_at_risk,
)
from tradewind.venues.simulated.market import bundled_candles_dir, load_candles

DAY_S = 86_400
DAY_NS = DAY_S * 1_000_000_000

equities = st.lists(
    st.decimals(min_value="0.01", max_value="1000000", places=2, allow_nan=False),
    min_size=2,
    max_size=60,
)


def _daily(equities: list[Decimal]) -> list[EquitySample]:
    return [EquitySample(i * DAY_NS, equity) for i, equity in enumerate(equities)]


def _returns(samples: list[EquitySample]) -> np.ndarray:
    return np.array([float(b.equity / a.equity) - 1.0 for a, b in itertools.pairwise(samples)])


@given(equities)
def test_drawdowns_are_never_positive(values: list[Decimal]) -> None:
    figures = performance(_daily(values), DAY_S)
    assert figures.drawdown.max <= 0
    assert figures.drawdown.max <= figures.drawdown.current <= 0


@given(
    st.decimals(min_value="1", max_value="1000000", places=2),
    st.lists(
        st.tuples(
            st.decimals(min_value="-0.5", max_value="0.5", places=4),
            st.decimals(min_value="-1000", max_value="1000000", places=2),
        ),
        min_size=1,
        max_size=60,
    ),
)
def test_deposits_and_withdrawals_are_not_performance(
    start: Decimal, periods: list[tuple[Decimal, Decimal]]
) -> None:
    """An account that earns `r` in each period and has money moved in or out at the end
    of it shows exactly those returns, whatever the flows: time-weighted."""
    samples = [EquitySample(0, start)]
    earned: list[Decimal] = []
    for i, (r, flow) in enumerate(periods, start=1):
        grown = samples[-1].equity * (1 + r)
        if grown + flow <= 0:
            flow = Decimal(0)  # cannot withdraw more than the account holds
        samples.append(EquitySample(i * DAY_NS, grown + flow, flow))
        earned.append(r)
    returns = time_weighted_returns(samples)
    assert [r.value for r in returns] == pytest.approx([float(r) for r in earned], abs=1e-12)
    figures = performance(samples, DAY_S)
    assert figures.total_return == pytest.approx(
        float(np.prod([1 + float(r) for r in earned])) - 1, rel=1e-9, abs=1e-12
    )


@settings(max_examples=200)
@given(equities)
def test_figures_match_empyrical_on_random_series(values: list[Decimal]) -> None:
    samples = _daily(values)
    figures = performance(samples, DAY_S)
    r = _returns(samples)
    _assert_matches_empyrical(figures, r)


def test_figures_match_empyrical_on_bitcoin_priced_ether() -> None:
    """Real data: holding one ETH, valued in BTC, every 5 minutes of January 2018."""
    candles = load_candles(bundled_candles_dir())["ETH/BTC"]
    samples = [EquitySample(c.open_ms * 1_000_000, c.close) for c in candles]
    figures = performance(samples, 300)
    assert figures.periods == len(samples) - 1 > 5_000
    _assert_matches_empyrical(figures, _returns(samples), period_s=300)


def _assert_matches_empyrical(figures, r: np.ndarray, period_s: int = DAY_S) -> None:  # type: ignore[no-untyped-def]
    per_year = 365 * DAY_S / period_s

    def close(ours: float | None, theirs: float) -> None:
        if ours is None:
            assert not np.isfinite(theirs) or theirs == 0 or len(r) < 2
        else:
            assert ours == pytest.approx(theirs, rel=1e-7, abs=1e-9)

    close(figures.total_return, empyrical.cum_returns_final(r))
    close(figures.drawdown.max, empyrical.max_drawdown(r))
    close(figures.volatility, empyrical.annual_volatility(r, annualization=per_year))
    if np.std(r) > 1e-12:
        close(figures.sharpe, empyrical.sharpe_ratio(r, annualization=per_year))
    if (r < 0).any():
        close(figures.sortino, empyrical.sortino_ratio(r, annualization=per_year))
    if figures.annual_return is not None and figures.annual_return < 1e12:
        close(figures.annual_return, empyrical.annual_return(r, annualization=per_year))
        if figures.calmar is not None:
            close(figures.calmar, empyrical.calmar_ratio(r, annualization=per_year))
    close(figures.var_95, empyrical.value_at_risk(r, cutoff=0.05))
    close(figures.cvar_95, empyrical.conditional_value_at_risk(r, cutoff=0.05))
    close(figures.var_99, empyrical.value_at_risk(r, cutoff=0.01))
    close(figures.cvar_99, empyrical.conditional_value_at_risk(r, cutoff=0.01))


@given(st.lists(st.tuples(st.floats(-0.5, 0.5), st.floats(-0.5, 0.5)), min_size=3, max_size=50))
def test_beta_and_correlation_match_empyrical_and_numpy(pairs: list[tuple[float, float]]) -> None:
    from tradewind.domain.performance import beta

    ours, bench = [p[0] for p in pairs], [p[1] for p in pairs]
    if np.var(bench) < 1e-12 or np.var(ours) < 1e-12:
        return
    assert beta(ours, bench) == pytest.approx(
        empyrical.beta(np.array(ours), np.array(bench)), rel=1e-7, abs=1e-9
    )
    assert correlation(ours, bench) == pytest.approx(
        np.corrcoef(ours, bench)[0, 1], rel=1e-7, abs=1e-9
    )


def test_a_drawdown_has_its_peak_trough_and_recovery_dates() -> None:
    returns = [
        PeriodReturn(1, 0.10),  # peak 1.1
        PeriodReturn(2, -0.50),  # 0.55: -50 %, the trough
        PeriodReturn(3, 0.50),  # 0.825
        PeriodReturn(4, 0.40),  # 1.155: made up
        PeriodReturn(5, -0.10),  # a smaller drawdown, still open
    ]
    dd = drawdown(returns, start_ns=0)
    assert (dd.max, dd.peak_ns, dd.trough_ns, dd.recovered_ns) == (pytest.approx(-0.5), 1, 2, 4)
    assert dd.current == pytest.approx(-0.10)
    assert dd.current_start_ns == 4  # the peak it fell from


def test_a_series_at_its_peak_has_no_current_drawdown_start() -> None:
    assert (
        drawdown([PeriodReturn(1, -0.2), PeriodReturn(2, 0.5)], start_ns=0).current_start_ns is None
    )
    assert drawdown([PeriodReturn(1, -0.2)], start_ns=7).current_start_ns == 7  # from the start


def test_a_drawdown_not_yet_made_up_has_no_recovery_date() -> None:
    dd = drawdown([PeriodReturn(1, -0.2), PeriodReturn(2, 0.1)], start_ns=0)
    assert (dd.peak_ns, dd.trough_ns, dd.recovered_ns) == (0, 1, None)
    assert dd.current == pytest.approx(0.8 * 1.1 - 1)
    assert dd.current_start_ns == 0


def test_returns_over_standard_periods_compound_the_periods_within_them() -> None:
    """40 days: +1 % a day for 30 days, then -2 % a day for 10; a deposit on day 35 is no
    return. Each period's return is the growth over its last days; `all` the total."""
    samples = [EquitySample(0, Decimal(1000))]
    for day in range(1, 41):
        grown = samples[-1].equity * (Decimal("1.01") if day <= 30 else Decimal("0.98"))
        flow = Decimal(500) if day == 35 else Decimal(0)
        samples.append(EquitySample(day * DAY_NS, grown + flow, flow))
    returns = performance(samples, DAY_S).returns
    assert returns["1d"] == pytest.approx(-0.02)
    assert returns["7d"] == pytest.approx(0.98**7 - 1)
    assert returns["30d"] == pytest.approx(1.01**20 * 0.98**10 - 1)
    assert returns["all"] == pytest.approx(1.01**30 * 0.98**10 - 1)
    assert set(returns) == {"1d", "7d", "30d", "all"}
    # Six days of series: the week and the month are longer than it, and not made up.
    short = performance(samples[:7], DAY_S).returns
    assert short["7d"] is None and short["30d"] is None
    assert short["1d"] == pytest.approx(0.01) and short["all"] == pytest.approx(1.01**6 - 1)
    assert performance(samples[:8], DAY_S).returns["7d"] == pytest.approx(1.01**7 - 1)


def test_what_a_short_or_flat_series_cannot_define_is_none() -> None:
    assert performance([], DAY_S).periods == 0
    single = performance(_daily([Decimal(100)]), DAY_S)
    assert (single.total_return, single.annual_return, single.volatility) == (0.0, None, None)
    flat = performance(_daily([Decimal(100)] * 5), DAY_S)
    assert (flat.sharpe, flat.sortino, flat.calmar) == (None, None, None)
    assert flat.drawdown.max == 0 and flat.drawdown.peak_ns is None


def test_a_period_that_starts_with_nothing_has_no_return() -> None:
    """An account funded after it was opened: its first deposit is not a return."""
    samples = [
        EquitySample(0, Decimal(0)),
        EquitySample(DAY_NS, Decimal(1000), Decimal(1000)),
        EquitySample(2 * DAY_NS, Decimal(1100)),
    ]
    assert [r.value for r in time_weighted_returns(samples)] == [pytest.approx(0.1)]


def test_samples_are_bucketed_by_their_last_equity_and_all_their_flows() -> None:
    samples = [
        EquitySample(10, Decimal(100)),
        EquitySample(20, Decimal(150), Decimal(50)),
        EquitySample(DAY_NS + 5, Decimal(140)),
        EquitySample(DAY_NS + 6, Decimal(130), Decimal(-5)),
        EquitySample(DAY_NS + 7, Decimal(135), Decimal(-5)),
    ]
    assert bucketed(samples, DAY_S) == [
        EquitySample(20, Decimal(150), Decimal(50)),
        EquitySample(DAY_NS + 7, Decimal(135), Decimal(-10)),
    ]
    with pytest.raises(ValueError, match="period_s"):
        bucketed(samples, 0)


def test_var_interpolates_between_order_statistics() -> None:
    returns = [0.03, -0.05, 0.01, -0.02, 0.0]
    assert value_at_risk(returns, 0.05) == pytest.approx(np.percentile(returns, 5))
    assert conditional_value_at_risk(returns, 0.25) == pytest.approx((-0.05 - 0.02) / 2)
    assert value_at_risk([], 0.05) is None and conditional_value_at_risk([], 0.05) is None


def test_trade_statistics() -> None:
    stats = trade_stats([Decimal("10"), Decimal("-4"), Decimal("0"), Decimal("6"), Decimal("-1")])
    assert (stats.trades, stats.wins, stats.losses) == (5, 2, 2)
    assert stats.win_rate == pytest.approx(0.4)
    assert stats.profit_factor == pytest.approx(16 / 5)
    assert (stats.average_win, stats.average_loss) == (Decimal(8), Decimal("-2.5"))
    empty = trade_stats([])
    assert (empty.win_rate, empty.profit_factor, empty.average_win) == (None, None, None)


def test_a_bucketed_series_can_get_its_flat_periods_back() -> None:
    """Snapshots are written only for accounts that changed: the hours between carry the
    last equity, so they count as periods of no return (volatility and Sharpe see them)."""
    hour = 3_600_000_000_000
    samples = [EquitySample(5, Decimal(100)), EquitySample(3 * hour + 5, Decimal(110))]
    assert bucketed(samples, 3_600, fill=True) == [
        EquitySample(5, Decimal(100)),
        EquitySample(hour, Decimal(100)),
        EquitySample(2 * hour, Decimal(100)),
        EquitySample(3 * hour + 5, Decimal(110)),
    ]
    assert len(bucketed(samples, 3_600)) == 2


def test_deposits_are_read_from_the_books_identity_of_each_valuation() -> None:
    """equity = contributions + realised + unrealised - fees: a valuation whose equity
    rose by a deposit shows it as a flow, one that rose by PnL does not."""
    D = Decimal
    samples = samples_from_valuations(
        [
            (1, D(1000), D(0), D(0), D(0)),
            (2, D(1050), D(30), D(21), D(1)),  # +50 of PnL
            (3, D(1550), D(30), D(21), D(1)),  # +500 deposited
            (4, D(1450), D(30), D(21), D(1)),  # -100 withdrawn
        ]
    )
    assert [s.flow for s in samples] == [D(0), D(0), D(500), D(-100)]
    assert [round(r.value, 12) for r in time_weighted_returns(samples)] == [0.05, 0.0, 0.0]


def test_the_figures_do_not_depend_on_the_threads_decimal_context() -> None:
    """Another caller may have changed the thread's decimal context (a CI run met one
    with another precision): averages and flows are computed in the project's own."""
    from decimal import localcontext

    D = Decimal
    pnls = [D("0.010000000000000000000000000001"), D("0.02"), D("-0.03")]
    rows = [
        (1, D("1000.123456789012345678901234"), D(0), D(0), D(0)),
        (2, D(900), D(-5), D(0), D(0)),
    ]
    default = (trade_stats(pnls), samples_from_valuations(rows))
    with localcontext() as ctx:
        ctx.prec = 6
        assert (trade_stats(pnls), samples_from_valuations(rows)) == default


def test_closed_trades_live_are_the_changes_of_realised_pnl_between_valuations() -> None:
    changes = realized_changes(Decimal(v) for v in ("0", "0", "5.5", "5.5", "3", "3", "4"))
    assert changes == [Decimal("5.5"), Decimal("-2.5"), Decimal(1)]
    figures_ = figures_json(account_figures(performance([], DAY_S), trade_stats(changes)))
    assert {k: figures_[k] for k in ("trades", "win_rate", "profit_factor")} == {
        "trades": 3, "win_rate": 2 / 3, "profit_factor": 6.5 / 2.5,
    }  # fmt: skip
    assert (figures_["average_win"], figures_["average_loss"]) == ("3.25", "-2.5")
