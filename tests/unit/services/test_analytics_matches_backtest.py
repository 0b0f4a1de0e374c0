"""Live analytics and a backtest of the same strategy over the same candles give the same
figures, to the last digit, for the same fills (issue #10).

The backtest runs a bundled strategy over one-minute bars; the same fills then go through
the live path: the portfolio service's books (`AccountBooks`), marked to each bar's
close and revalued at it, publish `PortfolioUpdate`s (only when the account changed, as
the service does) to the analytics service's `AccountSeries`. One bar is one analytics
minute, so the two must agree figure by figure. Where they measure something different
by definition (docs/analytics.md, "Live and backtest"), a test below pins the difference.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from tradewind.domain.events import (
    AnalyticsUpdate,
    BalanceUpdate,
    Bar,
    Fill,
    TradeTick,
)
from tradewind.domain.model import Instrument, Liquidity, Side
from tradewind.domain.performance import EquitySample
from tradewind.domain.portfolio import Portfolio
from tradewind.services.analytics.tracker import PERIOD_S, AccountSeries
from tradewind.services.portfolio.books import AccountBooks
from tradewind.strategies.api import Strategy, StrategyContext
from tradewind.strategies.backtest import BacktestResult, run_backtest
from tradewind.strategies.backtest_metrics import BacktestMetrics, backtest_metrics
from tradewind.strategies.grid import GridStrategy
from tradewind.strategies.momentum import MomentumStrategy
from tradewind.venues.simulated.market import bundled_candles_dir, load_candles

D = Decimal
MINUTE_NS = PERIOD_S * 1_000_000_000
ACCOUNT = VENUE = "backtest"  # run_backtest's defaults: its fills name them
ETH_BTC = "ETH/BTC"
#: Bars left out of the data (indices of the re-timed series): minutes with no bar, flat
#: in both paths (the backtest fills them in; live, no tick means no valuation).
MISSING = frozenset({700, 701, 702, 2_500, 4_321})


class RecordsFillBars(Strategy):
    """Remembers, for each fill, the close of the bar at which the backtest applied it
    (`ctx.now_ns` then). The fill's own time does not say: a market order's fill is
    stamped with its bar's open, a limit order's with the close, and a bar's open is the
    previous bar's close."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fill_bars: list[int] = []

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        self.fill_bars.append(ctx.now_ns)
        super().on_fill(ctx, fill)


class Grid(RecordsFillBars, GridStrategy):
    pass


class Momentum(RecordsFillBars, MomentumStrategy):
    pass


def grid() -> RecordsFillBars:
    return Grid.from_params(
        {"symbol": ETH_BTC, "lower": "0.085", "upper": "0.105", "levels": 11,
         "order_value": "0.05"}
    )  # fmt: skip


def momentum() -> RecordsFillBars:
    return Momentum.from_params({"symbol": ETH_BTC, "fast": 12, "slow": 48})


STRATEGIES = {"grid": grid, "momentum": momentum}  # both buy and sell, with these bars


def one_minute_bars() -> list[Bar]:
    """The bundled ETH/BTC candles (5-minute, January 2018) re-timed to 60 s apart: the
    same prices, one bar a minute, so that a backtest's bar is one analytics minute; the
    `MISSING` ones left out."""
    candles = load_candles(bundled_candles_dir())[ETH_BTC]
    start_ns = candles[0].open_ms * 1_000_000
    instrument = Instrument.parse(VENUE, ETH_BTC)
    return [
        Bar(
            instrument=instrument,
            interval_s=PERIOD_S,
            open_ns=start_ns + i * MINUTE_NS,
            open=c.open,
            high=c.high,
            low=c.low,
            close=c.close,
            volume=c.volume,
        )
        for i, c in enumerate(candles)
        if i not in MISSING
    ]


@dataclass(frozen=True)
class Run:
    bars: list[Bar]
    backtest: BacktestResult
    fill_bars: list[int]  # the close of the bar each of `backtest.trades` was applied at
    live: AnalyticsUpdate
    valuations: int


def live_analytics(bars: list[Bar], result: BacktestResult, fill_bars: list[int]) -> Run:
    """The backtest's fills through the live path: the books open with the backtest's
    initial balances (a balances reading at the first bar's open), then at each bar's
    close its fills are booked, the close is marked, and the books are revalued; every
    valuation goes to the account's series, whose analytics are read at the last close."""
    books = AccountBooks()
    books.open(ACCOUNT, VENUE, result.valuation_asset)
    start_ns = bars[0].open_ns
    for asset, amount in result.initial_balances.items():
        reading = BalanceUpdate(
            account_id=ACCOUNT, venue=VENUE, asset=asset, free=amount, locked=D(0),
            ts_ns=start_ns,
        )  # fmt: skip
        assert books.apply_balance(reading) is None
    series = AccountSeries(ACCOUNT, keep_minutes=len(bars) + len(MISSING) + 1)
    fills_at: dict[int, list[Fill]] = defaultdict(list)
    for at, fill in zip(fill_bars, result.trades, strict=True):
        fills_at[at].append(fill)
    valuations = 0

    def revalue(ts_ns: int) -> None:
        nonlocal valuations
        updates, _, _ = books.revalue(ts_ns)
        for update in updates:
            assert series.add_update(update)
            valuations += 1

    revalue(start_ns)
    for bar in bars:
        close_ns = bar.open_ns + MINUTE_NS
        for fill in fills_at.pop(close_ns, []):
            assert books.apply_fill(fill) is None, fill
        books.mark(
            TradeTick(instrument=bar.instrument, price=bar.close, quantity=bar.volume,
                      aggressor=Side.BUY, trade_id=str(close_ns), ts_ns=close_ns)
        )  # fmt: skip
        if bar is bars[-1]:
            # Live figures run to the newest valuation, a backtest's to its last bar
            # whether the books changed at it or not (docs/analytics.md): a valuation
            # at the last close, as any change there would publish.
            books.touch([ACCOUNT])
        revalue(close_ns)
    assert not fills_at, "fills at no bar's close"
    live = series.analytics(bars[-1].open_ns + MINUTE_NS)
    assert live is not None
    return Run(bars, result, fill_bars, live, valuations)


@pytest.fixture(scope="module", params=sorted(STRATEGIES))
def run(request: pytest.FixtureRequest) -> Run:
    strategy = STRATEGIES[request.param]()
    bars = one_minute_bars()
    result = run_backtest(strategy, {ETH_BTC: bars}, initial_balances={"BTC": D(1)})
    return live_analytics(bars, result, strategy.fill_bars)


def live_figures(live: AnalyticsUpdate) -> dict[str, object]:
    return {
        "periods": live.periods,
        "since_ns": live.since_ns,
        "total_return": live.total_return,
        "max_drawdown": live.max_drawdown,
        "current_drawdown": live.current_drawdown,
        "volatility": live.volatility,
        "sharpe": live.sharpe,
        "sortino": live.sortino,
        "var_95": live.var_95,
        "cvar_95": live.cvar_95,
        "trades": live.trades,
        "win_rate": live.win_rate,
        "profit_factor": live.profit_factor,
        "average_win": live.average_win,
        "average_loss": live.average_loss,
        "fees": live.fees,
        "turnover": live.turnover,
        "equity": live.equity,
    }


def backtest_figures(
    metrics: BacktestMetrics, final_equity: Decimal, start_ns: int
) -> dict[str, object]:
    figures, trades = metrics.performance, metrics.trades
    return {
        "periods": figures.periods,
        "since_ns": start_ns,  # the curve's first sample: the initial equity
        "total_return": figures.total_return,
        "max_drawdown": figures.drawdown.max,
        "current_drawdown": figures.drawdown.current,
        "volatility": figures.volatility,
        "sharpe": figures.sharpe,
        "sortino": figures.sortino,
        "var_95": figures.var_95,
        "cvar_95": figures.cvar_95,
        "trades": trades.trades,
        "win_rate": trades.win_rate,
        "profit_factor": trades.profit_factor,
        "average_win": trades.average_win,
        "average_loss": trades.average_loss,
        "fees": metrics.fees_value,
        "turnover": metrics.turnover,
        "equity": final_equity,
    }


def test_live_analytics_equal_the_backtest_metrics_for_the_same_fills(run: Run) -> None:
    live = live_figures(run.live)
    result = run.backtest
    backtest = backtest_figures(result.metrics, result.final_equity, run.bars[0].open_ns)
    assert live == backtest
    # Not vacuous: every minute is a period (the missing bars' too), trades won and
    # lost, and the books did not change at every bar (flat minutes filled in live).
    assert backtest["periods"] == len(run.bars) + len(MISSING)
    assert result.metrics.trades.wins > 0 and result.metrics.trades.losses > 0
    assert None not in backtest.values()
    assert run.valuations < len(run.bars) + 1


def test_each_minute_closed_at_most_one_trade(run: Run) -> None:
    """What the equality above rests on for the trade statistics: live, a closed trade
    is a change of realised PnL between two valuations, in a backtest between two fills
    (docs/analytics.md, "Live and backtest"); the two coincide here because no bar had
    two fills that realised PnL."""
    books = Portfolio(ACCOUNT, VENUE, run.backtest.valuation_asset)
    for asset, amount in run.backtest.initial_balances.items():
        books.deposit(asset, amount)
    closing: dict[int, int] = defaultdict(int)  # bar close -> fills that realised PnL
    for at, fill in zip(run.fill_bars, run.backtest.trades, strict=True):
        before = books.realized_pnl
        books.apply_fill(fill)
        closing[at] += books.realized_pnl != before
    assert max(closing.values()) == 1


def test_two_trades_closed_in_one_minute_are_one_trade_live_and_two_in_a_backtest() -> None:
    """The documented difference: a backtest counts each fill that realised PnL, the
    live series each change of realised PnL between valuations (it sees no fills). A
    win and a loss closed within one minute are two trades in a backtest, one (their
    net) live; every other figure is the same."""
    eth = Instrument.parse(VENUE, ETH_BTC)
    start_ns = 1_800_000_000 * 1_000_000_000

    def fill(n: int, side: Side, quantity: str, price: str, fee: str, fee_asset: str) -> Fill:
        return Fill(
            account_id=ACCOUNT, client_order_id=f"c{n}", venue_order_id=f"v{n}",
            trade_id=f"t{n}", instrument=eth, side=side, price=D(price),
            quantity=D(quantity), fee=D(fee), fee_asset=fee_asset,
            liquidity=Liquidity.TAKER, ts_ns=start_ns + n * MINUTE_NS // 4,
        )  # fmt: skip

    minutes = [  # the fills booked in each minute (a minute's fills stamped within it)
        [fill(1, Side.BUY, "2", "0.05", "0.002", "ETH")],
        [fill(5, Side.SELL, "1", "0.06", "0.00006", "BTC"),
         fill(6, Side.SELL, "0.5", "0.04", "0.00002", "BTC")],
        [],
    ]  # fmt: skip
    closes = ["0.05", "0.045", "0.047"]
    books = Portfolio(ACCOUNT, VENUE, "BTC")
    books.deposit("BTC", D(1))
    series = AccountSeries(ACCOUNT, keep_minutes=10)
    series.add_update(books.snapshot(ts_ns=start_ns))
    curve = [EquitySample(start_ns, books.equity)]
    for i, (fills, close) in enumerate(zip(minutes, closes, strict=True), start=1):
        for each in fills:
            books.apply_fill(each)
        books.revalue({ETH_BTC: D(close)})
        series.add_update(books.snapshot(ts_ns=start_ns + i * MINUTE_NS))
        curve.append(EquitySample(start_ns + i * MINUTE_NS, books.equity))
    trades = [each for fills in minutes for each in fills]
    backtest = backtest_metrics(
        curve, trades, period_s=PERIOD_S, valuation_asset="BTC",
        initial_balances={"BTC": D(1)}, initial_prices={}, fees_value=books.fees,
    )  # fmt: skip
    live = series.analytics(start_ns + len(minutes) * MINUTE_NS)
    assert live is not None

    # Bought at 0.05 (1.998 ETH after the fee): +0.01 on the first sell, -0.005 on the second.
    assert (backtest.trades.trades, backtest.trades.wins, backtest.trades.losses) == (2, 1, 1)
    assert (backtest.trades.average_win, backtest.trades.average_loss) == (D("0.01"), D("-0.005"))
    assert (live.trades, live.win_rate, live.average_win) == (1, 1.0, D("0.005"))
    assert (live.average_loss, live.profit_factor) == (None, None)
    same = {"trades", "win_rate", "profit_factor", "average_win", "average_loss"}
    live_rest = {k: v for k, v in live_figures(live).items() if k not in same}
    backtest_rest = backtest_figures(backtest, books.equity, start_ns)
    assert live_rest == {k: v for k, v in backtest_rest.items() if k not in same}
