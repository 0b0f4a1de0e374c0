"""The figures of an account's analytics, one model and one serialiser for every place
that shows them (docs/analytics.md): the analytics service's pushed `AnalyticsUpdate` (an
`AccountFigures` with the account and the time it was computed), the `metrics` of
`GET /accounts/{id}/analytics` and of the platform's performance, and the end-of-run
report. Pure: no I/O.

On the wire (`figures_json`) every field keeps its name, except times: a field `x_ns`
(ns since the epoch) is written `x`, as ISO 8601 UTC to the second. Money (Decimal) is
an exact decimal string; a figure a series cannot define is null.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

import msgspec

from tradewind.domain.performance import (
    Performance,
    TradeStats,
    iso_utc,
    shares_and_concentration,
)

_ZERO = Decimal(0)
_NS = "_ns"
#: Periods an account's returns and a benchmark's need in common before beta and
#: correlation mean anything.
MIN_PAIRED_PERIODS = 30


class AccountFigures(msgspec.Struct, frozen=True, kw_only=True):
    """Performance and risk of an equity series of `periods` returns of `period_s`
    seconds (`domain.performance`: each figure's convention), its closed trades, and its
    holdings. Returns and drawdowns are fractions; None where undefined."""

    period_s: int
    periods: int
    total_return: float
    annual_return: float | None = None
    volatility: float | None = None
    sharpe: float | None = None
    sortino: float | None = None
    calmar: float | None = None
    max_drawdown: float
    max_drawdown_peak_ns: int | None = None
    max_drawdown_trough_ns: int | None = None
    max_drawdown_recovered_ns: int | None = None
    current_drawdown: float
    #: The peak the current drawdown fell from (None: the series ends at its peak).
    current_drawdown_start_ns: int | None = None
    var_95: float | None = None
    cvar_95: float | None = None
    var_99: float | None = None
    cvar_99: float | None = None
    best_period: float | None = None
    worst_period: float | None = None
    #: The return over each standard period (`performance.RETURN_PERIODS`: 1d, 7d, 30d,
    #: all); None where the series is shorter.
    returns: dict[str, float | None] = {}
    #: Closed trades (changes of realised PnL between valuations,
    #: `performance.realized_changes`) and their statistics.
    trades: int = 0
    win_rate: float | None = None
    profit_factor: float | None = None
    average_win: Decimal | None = None
    average_loss: Decimal | None = None
    #: Fees paid over the series (the changes of the cumulative fees), valuation asset.
    fees: Decimal = _ZERO
    #: What was traded (the fills' quote amounts) over the mean equity
    #: (`performance.turnover`); None: no equity.
    turnover: float | None = None
    #: Beta and correlation of the returns with `benchmark`'s (a symbol, "" for none)
    #: over the periods both have; None with too few of them.
    benchmark: str = ""
    beta: float | None = None
    correlation: float | None = None
    #: Each asset's share of the holdings' value (cash included), and their Herfindahl
    #: index (1: everything in one asset).
    exposure: dict[str, float] = {}
    concentration: float | None = None


#: Every figure's field name, in the model's order.
FIGURE_FIELDS: tuple[str, ...] = tuple(f.name for f in msgspec.structs.fields(AccountFigures))


def wire_name(field: str) -> str:
    """The name a figure has on the wire (`figures_json`): a time `x_ns` is `x`."""
    return field[: -len(_NS)] if field.endswith(_NS) else field


#: Every figure's name on the wire, in the model's order.
FIGURE_NAMES: tuple[str, ...] = tuple(wire_name(name) for name in FIGURE_FIELDS)


def figure_values(
    performance: Performance,
    trades: TradeStats | None = None,
    *,
    fees: Decimal = _ZERO,
    turnover: float | None = None,
    benchmark: str = "",
    beta: float | None = None,
    correlation: float | None = None,
    exposure: Mapping[str, float] | None = None,
    concentration: float | None = None,
) -> dict[str, Any]:
    """The `AccountFigures` fields of a series' `performance`, its closed `trades` and
    what else is known of it, as keywords (`AccountFigures(**…)`, or an event that is
    one: `AnalyticsUpdate(account_id=…, **…)`)."""
    dd = performance.drawdown
    values: dict[str, Any] = {
        "period_s": performance.period_s,
        "periods": performance.periods,
        "total_return": performance.total_return,
        "annual_return": performance.annual_return,
        "volatility": performance.volatility,
        "sharpe": performance.sharpe,
        "sortino": performance.sortino,
        "calmar": performance.calmar,
        "max_drawdown": dd.max,
        "max_drawdown_peak_ns": dd.peak_ns,
        "max_drawdown_trough_ns": dd.trough_ns,
        "max_drawdown_recovered_ns": dd.recovered_ns,
        "current_drawdown": dd.current,
        "current_drawdown_start_ns": dd.current_start_ns,
        "var_95": performance.var_95,
        "cvar_95": performance.cvar_95,
        "var_99": performance.var_99,
        "cvar_99": performance.cvar_99,
        "best_period": performance.best_period,
        "worst_period": performance.worst_period,
        "returns": performance.returns,
        "fees": fees,
        "turnover": turnover,
        "benchmark": benchmark,
        "beta": beta,
        "correlation": correlation,
        "exposure": dict(exposure or {}),
        "concentration": concentration,
    }
    if trades is not None:
        values.update(
            trades=trades.trades,
            win_rate=trades.win_rate,
            profit_factor=trades.profit_factor,
            average_win=trades.average_win,
            average_loss=trades.average_loss,
        )
    return values


def account_figures(
    performance: Performance, trades: TradeStats | None = None, **known: Any
) -> AccountFigures:
    """`figure_values` as an `AccountFigures`."""
    return AccountFigures(**figure_values(performance, trades, **known))


def figures_json(figures: AccountFigures) -> dict[str, Any]:
    """`figures` (or an event that is one) as JSON-ready data under the wire names:
    times ISO 8601 UTC, money exact decimal strings, None where undefined. The one
    serialiser of the figures: the API, the stream and the report all write this."""
    out: dict[str, Any] = {}
    for field in FIGURE_FIELDS:
        value = getattr(figures, field)
        if field.endswith(_NS):
            out[field[: -len(_NS)]] = iso_utc(value)
        elif isinstance(value, Decimal):
            out[field] = format(value, "f")
        else:
            out[field] = value
    return out


def exposure_of(
    balances: Mapping[str, Decimal],
    valuation_asset: str,
    price: Callable[[str], float | None],
) -> tuple[dict[str, float], float | None]:
    """Each asset's share of the holdings' value (cash included; an asset without a
    `price` of `ASSET/VALUATION_ASSET` is left out), and their concentration: the
    Herfindahl index of those shares (1: all in one asset). ({}, None) with nothing
    valued."""
    values: dict[str, float] = {}
    for asset, amount in balances.items():
        if not amount:
            continue
        if asset == valuation_asset:
            values[asset] = float(amount)
            continue
        last = price(f"{asset}/{valuation_asset}")
        if last is not None:
            values[asset] = float(amount) * last
    return shares_and_concentration(values)
