"""`momentum`: a moving-average crossover on one symbol's bars. When the fast simple
moving average (over `fast` closes) crosses above the slow one (`slow` closes) — a
golden cross — it buys with `buy_fraction` of the free quote; when it crosses below —
a death cross — it sells the position it bought (never other base the account holds).
While holding, a close (or trade) at or below the entry price x (1 - `stop_loss`)
sells the position too. All orders are market
orders; the entry price is the quote paid per base received (fees in base raise it).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Annotated

import msgspec

from tradewind.domain.events import Bar, Fill, TradeTick
from tradewind.domain.model import Instrument, OrderType, Side
from tradewind.strategies.api import Strategy, StrategyContext, StrategyMemory
from tradewind.strategies.errors import ParamError
from tradewind.strategies.indicators import remember_close, simple_moving_average
from tradewind.strategies.params import PositiveFraction, StrategyParams, Symbol, decimal_range
from tradewind.strategies.sizing import affordable_quantity, order_quantity

ZERO = Decimal(0)


class MomentumParams(StrategyParams, frozen=True):
    """`symbol`; `fast` < `slow` window lengths in bars; `buy_fraction` of the free
    quote spent on a golden cross, in (0, 1]; `stop_loss` as a fraction below the entry
    price (0.05 = 5%), 0 to disable."""

    symbol: Symbol
    fast: Annotated[int, msgspec.Meta(ge=1, le=10_000)] = 12
    slow: Annotated[int, msgspec.Meta(ge=2, le=10_000)] = 26
    buy_fraction: PositiveFraction = Decimal("0.99")
    stop_loss: Annotated[Decimal, decimal_range(0, "0.99")] = Decimal("0.05")

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.fast >= self.slow:
            raise ParamError("fast", "must be below slow")


class MomentumMemory(StrategyMemory, kw_only=True):
    closes: list[Decimal] = []
    last_spread: Decimal | None = None
    """Fast minus slow average at the previous bar; None until both are known."""
    entry_cost: Decimal = ZERO
    """Quote paid for the base bought since the position was last flat."""
    entry_quantity: Decimal = ZERO
    golden_crosses: int = 0
    death_crosses: int = 0
    stops: int = 0


class MomentumStrategy(Strategy):
    """A fast/slow SMA crossover on one symbol's bars: buys on a golden cross, sells what it
    bought on a death cross or at its stop loss."""

    name = "momentum"
    Params = MomentumParams
    params: MomentumParams
    memory: MomentumMemory

    def __init__(self, params: MomentumParams) -> None:
        super().__init__(params)
        self._instrument = Instrument.parse("", params.symbol)

    def symbols(self) -> tuple[str, ...]:
        return (self.params.symbol,)

    def new_memory(self) -> MomentumMemory:
        return MomentumMemory()

    @property
    def entry_price(self) -> Decimal | None:
        """Quote paid per base received for the open position (fees charged in base
        included), None when flat."""
        memory = self.memory
        return memory.entry_cost / memory.entry_quantity if memory.entry_quantity else None

    def history_bars(self) -> int:
        return self.params.slow + 1  # both averages, and the spread one bar before

    def warm_up(self, history: Mapping[str, Sequence[Bar]]) -> None:
        bars = history.get(self.params.symbol, ())
        if not bars:
            return  # nothing known: keep what the memory holds
        p, memory = self.params, self.memory
        memory.closes, memory.last_spread = [], None
        for bar in bars:
            remember_close(memory.closes, bar.close, p.slow)
            fast = simple_moving_average(memory.closes, p.fast)
            slow = simple_moving_average(memory.closes, p.slow)
            if fast is not None and slow is not None:
                memory.last_spread = fast - slow

    def on_bar(self, ctx: StrategyContext, bar: Bar) -> None:
        p, memory = self.params, self.memory
        if bar.instrument.symbol != p.symbol:
            return
        remember_close(memory.closes, bar.close, p.slow)
        fast = simple_moving_average(memory.closes, p.fast)
        slow = simple_moving_average(memory.closes, p.slow)
        if fast is None or slow is None:
            return
        spread, previous = fast - slow, memory.last_spread
        memory.last_spread = spread
        if self._stop_hit(bar.close):
            memory.stops += self._sell_position(ctx, bar.close)
        elif previous is None:
            return
        elif previous <= 0 < spread:
            memory.golden_crosses += 1
            self._buy(ctx, bar.close)
        elif previous >= 0 > spread:
            memory.death_crosses += 1
            self._sell_position(ctx, bar.close)

    def on_tick(self, ctx: StrategyContext, tick: TradeTick) -> None:
        if tick.instrument.symbol == self.params.symbol and self._stop_hit(tick.price):
            self.memory.stops += self._sell_position(ctx, tick.price)

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        if fill.instrument.symbol != self.params.symbol:
            return
        memory = self.memory
        if fill.side is Side.BUY:
            fee_in_base = fill.fee if fill.fee_asset == self._instrument.base else ZERO
            memory.entry_cost += fill.price * fill.quantity
            memory.entry_quantity += fill.quantity - fee_in_base
            return
        sold = min(fill.quantity, memory.entry_quantity)
        if memory.entry_quantity:
            memory.entry_cost -= memory.entry_cost * sold / memory.entry_quantity
        memory.entry_quantity -= sold
        if not order_quantity(
            memory.entry_quantity, fill.price, ctx.market(fill.instrument.symbol)
        ):
            memory.entry_cost, memory.entry_quantity = ZERO, ZERO  # only dust is left

    def _stop_hit(self, price: Decimal) -> bool:
        entry = self.entry_price
        if entry is None or self.params.stop_loss == 0:
            return False
        return price <= entry * (1 - self.params.stop_loss)

    def _busy(self, ctx: StrategyContext) -> bool:
        return any(order.symbol == self.params.symbol for order in ctx.open_orders())

    def _buy(self, ctx: StrategyContext, price: Decimal) -> None:
        if self._busy(ctx) or self.entry_price is not None:
            return
        free_quote = ctx.balances().get(self._instrument.quote, ZERO)
        spend = free_quote * self.params.buy_fraction
        quantity = affordable_quantity(spend, price, ctx.market(self.params.symbol))
        if quantity:
            ctx.submit(Side.BUY, self.params.symbol, quantity, order_type=OrderType.MARKET)

    def _sell_position(self, ctx: StrategyContext, price: Decimal) -> bool:
        """Sell the base this strategy bought (at most the free base); returns whether
        an order went out. A position too small to ever sell (dust) is forgotten."""
        if self._busy(ctx) or self.entry_price is None:
            return False
        market = ctx.market(self.params.symbol)
        free_base = ctx.balances().get(self._instrument.base, ZERO)
        quantity = order_quantity(min(free_base, self.memory.entry_quantity), price, market)
        if not quantity:
            if not order_quantity(self.memory.entry_quantity, price, market):
                self.memory.entry_cost, self.memory.entry_quantity = ZERO, ZERO
            return False  # else the base is not free yet (locked, or a fill ahead of it)
        ctx.submit(Side.SELL, self.params.symbol, quantity, order_type=OrderType.MARKET)
        return True
