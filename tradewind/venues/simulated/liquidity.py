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
from tradewind.venues.simulated.matching import (
    InstrumentSpec,
    MatchingEngine,
    MatchingError,
    SubmitResult,
)

HOUSE_PREFIX = "sim:"  # account ids of the exchange's own traders
LP_ACCOUNT = f"{HOUSE_PREFIX}liquidity-provider"
FLOW_ACCOUNT = f"{HOUSE_PREFIX}background-flow"
_ENDLESS = Decimal(10) ** 15  # the house accounts' funding per asset
_BPS = Decimal("0.0001")


@dataclass(frozen=True)
class LiquidityConfig:
    """`spread_bps`: best ask - best bid, in basis points of the reference price.
    `level_spacing_bps`: distance between ladder levels. `levels`: levels per side.
    `level_size`: each level's value as a multiple of the pair's minimum notional.
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
        assets = {a for s in specs.values() for a in (s.instrument.base, s.instrument.quote)}
        for asset in sorted(assets):
            engine.deposit(LP_ACCOUNT, asset, _ENDLESS)
            engine.deposit(FLOW_ACCOUNT, asset, _ENDLESS)

    def requote(self, symbol: str, reference: Decimal, ts_ns: int) -> list[SubmitResult]:
        """Move the ladder to `reference` if it drifted or was eaten into; returns the
        results of the orders placed (they may trade against resting user orders)."""
        last = self._quoted_at.get(symbol)
        config = self._config
        open_orders = self._engine.open_orders(LP_ACCOUNT, symbol)
        drifted = last is None or abs(reference - last) > last * config.requote_bps * _BPS
        if not drifted and len(open_orders) >= 2 * config.levels:
            return []
        self._engine.cancel_open_orders(LP_ACCOUNT, symbol, ts_ns=ts_ns)
        self._quoted_at[symbol] = reference
        filters = self._specs[symbol].filters
        tick, step = filters.tick_size, filters.step_size
        level_value = max(filters.min_notional, tick * 10) * config.level_size
        results = []
        half_spread = config.spread_bps / 2
        for level in range(config.levels):
            offset = (half_spread + level * config.level_spacing_bps) * _BPS
            bid = (reference * (1 - offset) / tick).to_integral_value(ROUND_FLOOR) * tick
            ask = (reference * (1 + offset) / tick).to_integral_value(ROUND_CEILING) * tick
            for side, price in ((Side.BUY, bid), (Side.SELL, ask)):
                if price <= 0:
                    continue
                quantity = (level_value / price / step).to_integral_value(ROUND_FLOOR) * step
                results += self._submit_limit(symbol, side, quantity, price, ts_ns)
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
            return []  # a level the filters refuse (too small) is simply not quoted
