"""`dca`: dollar-cost averaging. Buys `quote_amount` (quote) of one symbol every
`interval_s` seconds with a market order, and `dip_multiplier` times as much when the
price is at least `dip_threshold` below its average over the last `average_bars` bars.

The first buy happens as soon as the symbol has a price. The due time is kept in the
strategy's state, so a restart neither repeats nor skips a buy. A buy is capped at the
free quote and skipped when that is under the market's minimums.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Annotated

import msgspec

from tradewind.domain.events import Bar, Fill
from tradewind.domain.model import Instrument, OrderType, Side
from tradewind.domain.time_units import NS_PER_S
from tradewind.strategies.api import SCHEDULE_CHECK_S, Strategy, StrategyContext, StrategyMemory
from tradewind.strategies.indicators import remember_close, simple_moving_average
from tradewind.strategies.params import (
    Amount,
    IntervalS,
    StrategyParams,
    Symbol,
    decimal_range,
)
from tradewind.strategies.sizing import affordable_quantity

ZERO = Decimal(0)


class DcaParams(StrategyParams, frozen=True):
    """`symbol` to buy; `quote_amount` (quote) per buy; `interval_s` seconds between
    buys. Buy `dip_multiplier` x the amount when the price is `dip_threshold` (fraction,
    0.05 = 5%) or more below the mean close of the last `average_bars` bars; a threshold
    of 0 disables the dip rule."""

    symbol: Symbol
    quote_amount: Amount
    interval_s: IntervalS = 86_400
    dip_threshold: Annotated[Decimal, decimal_range(0, "0.99")] = ZERO
    dip_multiplier: Annotated[Decimal, decimal_range(1, 100)] = Decimal(2)
    average_bars: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 288


class DcaMemory(StrategyMemory, kw_only=True):
    last_buy_ns: int = 0
    """When the last buy was submitted (ns since epoch); 0 = never."""
    buys: int = 0
    dip_buys: int = 0
    spent: Decimal = ZERO
    """Quote paid for fills so far (fees in base not included)."""
    bought: Decimal = ZERO
    """Base received so far, net of fees charged in the base asset."""
    closes: list[Decimal] = []
    """Recent closes, kept only when the dip rule is on."""


class DcaStrategy(Strategy):
    """Dollar-cost averaging: buys `quote_amount` of one symbol every `interval_s` seconds,
    more when the price dips below its recent average."""

    name = "dca"
    Params = DcaParams
    params: DcaParams
    memory: DcaMemory

    def __init__(self, params: DcaParams) -> None:
        super().__init__(params)
        self._instrument = Instrument.parse("", params.symbol)

    def symbols(self) -> tuple[str, ...]:
        return (self.params.symbol,)

    def new_memory(self) -> DcaMemory:
        return DcaMemory()

    def on_start(self, ctx: StrategyContext) -> None:
        ctx.set_timer(min(SCHEDULE_CHECK_S, self.params.interval_s))

    def history_bars(self) -> int:
        return self.params.average_bars if self.params.dip_threshold else 0

    def warm_up(self, history: Mapping[str, Sequence[Bar]]) -> None:
        bars = history.get(self.params.symbol, ())
        if bars and self.params.dip_threshold:
            self.memory.closes = [bar.close for bar in bars[-self.params.average_bars :]]

    def on_bar(self, ctx: StrategyContext, bar: Bar) -> None:
        if bar.instrument.symbol == self.params.symbol:
            if self.params.dip_threshold:
                remember_close(self.memory.closes, bar.close, self.params.average_bars)
            self.buy_if_due(ctx)

    def on_timer(self, ctx: StrategyContext, now_ns: int) -> None:
        self.buy_if_due(ctx)

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        if fill.instrument.symbol != self.params.symbol or fill.side is not Side.BUY:
            return
        self.memory.spent += fill.price * fill.quantity
        fee_in_base = fill.fee if fill.fee_asset == self._instrument.base else ZERO
        self.memory.bought += fill.quantity - fee_in_base

    def is_dip(self, price: Decimal) -> bool:
        """Whether `price` is `dip_threshold` or more below the trailing mean close."""
        p = self.params
        if p.dip_threshold == 0:
            return False
        average = simple_moving_average(self.memory.closes, p.average_bars)
        return average is not None and price <= average * (1 - p.dip_threshold)

    def buy_if_due(self, ctx: StrategyContext) -> None:
        """Submit this interval's buy if it is due and the symbol has a price."""
        p, memory = self.params, self.memory
        if memory.last_buy_ns and ctx.now_ns - memory.last_buy_ns < p.interval_s * NS_PER_S:
            return
        price = ctx.price(p.symbol)
        if price is None or price <= 0:
            return
        dip = self.is_dip(price)
        amount = p.quote_amount * (p.dip_multiplier if dip else 1)
        free_quote = ctx.balances().get(self._instrument.quote, ZERO)
        quantity = affordable_quantity(min(amount, free_quote), price, ctx.market(p.symbol))
        if not quantity:
            return  # too little quote for the minimums: try again at the next check
        ctx.submit(Side.BUY, p.symbol, quantity, order_type=OrderType.MARKET)
        memory.last_buy_ns = ctx.now_ns
        memory.buys += 1
        memory.dip_buys += dip
