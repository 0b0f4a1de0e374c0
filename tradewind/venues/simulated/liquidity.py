"""The simulated market's own participants: a liquidity provider that keeps a ladder of
limit orders around the reference price, and background flow that takes from the book
so trades print. Both trade through the matching engine like anyone else, so a user's
order meets a real book, real queue position and real slippage.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal

from tradewind.domain.model import Side, TimeInForce
from tradewind.errors import ConfigError
from tradewind.venues.simulated.matching import (
    InstrumentSpec,
    MatchingEngine,
    MatchingError,
    SubmitResult,
    SymbolFilters,
)

HOUSE_PREFIX = "sim:"  # account ids of the exchange's own traders
LP_ACCOUNT = f"{HOUSE_PREFIX}liquidity-provider"
FLOW_ACCOUNT = f"{HOUSE_PREFIX}background-flow"
_ENDLESS = Decimal(10) ** 15  # the house accounts' funding per asset
_BPS = Decimal("0.0001")


MAX_ORDERS_PER_LEVEL = 100
"""A level worth more than one order may hold (LOT_SIZE's or NOTIONAL's maximum) is
split into equal orders at the same price, at most this many: the rest is not quoted."""


@dataclass(frozen=True)
class LiquidityConfig:
    """`spread_bps`: best ask - best bid, in basis points of the reference price.
    `level_spacing_bps`: distance between ladder levels. `levels`: levels per side.
    `level_size`: each level's value as a multiple of the pair's minimum notional
    (a level worth more than one order may be is quoted as several orders at its price).
    `requote_bps`: the ladder moves when the reference moved this far from it.
    `flow_per_s`: background market orders per pair per second; `flow_size`: their
    value range as multiples of the minimum notional."""

    spread_bps: Decimal = Decimal(10)
    level_spacing_bps: Decimal = Decimal(5)
    levels: int = 10
    level_size: int = 400
    requote_bps: Decimal = Decimal(3)
    flow_per_s: float = 2.0
    flow_size: tuple[int, int] = (2, 60)

    def __post_init__(self) -> None:
        def refuse(name: str, problem: str) -> None:
            raise ConfigError(f"liquidity {name}", f"{problem}, got {getattr(self, name)!r}")

        if not self.spread_bps > 0:
            refuse("spread_bps", "must be positive (bid and ask must not cross)")
        if not self.level_spacing_bps >= 0:
            refuse("level_spacing_bps", "must not be negative")
        if self.levels < 1:
            refuse("levels", "must be at least 1")
        if self.level_size < 1:
            refuse("level_size", "must be at least 1 (a multiple of the minimum notional)")
        if not self.requote_bps >= 0:
            refuse("requote_bps", "must not be negative")
        if not self.flow_per_s >= 0:
            refuse("flow_per_s", "must not be negative")
        low, high = self.flow_size
        if not 1 <= low <= high:
            refuse("flow_size", "must be (low, high) with 1 <= low <= high")


@dataclass(frozen=True, slots=True)
class LadderOrder:
    """One limit order of the house ladder: `price` in the quote asset, `quantity` in the
    base asset, `level` 0 for the best price of its side."""

    side: Side
    level: int
    price: Decimal
    quantity: Decimal


def level_value(filters: SymbolFilters, config: LiquidityConfig) -> Decimal:
    """What one ladder level is worth (quote asset): `level_size` minimum notionals (ten
    ticks' worth of one lot where the pair has no minimum notional)."""
    return max(filters.min_notional, filters.tick_size * 10) * config.level_size


def house_ladder(
    reference: Decimal, filters: SymbolFilters, config: LiquidityConfig
) -> list[LadderOrder]:
    """The liquidity provider's limit orders around `reference` (quote per base), bids
    and asks level by level from the best. Every order passes the pair's filters: price
    on tick within PRICE_FILTER, quantity a multiple of the step within LOT_SIZE, value
    within NOTIONAL. A level is worth at least `level_value` (or the least one order may
    be), split into equal orders where one order may not hold it (at most
    MAX_ORDERS_PER_LEVEL); a level priced outside PRICE_FILTER is left out."""
    tick, step = filters.tick_size, filters.step_size
    value = level_value(filters, config)
    orders: list[LadderOrder] = []
    half_spread = config.spread_bps / 2
    for level in range(config.levels):
        offset = (half_spread + level * config.level_spacing_bps) * _BPS
        bid = (reference * (1 - offset) / tick).to_integral_value(ROUND_FLOOR) * tick
        ask = (reference * (1 + offset) / tick).to_integral_value(ROUND_CEILING) * tick
        for side, price in ((Side.BUY, bid), (Side.SELL, ask)):
            if not _within_price_filter(price, filters):
                continue
            for steps in _level_orders(value, price, filters):
                orders.append(LadderOrder(side, level, price, steps * step))
    return orders


def _within_price_filter(price: Decimal, filters: SymbolFilters) -> bool:
    if price <= 0 or price < filters.min_price:
        return False
    return not filters.max_price or price <= filters.max_price


def _level_orders(value: Decimal, price: Decimal, filters: SymbolFilters) -> list[int]:
    """The quantities (in lot steps) of the orders that quote `value` at `price`: each
    within LOT_SIZE and NOTIONAL, together worth `value` rounded down to a step, or the
    smallest valid order when `value` is less; [] when no quantity fits both filters."""
    step = filters.step_size
    fewest = max(
        _steps(filters.min_qty, step, ROUND_CEILING),
        _steps(filters.min_notional / price, step, ROUND_CEILING),
        1,
    )
    most = None
    if filters.max_qty:
        most = _steps(filters.max_qty, step, ROUND_FLOOR)
    if filters.max_notional:
        by_notional = _steps(filters.max_notional / price, step, ROUND_FLOOR)
        most = by_notional if most is None else min(most, by_notional)
    total = max(fewest, _steps(value / price, step, ROUND_FLOOR))
    if most is None:
        return [total]
    if most < fewest:
        return []
    count = min(-(-total // most), MAX_ORDERS_PER_LEVEL)
    total = min(total, count * most)
    # Equal orders (the first few one step larger) of at most `most` steps; none falls
    # below `fewest` unless `most` < 2 x `fewest`, where those that would are dropped.
    base, larger = divmod(total, count)
    sizes = [base + 1] * larger + [base] * (count - larger)
    return [size for size in sizes if fewest <= size <= most]


def _steps(quantity: Decimal, step: Decimal, rounding: str) -> int:
    return int((quantity / step).to_integral_value(rounding))


class HouseTraders:
    """The liquidity provider and the background flow of every listed pair."""

    def __init__(
        self,
        engine: MatchingEngine,
        specs: dict[str, InstrumentSpec],
        config: LiquidityConfig,
        *,
        seed: int = 11,
    ) -> None:
        self._engine = engine
        self._specs = specs
        self._config = config
        self._rng = random.Random(seed)
        self._quoted_at: dict[str, Decimal] = {}
        self._resting: dict[str, int] = {}  # ladder orders left resting by the last quote
        assets = {a for s in specs.values() for a in (s.instrument.base, s.instrument.quote)}
        for asset in sorted(assets):
            engine.deposit(LP_ACCOUNT, asset, _ENDLESS)
            engine.deposit(FLOW_ACCOUNT, asset, _ENDLESS)

    def requote(self, symbol: str, reference: Decimal, ts_ns: int) -> list[SubmitResult]:
        """Move the ladder to `reference` if it drifted or was eaten into (an order of it
        was filled); returns the results of the orders placed (they may trade against
        resting user orders)."""
        last = self._quoted_at.get(symbol)
        config = self._config
        drifted = last is None or abs(reference - last) > last * config.requote_bps * _BPS
        if not drifted:
            resting = len(self._engine.open_orders(LP_ACCOUNT, symbol))
            if resting >= self._resting.get(symbol, 0):
                return []
        self._engine.cancel_open_orders(LP_ACCOUNT, symbol, ts_ns=ts_ns)
        self._quoted_at[symbol] = reference
        results = []
        for order in house_ladder(reference, self._specs[symbol].filters, config):
            results += self._submit_limit(symbol, order.side, order.quantity, order.price, ts_ns)
        self._resting[symbol] = len(self._engine.open_orders(LP_ACCOUNT, symbol))
        return results

    def trade(self, symbol: str, elapsed_s: float, ts_ns: int) -> list[SubmitResult]:
        """Background market orders for `elapsed_s` seconds of market time."""
        config = self._config
        expected = config.flow_per_s * elapsed_s
        count = int(expected) + (1 if self._rng.random() < expected % 1 else 0)
        filters = self._specs[symbol].filters
        results = []
        for _ in range(count):
            side = Side.BUY if self._rng.random() < 0.5 else Side.SELL
            low, high = config.flow_size
            value = max(filters.min_notional, filters.tick_size * 10) * self._rng.randint(low, high)
            try:
                results.append(
                    self._engine.submit_market(
                        FLOW_ACCOUNT, symbol, side, quote_quantity=value, ts_ns=ts_ns
                    )
                )
            except MatchingError:
                continue  # an empty side of the book: nothing to take this time
        return results

    def _submit_limit(
        self, symbol: str, side: Side, quantity: Decimal, price: Decimal, ts_ns: int
    ) -> list[SubmitResult]:
        try:
            return [
                self._engine.submit_limit(
                    LP_ACCOUNT,
                    symbol,
                    side,
                    quantity,
                    price,
                    time_in_force=TimeInForce.GTC,
                    ts_ns=ts_ns,
                )
            ]
        except MatchingError:
            # The ladder meets the filters and the house is funded without end: the
            # engine has no reason to refuse, but if it does, the level stays unquoted
            # rather than stopping the market.
            return []
