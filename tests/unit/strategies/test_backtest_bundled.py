"""Each built-in strategy, unchanged, over the bundled January-2018 candles (seven pairs
quoted in BTC, 5-minute bars, about 20 days), with the invariants any run must keep."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest

from tradewind.domain.model import Side
from tradewind.strategies.api import Strategy
from tradewind.strategies.backtest import BacktestResult, run_backtest
from tradewind.strategies.dca import DcaStrategy
from tradewind.strategies.grid import GridStrategy
from tradewind.strategies.momentum import MomentumStrategy
from tradewind.strategies.rebalance import RebalanceStrategy
from tradewind.strategies.registry import create
from tradewind.venues.simulated.market import Candle, bundled_candles_dir, load_candles

D = Decimal
BASKET = ["DASH/BTC", "ETC/BTC", "ETH/BTC", "LTC/BTC", "XLM/BTC", "XMR/BTC", "ZEC/BTC"]

CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "rebalance_fixed": (
        "rebalance",
        {"basket": BASKET, "quote": "BTC", "drift_threshold": "0.02", "min_trade_value": "0.001"},
    ),
    "rebalance_market_cap": (
        "rebalance",
        {
            "basket": BASKET,
            "quote": "BTC",
            "weighting": "market_cap",
            "market_caps": dict(zip(BASKET, ["9", "3", "110", "12", "8", "5", "2"], strict=True)),
            "max_weight": "0.4",
            "rebalance_interval_s": 86_400,
            "drift_threshold": None,
        },
    ),
    "dca": (
        "dca",
        {"symbol": "ETH/BTC", "quote_amount": "0.02", "dip_threshold": "0.02", "average_bars": 288},
    ),
    "grid": (
        "grid",
        {
            "symbol": "ETH/BTC",
            "lower": "0.085",
            "upper": "0.105",
            "levels": 11,
            "order_value": "0.05",
        },
    ),
    "momentum": ("momentum", {"symbol": "ETH/BTC", "fast": 12, "slow": 48}),
}


@pytest.fixture(scope="module")
def candles() -> dict[str, list[Candle]]:
    loaded = load_candles(bundled_candles_dir())
    assert sorted(loaded) == BASKET
    return loaded


@dataclass(frozen=True)
class Run:
    case: str
    strategy: Strategy
    result: BacktestResult


@pytest.fixture(scope="module", params=sorted(CASES))
def run(request: pytest.FixtureRequest, candles: dict[str, list[Candle]]) -> Run:
    name, params = CASES[request.param]
    strategy = create(name, params)
    result = run_backtest(strategy, candles, initial_balances={"BTC": D(1)})
    return Run(request.param, strategy, result)


@pytest.fixture
def result(run: Run) -> BacktestResult:
    return run.result


def test_each_strategy_did_what_it_is_for(run: Run) -> None:
    s, trades = run.strategy, run.result.trades
    sides = {f.side for f in trades}
    if isinstance(s, RebalanceStrategy):
        assert sides == {Side.BUY, Side.SELL}
        assert {f.instrument.symbol for f in trades} == set(BASKET)
        assert s.memory.rebalances >= (20 if run.case == "rebalance_market_cap" else 2)
    elif isinstance(s, DcaStrategy):
        assert sides == {Side.BUY}
        assert 20 <= s.memory.buys == len(trades) <= 21  # one a day for 20 days
        assert s.memory.dip_buys >= 1
    elif isinstance(s, GridStrategy):
        assert s.memory.round_trips >= 10
        limit_prices = {f.price for f in trades[1:]}  # after the initial market buy
        assert limit_prices <= set(s.memory.prices)
        assert all(D("0.085") <= p <= D("0.105") for p in limit_prices)
    else:
        assert isinstance(s, MomentumStrategy)
        assert s.memory.golden_crosses >= 5 and s.memory.death_crosses >= 5
        assert sides == {Side.BUY, Side.SELL}


def test_the_strategy_traded_and_no_order_broke_the_filters(result: BacktestResult) -> None:
    assert len(result.trades) >= 10
    assert {f.side for f in result.trades} >= {Side.BUY}
    assert result.rejections == []


def test_no_balance_ever_goes_negative(result: BacktestResult) -> None:
    balances: dict[str, Decimal] = defaultdict(Decimal, result.initial_balances)
    for f in result.trades:
        base, quote = f.instrument.base, f.instrument.quote
        sign = 1 if f.side is Side.BUY else -1
        balances[base] += sign * f.quantity
        balances[quote] -= sign * f.quantity * f.price
        balances[f.fee_asset] -= f.fee
        assert min(balances.values()) >= 0, f"negative balance after {f}"
    assert all(amount >= 0 for amount in result.final_balances.values())


def test_every_unit_of_every_asset_is_accounted_for_by_the_trades(result: BacktestResult) -> None:
    expected: dict[str, Decimal] = defaultdict(Decimal, result.initial_balances)
    for f in result.trades:
        sign = 1 if f.side is Side.BUY else -1
        expected[f.instrument.base] += sign * f.quantity
        expected[f.instrument.quote] -= sign * f.quantity * f.price
        expected[f.fee_asset] -= f.fee
    assert {a: v for a, v in expected.items() if v} == {
        a: v for a, v in result.final_balances.items() if v
    }
    assert sum(result.fees.values()) > 0


def test_the_equity_curve_ends_at_the_final_equity(result: BacktestResult) -> None:
    curve = result.equity_curve
    assert len(curve) >= 5_700  # one point per 5-minute step over ~20 days
    assert all(a.ts_ns < b.ts_ns for a, b in itertools.pairwise(curve))
    assert curve[-1].equity == result.final_equity
    assert result.initial_equity == 1
    # a long-only spot account can lose, but never more than it had, nor triple in 20 days
    assert all(0 < point.equity < 3 for point in curve)


def test_the_metrics_describe_the_equity_curve_and_the_trades(result: BacktestResult) -> None:
    """The figures are the curve's (total return, drawdown, one period per bar) and the
    trades' (every sell of a position realises a gain or a loss; the strategies here pay
    fees in the quote or the base, so only sells realise)."""
    metrics = result.metrics
    figures = metrics.performance
    assert figures.period_s == 300
    assert figures.periods == len(result.equity_curve)
    assert figures.total_return == pytest.approx(float(result.final_equity) - 1, abs=1e-12)
    worst = max_drop = 0.0
    peak = 1.0
    for point in result.equity_curve:
        peak = max(peak, float(point.equity))
        max_drop = min(max_drop, float(point.equity) / peak - 1)
    worst = figures.drawdown.max
    assert worst == pytest.approx(max_drop, abs=1e-12)
    assert figures.volatility is not None and figures.volatility > 0
    sells = sum(1 for f in result.trades if f.side is Side.SELL)
    assert metrics.trades.trades <= sells
    assert metrics.trades.wins + metrics.trades.losses <= metrics.trades.trades
    assert metrics.fees_value == result.fees_value
    assert metrics.turnover is not None and metrics.turnover > 0
