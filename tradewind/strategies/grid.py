"""`grid`: a spot grid on one symbol. `levels` prices from `lower` to `upper` (quote per
base, arithmetic or geometric spacing, on the tick). Once the price is inside the
bounds, it places limit buys at the levels below the price and limit sells at the levels
above, leaving the level nearest the price empty. When a buy at level i fills it places
a sell one level up (at i + 1) for the base it received, and when a sell at level i
fills a buy one level down (at i - 1): each fill re-arms the grid, and no order is ever
placed outside the bounds.

Each buy spends about `order_value` (quote). The sells above the price need base: with
`buy_initial_inventory` the strategy buys what is missing at market first and places
those sells when that buy has filled; otherwise it sells only what the account holds.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from tradewind.domain.events import Bar, Fill, OrderRejected, TradeTick
from tradewind.domain.model import Instrument, OrderType, Side
from tradewind.strategies.api import (
    Strategy,
    StrategyContext,
    StrategyMemory,
    client_order_id_for,
)
from tradewind.strategies.errors import ParamError
from tradewind.strategies.params import Amount, Price, StrategyParams, Symbol
from tradewind.strategies.sizing import (
    affordable_quantity,
    ceil_to_step,
    meets_minimums,
    order_quantity,
    round_to_tick,
)

ZERO = Decimal(0)
#: Quote kept aside for the initial market buy, beyond its estimate, in case the price
#: rises before it fills (fraction of its estimated cost).
SEED_SLIPPAGE = Decimal("0.02")


class GridParams(StrategyParams, frozen=True):
    """`symbol`; `lower` < `upper` bounds (quote per base); `levels` prices including
    both bounds; `order_value` (quote) spent by each buy; `spacing` "arithmetic" (equal
    price steps) or "geometric" (equal ratios)."""

    symbol: Symbol
    lower: Price
    upper: Price
    order_value: Amount
    levels: Annotated[int, msgspec.Meta(ge=2, le=500)] = 10
    spacing: Literal["arithmetic", "geometric"] = "arithmetic"
    buy_initial_inventory: bool = True

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.upper <= self.lower:
            raise ParamError("upper", "must be above lower")


def grid_prices(params: GridParams, tick_size: Decimal) -> list[Decimal]:
    """The level prices, ascending, rounded to the tick; levels that round to the same
    tick (or to 0) collapse into one."""
    n = params.levels - 1
    if params.spacing == "arithmetic":
        step = (params.upper - params.lower) / n
        raw = [params.lower + step * i for i in range(n)]
    else:
        ratio = (params.upper / params.lower) ** (Decimal(1) / n)
        raw = [params.lower * ratio**i for i in range(n)]
    raw.append(params.upper)
    return sorted({p for p in (round_to_tick(r, tick_size) for r in raw) if p > 0})


class GridOrder(msgspec.Struct, kw_only=True):
    """One of the grid's resting orders. `received` is the base a buy has brought in,
    net of fees charged in base."""

    level: int
    side: Side
    quantity: Decimal
    filled: Decimal = ZERO
    received: Decimal = ZERO


class GridMemory(StrategyMemory, kw_only=True):
    prices: list[Decimal] = []
    """The level prices; empty until the grid starts."""
    orders: dict[str, GridOrder] = {}
    """The resting orders by client order id."""
    seed_order: str = ""
    """Client order id of the initial market buy while it is open, else ""."""
    seed_quantity: Decimal = ZERO
    seed_filled: Decimal = ZERO
    pending_sells: list[int] = []
    """Levels whose sells wait for the initial buy."""
    round_trips: int = 0
    """Sells filled (each closes a buy one level below)."""


class GridStrategy(Strategy):
    """A re-arming limit-order grid on one symbol: buys below the price, sells above, and
    each fill re-arms the opposite order one level away."""

    name = "grid"
    Params = GridParams
    params: GridParams
    memory: GridMemory

    def __init__(self, params: GridParams) -> None:
        super().__init__(params)
        self._instrument = Instrument.parse("", params.symbol)

    def symbols(self) -> tuple[str, ...]:
        return (self.params.symbol,)

    def new_memory(self) -> GridMemory:
        return GridMemory()

    def on_bar(self, ctx: StrategyContext, bar: Bar) -> None:
        if bar.instrument.symbol == self.params.symbol and not self.memory.prices:
            self.start_grid(ctx, bar.close)

    def on_tick(self, ctx: StrategyContext, tick: TradeTick) -> None:
        if tick.instrument.symbol == self.params.symbol and not self.memory.prices:
            self.start_grid(ctx, tick.price)

    def on_fill(self, ctx: StrategyContext, fill: Fill) -> None:
        memory, cid = self.memory, fill.client_order_id
        if cid and cid == memory.seed_order:
            memory.seed_filled += fill.quantity
            if memory.seed_filled >= memory.seed_quantity:
                self._place_pending_sells(ctx)
            return
        order = memory.orders.get(cid)
        if order is None:
            return
        order.filled += fill.quantity
        if order.side is Side.BUY:
            fee_in_base = fill.fee if fill.fee_asset == self._instrument.base else ZERO
            order.received += fill.quantity - fee_in_base
        if order.filled < order.quantity:
            return
        del memory.orders[cid]
        if order.side is Side.BUY:
            self._place_sell(ctx, order.level + 1, order.received)
        else:
            memory.round_trips += 1
            self._place_buy(ctx, order.level - 1, ctx.balances().get(self._quote, ZERO))

    def on_order_rejected(self, ctx: StrategyContext, rejected: OrderRejected) -> None:
        cid = rejected.client_order_id
        if cid and cid == self.memory.seed_order:
            self._place_pending_sells(ctx)  # with whatever base the account has
        else:
            self.memory.orders.pop(cid, None)  # that level stays empty

    @property
    def _quote(self) -> str:
        return self._instrument.quote

    def start_grid(self, ctx: StrategyContext, price: Decimal) -> None:
        """Lay out the grid around `price` if it lies within the bounds and the account
        holds the quote or the base (a bot can start before its account's balances are
        known: it lays the grid out at a later bar or tick, not once and empty)."""
        p = self.params
        if not p.lower <= price <= p.upper:
            return
        held = ctx.balances()
        if held.get(self._quote, ZERO) <= ZERO and held.get(self._instrument.base, ZERO) <= ZERO:
            return
        market = ctx.market(p.symbol)
        prices = grid_prices(p, market.tick_size)
        if len(prices) < 2:
            return
        self.memory.prices = prices
        nearest = min(range(len(prices)), key=lambda i: abs(prices[i] - price))
        sell_levels = list(range(nearest + 1, len(prices)))
        budget = ctx.balances().get(self._quote, ZERO)
        free_base = ctx.balances().get(self._instrument.base, ZERO)
        missing = sum((self._sell_quantity(i) for i in sell_levels), ZERO) - free_base
        seed = ceil_to_step(missing, market.step_size)
        self.memory.pending_sells = sell_levels
        if p.buy_initial_inventory and meets_minimums(seed, price, market):
            cost = seed * price * (1 + SEED_SLIPPAGE)
            if cost <= budget:
                intent_id = ctx.submit(Side.BUY, p.symbol, seed, order_type=OrderType.MARKET)
                self.memory.seed_order = client_order_id_for(ctx.account_id, ctx.bot_id, intent_id)
                self.memory.seed_quantity = seed
                budget -= cost
        for level in reversed(range(nearest)):
            budget -= self._place_buy(ctx, level, budget)
        if not self.memory.seed_order:
            self._place_pending_sells(ctx)

    def _sell_quantity(self, level: int) -> Decimal:
        """Base sold at `level` when the grid starts: what a buy one level down buys."""
        return self.params.order_value / self.memory.prices[level - 1]

    def _place_pending_sells(self, ctx: StrategyContext) -> None:
        self.memory.seed_order = ""
        available = ctx.balances().get(self._instrument.base, ZERO)
        for level in self.memory.pending_sells:
            available -= self._place_sell(ctx, level, min(self._sell_quantity(level), available))
        self.memory.pending_sells = []

    def _place_buy(self, ctx: StrategyContext, level: int, budget: Decimal) -> Decimal:
        """A limit buy of about `order_value` at `level` within `budget` (quote); returns
        the quote it holds (0 if nothing was placed)."""
        if not 0 <= level < len(self.memory.prices) - 1:
            return ZERO
        price = self.memory.prices[level]
        spend = min(self.params.order_value, budget)
        quantity = affordable_quantity(spend, price, ctx.market(self.params.symbol))
        if not quantity:
            return ZERO
        self._submit_limit(ctx, Side.BUY, level, quantity)
        return quantity * price

    def _place_sell(self, ctx: StrategyContext, level: int, quantity: Decimal) -> Decimal:
        """A limit sell of `quantity` (rounded down, at most the free base) at `level`;
        returns the base it holds (0 if nothing was placed)."""
        if not 0 < level < len(self.memory.prices):
            return ZERO
        price = self.memory.prices[level]
        free_base = ctx.balances().get(self._instrument.base, ZERO)
        market = ctx.market(self.params.symbol)
        quantity = order_quantity(min(quantity, free_base), price, market)
        if not quantity:
            return ZERO
        self._submit_limit(ctx, Side.SELL, level, quantity)
        return quantity

    def _submit_limit(self, ctx: StrategyContext, side: Side, level: int, qty: Decimal) -> None:
        price = self.memory.prices[level]
        intent_id = ctx.submit(
            side, self.params.symbol, qty, order_type=OrderType.LIMIT, price=price
        )
        self.memory.orders[client_order_id_for(ctx.account_id, ctx.bot_id, intent_id)] = GridOrder(
            level=level, side=side, quantity=qty
        )
