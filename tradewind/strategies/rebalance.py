"""`rebalance`: a long-only index of a basket of symbols, all quoted in one asset
(Stoic-style). It holds each symbol at a target weight of the account's equity and
rebalances on a schedule and/or when any weight drifts too far from its target.

Equity = free quote + sum of holdings x latest price (quote). Targets leave
`cash_reserve` of it in quote as a cushion for fees and price moves between the
decision and the fills. Orders are market orders, sells first: they are executed in
submission order, so the quote they raise pays for the buys that follow.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from tradewind.domain.events import Bar
from tradewind.domain.exact import quotient_down
from tradewind.domain.model import OrderType, Side
from tradewind.domain.time_units import NS_PER_S
from tradewind.strategies.api import SCHEDULE_CHECK_S, Strategy, StrategyContext, StrategyMemory
from tradewind.strategies.errors import ParamError
from tradewind.strategies.indicators import remember_close
from tradewind.strategies.params import (
    MAX_AMOUNT,
    MAX_ANY_NUMBER,
    MAX_SYMBOLS,
    Asset,
    PositiveFraction,
    StrategyParams,
    Symbol,
    decimal_range,
    require_known_keys,
    require_symbol,
)
from tradewind.strategies.sizing import affordable_quantity, order_quantity
from tradewind.strategies.weights import (
    capped,
    fixed_weights,
    market_cap_weights,
    momentum_weights,
)
from tradewind.venues.port import Market

ZERO = Decimal(0)
#: Index funds rebalance as rarely as quarterly: a schedule may be up to a year apart.
MAX_REBALANCE_INTERVAL_S = 366 * 86_400

Weight = Annotated[Decimal, decimal_range(0, MAX_AMOUNT)]
MarketCap = Annotated[Decimal, decimal_range(0, MAX_ANY_NUMBER, above_minimum=True)]


class RebalanceParams(StrategyParams, frozen=True):
    """`basket`: symbols quoted in `quote`. `weighting`: "fixed" (`weights` by symbol,
    equal when empty), "market_cap" (`market_caps` by symbol, any one unit) or
    "momentum" (proportional to positive returns over `momentum_bars` bars).
    `max_weight` caps any one symbol (fraction). Rebalance every `rebalance_interval_s`
    seconds and/or when a weight drifts `drift_threshold` (absolute fraction, 0.05 = 5
    points) from its target; None disables either, not both. Trades worth less than
    `min_trade_value` (quote) are skipped. `cash_reserve`: fraction of equity kept in
    quote."""

    basket: Annotated[tuple[Symbol, ...], msgspec.Meta(max_length=MAX_SYMBOLS)]
    quote: Asset = "USDT"
    weighting: Literal["fixed", "market_cap", "momentum"] = "fixed"
    weights: Annotated[dict[Symbol, Weight], msgspec.Meta(max_length=MAX_SYMBOLS)] = {}
    market_caps: Annotated[dict[Symbol, MarketCap], msgspec.Meta(max_length=MAX_SYMBOLS)] = {}
    momentum_bars: Annotated[int, msgspec.Meta(ge=1, le=100_000)] = 288
    max_weight: PositiveFraction = Decimal(1)
    rebalance_interval_s: Annotated[int, msgspec.Meta(ge=1, le=MAX_REBALANCE_INTERVAL_S)] | None = (
        86_400
    )
    drift_threshold: PositiveFraction | None = Decimal("0.05")
    min_trade_value: Annotated[Decimal, decimal_range(0, MAX_AMOUNT)] = ZERO
    cash_reserve: Annotated[Decimal, decimal_range(0, "0.5")] = Decimal("0.01")

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.basket:
            raise ParamError("basket", "must name at least one symbol")
        if len(set(self.basket)) != len(self.basket):
            raise ParamError("basket", "names a symbol twice")
        for i, symbol in enumerate(self.basket):
            require_symbol(f"basket[{i}]", symbol, self.quote)
        self._check_weighting()
        if self.rebalance_interval_s is None and self.drift_threshold is None:
            raise ParamError("drift_threshold", "set it or rebalance_interval_s (both are None)")

    def _check_weighting(self) -> None:
        require_known_keys("weights", self.weights, self.basket)
        require_known_keys("market_caps", self.market_caps, self.basket)
        if self.weights and sum(self.weights.values(), ZERO) <= 0:
            raise ParamError("weights", "must not all be 0")
        if self.weighting == "market_cap":
            for i, symbol in enumerate(self.basket):
                if symbol not in self.market_caps:
                    raise ParamError("market_caps", f"has no market cap for basket[{i}]")


def target_weights(
    params: RebalanceParams, closes: Mapping[str, Sequence[Decimal]]
) -> dict[str, Decimal] | None:
    """Each basket symbol's share of the invested equity under `params`' weighting,
    capped at `max_weight`; None while the momentum weighting lacks history (`closes`:
    recent closes per symbol, oldest first; only momentum reads them)."""
    p = params
    weigh: Callable[[], dict[str, Decimal] | None] = {
        "fixed": lambda: fixed_weights(p.basket, p.weights),
        "market_cap": lambda: market_cap_weights(p.basket, p.market_caps),
        "momentum": lambda: momentum_weights(p.basket, closes, p.momentum_bars),
    }[p.weighting]
    weights = weigh()
    return None if weights is None else capped(weights, p.max_weight)


def rebalance_targets(
    params: RebalanceParams, closes: Mapping[str, Sequence[Decimal]]
) -> dict[str, Decimal] | None:
    """The targets `plan_rebalance` takes: each symbol's fraction of the whole equity,
    `cash_reserve` of it left in quote; None while momentum lacks history."""
    weights = target_weights(params, closes)
    if weights is None:
        return None
    return {s: w * (1 - params.cash_reserve) for s, w in weights.items()}


class PlannedOrder(msgspec.Struct, frozen=True):
    """A market order the plan asks for; `value` is its estimate in quote."""

    side: Side
    symbol: str
    quantity: Decimal
    value: Decimal


def plan_rebalance(
    *,
    targets: Mapping[str, Decimal],
    holdings: Mapping[str, Decimal],
    prices: Mapping[str, Decimal],
    free_quote: Decimal,
    markets: Mapping[str, Market] | None,
    min_trade_value: Decimal = ZERO,
    cash_reserve: Decimal = ZERO,
) -> list[PlannedOrder]:
    """The market orders that move `holdings` (base units) toward `targets` (fractions
    of equity), sells first then buys, symbols in sorted order within each.

    Quantities are rounded down to the step; trades under `min_trade_value`, the
    minimum quantity or the minimum notional are skipped. With `markets` None (the
    filters are not known) nothing is rounded and only `min_trade_value` applies. A
    symbol whose target is 0 is sold whole. The buys together never cost more than the
    free quote plus what the sells raise, less `cash_reserve` x equity; they are scaled
    down pro rata to fit.
    """
    equity = free_quote + sum((holdings[s] * prices[s] for s in targets), ZERO)
    if equity <= 0:
        return []
    sells: list[PlannedOrder] = []
    wanted: dict[str, Decimal] = {}
    for symbol in sorted(targets):
        price, held = prices[symbol], holdings[symbol]
        delta = equity * targets[symbol] - held * price
        if delta < 0:
            quantity = held if targets[symbol] == 0 else min(held, -delta / price)
            quantity = _sell_quantity(quantity, price, markets, symbol, min_trade_value)
            if quantity:
                sells.append(PlannedOrder(Side.SELL, symbol, quantity, quantity * price))
        elif delta > 0:
            wanted[symbol] = delta
    budget = free_quote + sum((o.value for o in sells), ZERO) - equity * cash_reserve
    total_wanted = sum(wanted.values(), ZERO)
    if budget <= 0 or total_wanted <= 0:
        return sells
    scale = min(Decimal(1), budget / total_wanted)
    buys: list[PlannedOrder] = []
    for symbol, value in wanted.items():
        price = prices[symbol]
        quantity = _buy_quantity(value * scale, price, markets, symbol, min_trade_value)
        if quantity:
            buys.append(PlannedOrder(Side.BUY, symbol, quantity, quantity * price))
    return sells + buys


def _sell_quantity(
    quantity: Decimal,
    price: Decimal,
    markets: Mapping[str, Market] | None,
    symbol: str,
    min_value: Decimal,
) -> Decimal:
    if markets is not None:
        return order_quantity(quantity, price, markets[symbol], min_value)
    return quantity if quantity > 0 and quantity * price >= min_value else ZERO


def _buy_quantity(
    spend: Decimal,
    price: Decimal,
    markets: Mapping[str, Market] | None,
    symbol: str,
    min_value: Decimal,
) -> Decimal:
    if markets is not None:
        return affordable_quantity(spend, price, markets[symbol], min_value)
    if spend <= 0 or spend < min_value:
        return ZERO
    return quotient_down(spend, price)  # never more base than `spend` pays for


class RebalanceMemory(StrategyMemory, kw_only=True):
    last_rebalance_ns: int = 0
    """When the last rebalance was decided (ns); 0 = never, so one is due at once."""
    rebalances: int = 0
    closes: dict[str, list[Decimal]] = {}
    """Recent closes per symbol, kept for the momentum weighting only."""


class RebalanceStrategy(Strategy):
    """Keeps a basket of symbols quoted in one asset at its target weights of the equity,
    rebalancing on a schedule and/or when a weight drifts too far."""

    name = "rebalance"
    Params = RebalanceParams
    params: RebalanceParams
    memory: RebalanceMemory

    def __init__(self, params: RebalanceParams) -> None:
        super().__init__(params)
        # The targets of a fixed or market-cap weighting follow from the params alone:
        # worked out once, not on every bar of every symbol (a wave of 10,000 bots).
        self._fixed_targets = (
            None if params.weighting == "momentum" else rebalance_targets(params, {})
        )

    def symbols(self) -> tuple[str, ...]:
        return self.params.basket

    def new_memory(self) -> RebalanceMemory:
        return RebalanceMemory()

    def on_start(self, ctx: StrategyContext) -> None:
        ctx.set_timer(min(SCHEDULE_CHECK_S, self.params.rebalance_interval_s or SCHEDULE_CHECK_S))

    def history_bars(self) -> int:
        return self.params.momentum_bars + 1 if self.params.weighting == "momentum" else 0

    def warm_up(self, history: Mapping[str, Sequence[Bar]]) -> None:
        if self.params.weighting != "momentum":
            return
        keep = self.params.momentum_bars + 1
        for symbol in self.params.basket:
            bars = history.get(symbol, ())
            if bars:
                self.memory.closes[symbol] = [bar.close for bar in bars[-keep:]]

    def on_bar(self, ctx: StrategyContext, bar: Bar) -> None:
        symbol = bar.instrument.symbol
        if symbol not in self.params.basket:
            return
        if self.params.weighting == "momentum":
            closes = self.memory.closes.setdefault(symbol, [])
            remember_close(closes, bar.close, self.params.momentum_bars + 1)
        self.consider_rebalancing(ctx)

    def on_timer(self, ctx: StrategyContext, now_ns: int) -> None:
        self.consider_rebalancing(ctx)

    def consider_rebalancing(self, ctx: StrategyContext) -> None:
        """Rebalance if it is due by schedule or drift, no basket order is still open,
        and every basket symbol has a price."""
        p = self.params
        if any(order.symbol in p.basket for order in ctx.open_orders()):
            return  # the last rebalance is still executing
        prices = _known_prices(ctx, p.basket)
        if prices is None:
            return
        targets = self._fixed_targets
        if targets is None:
            targets = rebalance_targets(p, self.memory.closes)
        if targets is None:
            return
        holdings = {s: ctx.position(s) for s in p.basket}
        free_quote = ctx.balances().get(p.quote, ZERO)
        if not self._due(ctx.now_ns, targets, holdings, prices, free_quote):
            return
        orders = plan_rebalance(
            targets=targets,
            holdings=holdings,
            prices=prices,
            free_quote=free_quote,
            markets={s: ctx.market(s) for s in p.basket},
            min_trade_value=p.min_trade_value,
            cash_reserve=p.cash_reserve,
        )
        for order in orders:
            ctx.submit(order.side, order.symbol, order.quantity, order_type=OrderType.MARKET)
        self.memory.last_rebalance_ns = ctx.now_ns
        self.memory.rebalances += 1

    def _due(
        self,
        now_ns: int,
        targets: Mapping[str, Decimal],
        holdings: Mapping[str, Decimal],
        prices: Mapping[str, Decimal],
        free_quote: Decimal,
    ) -> bool:
        p, last = self.params, self.memory.last_rebalance_ns
        if p.rebalance_interval_s is not None and (
            last == 0 or now_ns - last >= p.rebalance_interval_s * NS_PER_S
        ):
            return True
        if p.drift_threshold is None:
            return False
        return weight_drift(targets, holdings, prices, free_quote) >= p.drift_threshold


def weight_drift(
    targets: Mapping[str, Decimal],
    holdings: Mapping[str, Decimal],
    prices: Mapping[str, Decimal],
    free_quote: Decimal,
) -> Decimal:
    """The largest absolute difference between a symbol's share of equity and its target
    (fractions); 0 when the equity is 0."""
    values = {s: holdings[s] * prices[s] for s in targets}
    equity = free_quote + sum(values.values(), ZERO)
    if equity <= 0:
        return ZERO
    return max(abs(values[s] / equity - targets[s]) for s in targets)


def _known_prices(ctx: StrategyContext, symbols: Sequence[str]) -> dict[str, Decimal] | None:
    prices: dict[str, Decimal] = {}
    for symbol in symbols:
        price = ctx.price(symbol)
        if price is None or price <= 0:
            return None
        prices[symbol] = price
    return prices
