"""The backtest harness: when and at what price orders fill, fees, holds, rejections,
timers and the equity curve, on a few hand-made bars."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import pytest

from tradewind.domain.events import Bar, Fill, OrderRejected
from tradewind.domain.model import Liquidity, OrderType, Side, TimeInForce
from tradewind.errors import ConfigError
from tradewind.strategies.api import Strategy, StrategyContext, client_order_id_for
from tradewind.strategies.backtest import BacktestResult, Fees, run_backtest
from tradewind.strategies.params import StrategyParams
from tradewind.venues.simulated.market import Candle

from .factories import T0, D, bar, market

ETH = "ETH/BTC"
STEP_NS = 300 * 10**9
Action = Callable[[StrategyContext], object]


class Params(StrategyParams, frozen=True):
    pass


class Scripted(Strategy):
    """Runs `actions[i]` at the close of the i-th bar; records what it hears."""

    name = "scripted"
    Params = Params

    def __init__(self, actions: dict[int, Action], timer_s: float = 0) -> None:
        super().__init__(Params())
        self.actions = actions
        self.timer_s = timer_s
        self.bars = 0
        self.fills: list[Fill] = []
        self.rejected: list[OrderRejected] = []
        self.timer_calls: list[int] = []
        self.intents: list[str] = []

    def symbols(self) -> tuple[str, ...]:
        return (ETH,)

    def on_start(self, ctx: StrategyContext) -> None:
        if self.timer_s:
            ctx.set_timer(self.timer_s)

    def on_bar(self, ctx: StrategyContext, bar: Bar) -> None:
        action = self.actions.get(self.bars)
        self.bars += 1
        if action is not None:
            result = action(ctx)
            if isinstance(result, str):
                self.intents.append(result)

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        self.fills.append(fill)

    def on_order_rejected(self, ctx: StrategyContext, rejected: OrderRejected) -> None:
        self.rejected.append(rejected)

    def on_timer(self, ctx: StrategyContext, now_ns: int) -> None:
        self.timer_calls.append(now_ns)


def bars(*ohlc: tuple[str, str, str, str]) -> list[Bar]:
    return [
        bar(ETH, c, open=o, high=h, low=low, open_ns=T0 + i * STEP_NS)
        for i, (o, h, low, c) in enumerate(ohlc)
    ]


FLAT = ("0.05", "0.05", "0.05", "0.05")


def run(strategy: Strategy, rows: list[Bar], btc: str = "1", eth: str = "0") -> BacktestResult:
    return run_backtest(
        strategy,
        {ETH: rows},
        initial_balances={"BTC": D(btc), "ETH": D(eth)},
        fees=Fees(maker=D("0.001"), taker=D("0.002")),
        markets={ETH: market(ETH, step="0.001")},
    )


def buy(quantity: str, **kwargs: object) -> Action:
    return lambda ctx: ctx.submit(Side.BUY, ETH, D(quantity), **kwargs)  # type: ignore[arg-type]


def sell(quantity: str, **kwargs: object) -> Action:
    return lambda ctx: ctx.submit(Side.SELL, ETH, D(quantity), **kwargs)  # type: ignore[arg-type]


def test_a_market_order_fills_at_the_next_bars_open_paying_the_taker_fee_in_base() -> None:
    s = Scripted({0: buy("2", order_type=OrderType.MARKET)})
    result = run(s, bars(FLAT, ("0.051", "0.052", "0.05", "0.052")))

    [f] = result.trades
    assert (f.side, f.price, f.quantity, f.liquidity) == (
        Side.BUY,
        D("0.051"),
        D(2),
        Liquidity.TAKER,
    )
    assert (f.fee, f.fee_asset) == (D("0.004"), "ETH")
    assert f.ts_ns == T0 + STEP_NS  # the second bar's open
    assert (
        f.client_order_id
        == client_order_id_for("backtest", "backtest", s.intents[0])
        == client_order_id_for("backtest", "backtest", "backtest:1")
    )
    assert s.fills == [f]
    assert result.final_balances == {"BTC": D("0.898"), "ETH": D("1.996")}
    assert result.fees == {"ETH": D("0.004")}
    assert result.fees_value == D("0.004") * D("0.051")


def test_a_resting_limit_buy_holds_its_quote_and_fills_at_its_price_as_maker() -> None:
    seen: list[dict[str, Decimal]] = []
    s = Scripted(
        {
            0: buy("10", order_type=OrderType.LIMIT, price=D("0.049")),
            1: lambda ctx: seen.append(ctx.balances()),
        }
    )
    result = run(
        s, bars(FLAT, ("0.05", "0.051", "0.0495", "0.05"), ("0.05", "0.05", "0.048", "0.049"))
    )

    assert seen == [{"BTC": D("0.51"), "ETH": D(0)}]  # 0.49 BTC held while it rests
    [f] = result.trades
    assert (f.price, f.liquidity, f.fee) == (D("0.049"), Liquidity.MAKER, D("0.01"))
    assert result.final_balances == {"BTC": D("0.51"), "ETH": D("9.99")}


def test_a_limit_order_through_the_open_on_arrival_fills_at_the_open_as_taker() -> None:
    s = Scripted({0: sell("1", order_type=OrderType.LIMIT, price=D("0.05"))})
    result = run(s, bars(FLAT, ("0.052", "0.053", "0.051", "0.052")), eth="1")

    [f] = result.trades
    assert (f.side, f.price, f.liquidity) == (Side.SELL, D("0.052"), Liquidity.TAKER)
    assert (f.fee, f.fee_asset) == (D("0.052") * D("0.002"), "BTC")


def test_a_limit_sell_fills_when_the_high_reaches_it() -> None:
    s = Scripted({0: sell("1", order_type=OrderType.LIMIT, price=D("0.06"))})
    result = run(
        s,
        bars(FLAT, ("0.05", "0.059", "0.05", "0.05"), ("0.05", "0.06", "0.05", "0.05")),
        eth="1",
    )

    [f] = result.trades
    assert (f.price, f.liquidity) == (D("0.06"), Liquidity.MAKER)
    assert f.ts_ns == T0 + 3 * STEP_NS  # stamped at the close of the bar that filled it


@pytest.mark.parametrize(
    ("action", "reason"),
    [
        (buy("1.0005", order_type=OrderType.MARKET), "not a multiple of step size"),
        (buy("0.001", order_type=OrderType.MARKET), "notional 0.00005"),
        (buy("1", order_type=OrderType.LIMIT, price=D("0.050005")), "tick size"),
        (buy("30", order_type=OrderType.LIMIT, price=D("0.05")), "insufficient BTC: needs 1.5"),
        (sell("1", order_type=OrderType.LIMIT, price=D("0.05")), "insufficient ETH"),
    ],
)
def test_orders_the_filters_or_balances_refuse_are_rejected_back_to_the_strategy(
    action: Action, reason: str
) -> None:
    s = Scripted({0: action})
    result = run(s, bars(FLAT, FLAT))

    assert result.trades == []
    [rejected] = s.rejected
    assert reason in rejected.reason
    assert result.rejections == [rejected]
    assert result.final_balances == {"BTC": D(1), "ETH": D(0)}


@pytest.mark.parametrize(
    ("action", "message"),
    [
        (buy("1", order_type=OrderType.LIMIT), "a limit order of ETH/BTC needs a price"),
        (
            lambda ctx: ctx.submit(Side.BUY, "DOGE/BTC", D(1), order_type=OrderType.MARKET),
            "no market DOGE/BTC",
        ),
    ],
)
def test_a_malformed_submission_is_a_strategy_bug_as_it_is_live(
    action: Action, message: str
) -> None:
    """Raised from `ctx.submit` (as the live host does; tests/unit/strategies/
    test_submission_contract.py), not turned into a rejection the market never made."""
    with pytest.raises(ValueError, match=message):
        run(Scripted({0: action}), bars(FLAT, FLAT))


def test_a_market_buy_the_account_cannot_pay_at_the_open_is_rejected_at_fill() -> None:
    s = Scripted({0: buy("20", order_type=OrderType.MARKET)})  # 1 BTC at 0.05, then 0.06
    result = run(s, bars(FLAT, ("0.06", "0.06", "0.06", "0.06")))

    assert result.trades == []
    assert "insufficient BTC at fill" in s.rejected[0].reason


def test_sells_submitted_first_pay_for_buys_in_the_same_bar() -> None:
    def rotate(ctx: StrategyContext) -> None:
        ctx.submit(Side.SELL, ETH, D(20), order_type=OrderType.MARKET)
        ctx.submit(Side.BUY, ETH, D(19), order_type=OrderType.MARKET)

    result = run(Scripted({0: rotate}), bars(FLAT, FLAT), btc="0", eth="20")

    assert [f.side for f in result.trades] == [Side.SELL, Side.BUY]
    assert result.rejections == []


def test_ioc_expires_unfilled_and_post_only_is_rejected_if_it_would_take() -> None:
    s = Scripted(
        {
            0: buy("1", order_type=OrderType.LIMIT, price=D("0.04"), tif=TimeInForce.IOC),
            1: buy("1", order_type=OrderType.LIMIT, price=D("0.06"), tif=TimeInForce.GTX),
        }
    )
    result = run(s, bars(FLAT, FLAT, FLAT, ("0.04", "0.04", "0.04", "0.04")))

    assert result.trades == []
    assert [r.reason for r in s.rejected] == ["post-only order would take"]
    assert result.open_orders == []


def test_cancel_releases_the_hold() -> None:
    free: list[Decimal] = []
    s = Scripted(
        {
            0: buy("10", order_type=OrderType.LIMIT, price=D("0.04")),
            1: lambda ctx: ctx.cancel(ctx.open_orders()[0].intent_id),
            2: lambda ctx: free.append(ctx.balances()["BTC"]),
        }
    )
    result = run(s, bars(FLAT, FLAT, FLAT, ("0.04", "0.04", "0.04", "0.04")))

    assert free == [D(1)]
    assert result.trades == []


def test_the_timer_fires_once_per_due_step_with_missed_periods_coalesced() -> None:
    s = Scripted({}, timer_s=120)  # every 2 minutes; bars every 5
    run(s, bars(FLAT, FLAT, FLAT))

    assert s.timer_calls == [T0 + i * STEP_NS for i in (1, 2, 3)]


def test_the_equity_curve_values_every_asset_at_the_latest_close() -> None:
    s = Scripted({})
    result = run(s, bars(FLAT, ("0.05", "0.06", "0.05", "0.06")), btc="1", eth="10")

    assert [p.equity for p in result.equity_curve] == [D("1.5"), D("1.6")]
    assert [p.ts_ns for p in result.equity_curve] == [T0 + STEP_NS, T0 + 2 * STEP_NS]
    assert (result.initial_equity, result.final_equity) == (D("1.5"), D("1.6"))
    assert result.valuation_asset == "BTC"


def test_candles_as_loaded_from_files_are_accepted_with_default_markets() -> None:
    candles = [
        Candle(1_000_000 + i * 300_000, D("0.05"), D("0.05"), D("0.05"), D("0.05"), D(1))
        for i in range(3)
    ]
    s = Scripted({0: buy("1", order_type=OrderType.MARKET)})

    result = run_backtest(s, {ETH: candles}, initial_balances={"BTC": D(1)})

    assert len(result.trades) == 1
    assert result.equity_curve[0].ts_ns == (1_000_000 + 300_000) * 10**6


def test_balances_that_cannot_be_valued_are_refused() -> None:
    with pytest.raises(ConfigError, match="DOGE cannot be valued in BTC"):
        run_backtest(Scripted({}), {ETH: bars(FLAT)}, initial_balances={"DOGE": D(1)})


def test_symbols_without_filters_or_with_different_quotes_are_refused() -> None:
    with pytest.raises(ConfigError, match="no filters for ETH/BTC"):
        run_backtest(Scripted({}), {ETH: bars(FLAT)}, initial_balances={"BTC": D(1)}, markets={})
    eth_usdt = [bar("ETH/USDT", "2000")]
    with pytest.raises(ConfigError, match="quoted in BTC, USDT"):
        run_backtest(
            Scripted({}), {ETH: bars(FLAT), "ETH/USDT": eth_usdt}, initial_balances={"BTC": D(1)}
        )


def test_the_metrics_count_each_sell_as_a_trade_won_or_lost_at_average_cost() -> None:
    """Bought 2 ETH at 0.051 (the fee takes 0.004 ETH: 1.996 held at 0.051 each, the fee
    counted as a fee, not as cost), then sold 1 at 0.06 (a win) and 0.9 at 0.04 (a
    loss); PnL before fees, as the portfolio service books it."""
    s = Scripted(
        {
            0: buy("2", order_type=OrderType.MARKET),
            1: sell("1", order_type=OrderType.MARKET),
            2: sell("0.9", order_type=OrderType.MARKET),
        }
    )
    rows = bars(
        FLAT,
        ("0.051", "0.051", "0.051", "0.051"),
        ("0.06", "0.06", "0.06", "0.06"),
        ("0.04", "0.04", "0.04", "0.04"),
    )
    result = run(s, rows)
    assert [f.side for f in result.trades] == [Side.BUY, Side.SELL, Side.SELL]
    stats = result.metrics.trades
    unit_cost = 0.051
    assert (stats.trades, stats.wins, stats.losses, stats.win_rate) == (2, 1, 1, 0.5)
    assert float(stats.average_win or 0) == pytest.approx(0.06 - unit_cost)
    assert float(stats.average_loss or 0) == pytest.approx(0.9 * (0.04 - unit_cost))
    assert stats.profit_factor == pytest.approx((0.06 - unit_cost) / (0.9 * (unit_cost - 0.04)))
    figures = result.metrics.performance
    assert figures.periods == len(rows)
    assert figures.total_return == pytest.approx(float(result.final_equity - 1))


def test_a_strategy_warms_up_on_the_bars_before_the_window_and_acts_on_its_first() -> None:
    from tradewind.strategies.momentum import MomentumStrategy

    def momentum() -> MomentumStrategy:
        return MomentumStrategy.from_params({"symbol": ETH, "fast": 2, "slow": 3})

    falling = [
        bar(ETH, c, open_ns=T0 + i * STEP_NS)
        for i, c in enumerate(("0.05", "0.045", "0.04", "0.039"))
    ]  # fast below slow: the next rise crosses
    window = [bar(ETH, c, open_ns=T0 + (4 + i) * STEP_NS) for i, c in enumerate(("0.06", "0.06"))]
    balances = {"BTC": D(1)}
    warmed = run_backtest(momentum(), {ETH: window}, initial_balances=balances,
                          history={ETH: falling})  # fmt: skip
    cold = run_backtest(momentum(), {ETH: window}, initial_balances=balances)
    assert [f.side for f in warmed.trades] == [Side.BUY]  # bought at the window's second open
    assert cold.trades == []  # two bars: not enough to know either average
