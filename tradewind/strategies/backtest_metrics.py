"""The figures of a backtest: its equity curve's performance and risk, its closed trades'
statistics, fees and turnover, computed by `tradewind.domain.performance` (the code live
analytics use too, so a backtest and a live run of the same fills read the same; where
they differ by definition: docs/analytics.md, "Live and backtest")."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal, localcontext

import msgspec

from tradewind.domain.events import Fill
from tradewind.domain.exact import EXACT
from tradewind.domain.performance import (
    EquitySample,
    Performance,
    TradeStats,
    bucketed,
    mean_equity,
    performance,
    realized_changes,
    trade_stats,
    turnover,
)
from tradewind.domain.portfolio import Portfolio

ZERO = Decimal(0)


class BacktestMetrics(msgspec.Struct, frozen=True, kw_only=True):
    """`performance` of the equity curve (one sample per bar, `period_s` apart, the
    initial equity first; a period without a bar is flat); `trades` from the PnL each
    fill realised at average cost (before fees); `fees_value` in the valuation asset;
    `turnover` the quote traded over the mean equity of those periods (None when the
    equity was never positive)."""

    performance: Performance
    trades: TradeStats
    fees_value: Decimal
    turnover: float | None


def backtest_metrics(
    curve: Sequence[EquitySample],
    trades: Sequence[Fill],
    *,
    period_s: int,
    valuation_asset: str,
    initial_balances: Mapping[str, Decimal],
    initial_prices: Mapping[str, Decimal],
    fees_value: Decimal,
) -> BacktestMetrics:
    """`curve` starts with the initial equity; `initial_prices` value each initial
    balance's asset in `valuation_asset` (as the backtest did).

    The curve is taken per `period_s` with the periods that have no sample (bars
    missing from the data) filled in flat (`bucketed`), as live accounts' minutes are:
    a return spanning two periods would otherwise be annualised as one."""
    periods = bucketed(curve, period_s, fill=True)
    realized = _realized_per_trade(trades, valuation_asset, initial_balances, initial_prices)
    with localcontext(EXACT):
        traded = sum((fill.quote_amount for fill in trades), ZERO)
    return BacktestMetrics(
        performance=performance(periods, period_s),
        trades=trade_stats(realized),
        fees_value=fees_value,
        turnover=turnover(traded, mean_equity(periods)),
    )


def _realized_per_trade(
    trades: Sequence[Fill],
    valuation_asset: str,
    initial_balances: Mapping[str, Decimal],
    initial_prices: Mapping[str, Decimal],
) -> list[Decimal]:
    """The PnL each fill realised (at average cost, before fees), for the fills that
    realised any: the books kept as the portfolio service keeps them, their realised PnL
    read after every fill and its changes taken as live analytics take them after every
    valuation (`realized_changes`)."""
    books = Portfolio("backtest", "backtest", valuation_asset)
    for asset, amount in initial_balances.items():
        if amount:
            price = None if asset == valuation_asset else initial_prices[asset]
            books.deposit(asset, amount, price=price)
    readings = [books.realized_pnl]
    for fill in trades:
        books.apply_fill(fill)
        readings.append(books.realized_pnl)
    return realized_changes(readings)
