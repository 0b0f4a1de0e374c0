"""Backtests: run a strategy, unchanged, over historical bars against a simulated spot
account, and report its equity curve, trades, final balances and fees.

Time advances bar by bar. For each bar open time `t` (all symbols together), with
`ctx.now_ns` = the bars' close time:
1. orders submitted before `t` are filled or expired against the bars opening at `t`
   (rules in `backtest_account`), and the strategy hears of each fill (`on_fill`);
2. the latest prices become those bars' closes, and the strategy gets `on_bar` for the
   bars of its `symbols()`;
3. a due timer fires once (`on_timer`), missed periods coalesced;
4. the equity is recorded.
Orders a hook submits are first eligible for the bars opening at or after its `now_ns`,
so a market order decided at a bar's close fills at the next bar's open. Rejections
reach `on_order_rejected` right after the hook that caused them returns.

Equity is valued in the quote asset all the symbols share (a backtest over pairs with
different quotes is refused): each asset's total (free + locked) at its latest close,
or its first open before that.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from decimal import Decimal, localcontext

import msgspec

from tradewind.domain.events import Bar, Fill, OrderRejected
from tradewind.domain.exact import EXACT
from tradewind.domain.model import Instrument
from tradewind.domain.performance import EquitySample
from tradewind.domain.time_units import NS_PER_MS, NS_PER_S
from tradewind.errors import ConfigError
from tradewind.strategies.api import OpenOrder, Strategy
from tradewind.strategies.backtest_account import BacktestAccount, Fees
from tradewind.strategies.backtest_context import BacktestContext
from tradewind.strategies.backtest_metrics import BacktestMetrics, backtest_metrics
from tradewind.venues.port import Market
from tradewind.venues.simulated.instruments import spec_for
from tradewind.venues.simulated.market import Candle

ZERO = Decimal(0)


class EquityPoint(msgspec.Struct, frozen=True, array_like=True):
    """The account's equity (valuation asset) at `ts_ns` (ns since epoch)."""

    ts_ns: int
    equity: Decimal


class BacktestResult(msgspec.Struct, frozen=True, kw_only=True):
    """What a backtest did. Balances are totals (free + locked) per asset; `fees` per
    asset; `fees_value` and equities in `valuation_asset`; `rejections` are the orders
    refused at submission or at fill; `open_orders` were still open at the end;
    `metrics` the performance, risk and trade figures (`backtest_metrics`)."""

    valuation_asset: str
    initial_balances: dict[str, Decimal]
    final_balances: dict[str, Decimal]
    initial_equity: Decimal
    final_equity: Decimal
    equity_curve: list[EquityPoint]
    trades: list[Fill]
    fees: dict[str, Decimal]
    fees_value: Decimal
    rejections: list[OrderRejected]
    open_orders: list[OpenOrder]
    metrics: BacktestMetrics


def run_backtest(
    strategy: Strategy,
    candles: Mapping[str, Sequence[Bar]] | Mapping[str, Sequence[Candle]],
    *,
    initial_balances: Mapping[str, Decimal],
    fees: Fees | None = None,
    markets: Mapping[str, Market] | None = None,
    account_id: str = "backtest",
    bot_id: str = "backtest",
    venue: str = "backtest",
    on_step: Callable[[int, int], None] | None = None,
    history: Mapping[str, Sequence[Bar]] | Mapping[str, Sequence[Candle]] | None = None,
) -> BacktestResult:
    """Run `strategy` over `candles` (per unified symbol: `Bar`s, or the `Candle`s of
    `market.load_candles`), starting from `initial_balances` (asset -> amount).

    `fees` default to 0.1% maker and taker; `markets` (the symbols' filters) default
    to the simulated exchange's listing rules at each symbol's first open. Raises
    `ConfigError` when the candles are empty, a symbol has no market, the symbols do
    not share one quote asset, or an initial balance cannot be valued in it.
    `on_step(done, total)` is called after every step (one open time of the bars), for
    a progress bar. `history`: the bars before these (per symbol, oldest first) that a
    strategy needing history (`Strategy.history_bars`) warms up on before `on_start`,
    as a live bot does on its venue's.
    """
    bars = {symbol: _as_bars(symbol, rows, venue) for symbol, rows in candles.items()}
    bars = {symbol: rows for symbol, rows in bars.items() if rows}
    if not bars:
        raise ConfigError("candles", "no bars to backtest over")
    markets = dict(markets) if markets is not None else _default_markets(bars)
    missing = sorted(set(bars) - set(markets))
    if missing:
        raise ConfigError("markets", f"no filters for {', '.join(missing)}")
    valuation = _common_quote(markets.values())
    first_open = {symbol: rows[0].open for symbol, rows in bars.items()}
    value_of = _Valuation(valuation, {markets[s].base: p for s, p in first_open.items()})
    value_of.check(initial_balances)

    account = BacktestAccount(
        initial_balances, markets, fees or Fees(), account_id=account_id, venue=venue
    )
    ctx = BacktestContext(strategy, account, account_id=account_id, bot_id=bot_id)
    trades: list[Fill] = []
    rejections: list[OrderRejected] = []
    ctx.listen(trades.append, rejections.append)
    initial_equity = value_of.equity(account.totals)
    wanted = set(strategy.symbols())

    steps = _by_open_time(bars.values())
    curve: list[EquityPoint] = []
    ctx.now_ns = steps[0][0]
    need = strategy.history_bars()
    if need > 0 and history:
        strategy.warm_up(
            {
                symbol: _as_bars(symbol, rows, venue)[-need:]
                for symbol, rows in history.items()
                if symbol in wanted
            }
        )
    ctx.run(strategy.on_start)
    for open_ns, step in steps:
        ctx.now_ns = open_ns + max(bar.interval_s for bar in step) * NS_PER_S
        for event in account.match({bar.instrument.symbol: bar for bar in step}, ctx.now_ns):
            ctx.deliver(event)
        for bar in step:
            ctx.prices[bar.instrument.symbol] = bar.close
            value_of.prices[markets[bar.instrument.symbol].base] = bar.close
        for bar in step:
            if bar.instrument.symbol in wanted:
                ctx.run(strategy.on_bar, bar)
        ctx.fire_timer_if_due()
        curve.append(EquityPoint(ctx.now_ns, value_of.equity(account.totals)))
        if on_step is not None:
            on_step(len(curve), len(steps))
    ctx.run(strategy.on_stop)

    fees_paid, fees_value = _fee_totals(trades)
    metrics = backtest_metrics(
        [EquitySample(steps[0][0], initial_equity)]
        + [EquitySample(point.ts_ns, point.equity) for point in curve],
        trades,
        period_s=max(rows[0].interval_s for rows in bars.values()),
        valuation_asset=valuation,
        initial_balances=initial_balances,
        initial_prices={markets[s].base: p for s, p in first_open.items()},
        fees_value=fees_value,
    )
    return BacktestResult(
        valuation_asset=valuation,
        initial_balances=dict(initial_balances),
        final_balances=dict(account.totals),
        initial_equity=initial_equity,
        final_equity=value_of.equity(account.totals),
        equity_curve=curve,
        trades=trades,
        fees=fees_paid,
        fees_value=fees_value,
        rejections=rejections,
        open_orders=ctx.open_orders(),
        metrics=metrics,
    )


def _by_open_time(bars: Iterable[list[Bar]]) -> list[tuple[int, list[Bar]]]:
    """The bars grouped by open time, in time order, each group sorted by symbol."""
    steps: dict[int, list[Bar]] = defaultdict(list)
    for rows in bars:
        for bar in rows:
            steps[bar.open_ns].append(bar)
    return [
        (open_ns, sorted(steps[open_ns], key=lambda b: b.instrument.symbol))
        for open_ns in sorted(steps)
    ]


def _fee_totals(trades: Iterable[Fill]) -> tuple[dict[str, Decimal], Decimal]:
    """Fees per asset, and their total in the quote (base fees at their fill price)."""
    per_asset: dict[str, Decimal] = defaultdict(lambda: ZERO)
    in_quote = ZERO
    with localcontext(EXACT):
        for fill in trades:
            per_asset[fill.fee_asset] += fill.fee
            base_fee = fill.fee_asset == fill.instrument.base
            in_quote += fill.fee * fill.price if base_fee else fill.fee
    return dict(per_asset), in_quote


class _Valuation:
    """Values balances in `asset` at the latest known price of each `BASE/asset`."""

    def __init__(self, asset: str, prices: dict[str, Decimal]) -> None:
        self.asset = asset
        self.prices = prices  # base asset -> price in `asset`

    def check(self, balances: Mapping[str, Decimal]) -> None:
        for held in balances:
            if held != self.asset and held not in self.prices:
                raise ConfigError(
                    "initial_balances",
                    f"{held} cannot be valued in {self.asset}: no {held}/{self.asset} bars",
                )

    def equity(self, totals: Mapping[str, Decimal]) -> Decimal:
        with localcontext(EXACT):
            return sum(
                (a if s == self.asset else a * self.prices[s] for s, a in totals.items() if a),
                ZERO,
            )


def _as_bars(symbol: str, rows: Sequence[Bar] | Sequence[Candle], venue: str) -> list[Bar]:
    if not rows or isinstance(rows[0], Bar):
        return [row for row in rows if isinstance(row, Bar)]
    candles = [row for row in rows if isinstance(row, Candle)]
    gaps = [b.open_ms - a.open_ms for a, b in itertools.pairwise(candles)]
    interval_s = (min(gaps) if gaps else 60_000) // 1000
    instrument = Instrument.parse(venue, symbol)
    return [
        Bar(
            instrument=instrument,
            interval_s=interval_s,
            open_ns=c.open_ms * NS_PER_MS,
            open=c.open,
            high=c.high,
            low=c.low,
            close=c.close,
            volume=c.volume,
        )
        for c in candles
    ]


def _default_markets(bars: Mapping[str, list[Bar]]) -> dict[str, Market]:
    markets: dict[str, Market] = {}
    for symbol, rows in bars.items():
        spec = spec_for("backtest", symbol, rows[0].open)
        f = spec.filters
        markets[symbol] = Market(
            symbol,
            spec.instrument.base,
            spec.instrument.quote,
            tick_size=f.tick_size,
            step_size=f.step_size,
            min_quantity=f.min_qty,
            min_notional=f.min_notional,
        )
    return markets


def _common_quote(markets: Iterable[Market]) -> str:
    quotes = {market.quote for market in markets}
    if len(quotes) != 1:
        raise ConfigError(
            "candles", f"the symbols are quoted in {', '.join(sorted(quotes))}; use one quote"
        )
    return quotes.pop()


__all__ = ["BacktestResult", "EquityPoint", "Fees", "run_backtest"]
