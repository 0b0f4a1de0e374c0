"""The house liquidity provider's ladder: every order passes its pair's filters, and every
level of every pair the simulator lists is quoted at its full value, however deep."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.domain.model import OrderType, Side
from tradewind.errors import ConfigError
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.instruments import spec_for
from tradewind.venues.simulated.liquidity import (
    LP_ACCOUNT,
    MAX_ORDERS_PER_LEVEL,
    LiquidityConfig,
    house_ladder,
    level_value,
)
from tradewind.venues.simulated.market import PriceSource
from tradewind.venues.simulated.matching import InstrumentSpec, SymbolFilters
from tradewind.venues.simulated.matching.filters import MarketRules
from tradewind.venues.simulated.server.serve import price_source

START_MS = 1_700_000_000_000

DEFAULT = LiquidityConfig(flow_per_s=0.0)
DEEP = LiquidityConfig(level_size=10_000_000, flow_per_s=0.0)
"""50 million USDT a level: more than one order may hold (NOTIONAL's maximum is 9
million), and more XRP than LOT_SIZE's maximum (9 million) at 0.5 USDT."""


def market(name: str) -> PriceSource:
    """The markets the simulator serves: Binance-style synthetic, Coinbase-style
    synthetic (USD and USDC pairs), and the bundled replay (BTC-quoted altcoins)."""
    if name == "coinbase":
        return price_source("synthetic", speed=1, seed=7, start_ms=START_MS, api="coinbase")
    return price_source(name, speed=1, seed=7, start_ms=START_MS)


def quoted_exchange(name: str, config: LiquidityConfig) -> SimulatedExchange:
    exchange = SimulatedExchange(market(name), clock=lambda: START_MS * 10**6, liquidity=config)
    exchange.step()
    return exchange


def passes_filters(spec: InstrumentSpec, price: Decimal, quantity: Decimal) -> None:
    """Raise the engine's own SubmitRejected unless a limit order would pass the filters."""
    rules = MarketRules(spec)
    rules.check_notional(rules.price_ticks(price) * rules.quantity_steps(quantity))


@pytest.mark.parametrize("config", [DEFAULT, DEEP], ids=["default", "deep"])
@pytest.mark.parametrize("name", ["synthetic", "coinbase", "replay:"])
def test_every_pair_quotes_every_level_at_its_full_value(
    name: str, config: LiquidityConfig
) -> None:
    exchange = quoted_exchange(name, config)
    assert exchange.specs
    for symbol, spec in exchange.specs.items():
        depth = exchange.engine.depth(symbol, 5 * config.levels)
        assert len(depth.bids) == config.levels, symbol
        assert len(depth.asks) == config.levels, symbol
        wanted = level_value(spec.filters, config)
        for level in (*depth.bids, *depth.asks):
            # Rounded down to a lot step: short of the level's value by less than a step.
            short = wanted - level.price * level.quantity
            assert short < level.price * spec.filters.step_size, (symbol, level)


@pytest.mark.parametrize("config", [DEFAULT, DEEP], ids=["default", "deep"])
@pytest.mark.parametrize("name", ["synthetic", "coinbase", "replay:"])
def test_every_ladder_order_passes_its_pairs_filters(name: str, config: LiquidityConfig) -> None:
    exchange = quoted_exchange(name, config)
    for symbol, spec in exchange.specs.items():
        orders = exchange.engine.open_orders(LP_ACCOUNT, symbol)
        assert len(orders) >= 2 * config.levels, symbol
        for order in orders:
            passes_filters(spec, order.price, order.quantity)


@pytest.mark.parametrize("quote", ["USDT", "BTC", "USD"])
@pytest.mark.parametrize(
    "reference",
    ["0.00000457", "0.0000381", "0.08", "0.5", "3.7", "80", "30000", "123456.78"],
)
@pytest.mark.parametrize("level_size", [1, 400, 10_000_000, 10**12])
def test_ladder_orders_pass_the_filters_at_any_price(
    quote: str, reference: str, level_size: int
) -> None:
    price = Decimal(reference)
    spec = spec_for("sim", f"ABC/{quote}", price)
    config = LiquidityConfig(level_size=level_size)
    orders = house_ladder(price, spec.filters, config)
    for order in orders:
        passes_filters(spec, order.price, order.quantity)
        below = order.price < price if order.side is Side.BUY else order.price > price
        assert below, order
    for side in Side:
        levels = {o.level for o in orders if o.side is side}
        assert levels == set(range(config.levels)), side
        for level in levels:
            mine = [o for o in orders if o.side is side and o.level == level]
            assert len({o.price for o in mine}) == 1
            assert len(mine) <= MAX_ORDERS_PER_LEVEL


def test_a_level_one_order_cannot_hold_is_split_into_equal_orders_at_its_price() -> None:
    filters = SymbolFilters(
        tick_size=Decimal("0.0001"),
        step_size=Decimal(1),
        min_qty=Decimal(1),
        max_qty=Decimal(1000),
        min_notional=Decimal(5),
        max_notional=Decimal(1500),
    )
    config = LiquidityConfig(levels=1, level_size=500, spread_bps=Decimal(20))
    # 2,500 USDT a level at 1 USDT: 2,500 units, but at most 1,000 (LOT_SIZE) and
    # 1,500 USDT (NOTIONAL) an order.
    bids = [o for o in house_ladder(Decimal(1), filters, config) if o.side is Side.BUY]
    assert [o.price for o in bids] == [Decimal("0.9990")] * 3
    assert sorted(o.quantity for o in bids) == [Decimal(834), Decimal(834), Decimal(834)]


def test_a_level_below_the_smallest_order_is_quoted_at_the_smallest_order() -> None:
    filters = SymbolFilters(
        tick_size=Decimal("0.01"),
        step_size=Decimal("0.1"),
        min_qty=Decimal(2),
        min_notional=Decimal(5),
    )
    # One minimum notional (5 USDT) is 0.5 units at 10 USDT, below min_qty 2.
    config = LiquidityConfig(levels=1, level_size=1)
    orders = house_ladder(Decimal(10), filters, config)
    assert [o.quantity for o in orders] == [Decimal(2), Decimal(2)]


def test_a_level_priced_outside_the_price_filter_is_left_out() -> None:
    filters = SymbolFilters(
        tick_size=Decimal(1), step_size=Decimal(1), min_price=Decimal(99), max_price=Decimal(101)
    )
    config = LiquidityConfig(levels=3, level_spacing_bps=Decimal(100), spread_bps=Decimal(100))
    orders = house_ladder(Decimal(100), filters, config)
    assert {(o.side, o.price) for o in orders} == {(Side.BUY, Decimal(99)), (Side.SELL, 101)}


def test_an_untouched_ladder_stays_put_and_an_eaten_one_is_quoted_again() -> None:
    exchange = quoted_exchange("synthetic", DEEP)
    symbol = "XRP/USDT"
    before = exchange.engine.open_orders(LP_ACCOUNT, symbol)
    exchange.step()
    assert [o.order_id for o in exchange.engine.open_orders(LP_ACCOUNT, symbol)] == [
        o.order_id for o in before
    ]
    best_ask = min((o for o in before if o.side is Side.SELL), key=lambda o: o.price_ticks)
    buyer = exchange.create_account({"USDT": Decimal(10) ** 9})
    exchange.submit_order(
        buyer.account_id, symbol, Side.BUY, OrderType.MARKET, quantity=best_ask.quantity
    )
    assert len(exchange.engine.open_orders(LP_ACCOUNT, symbol)) == len(before) - 1
    exchange.step()
    after = exchange.engine.open_orders(LP_ACCOUNT, symbol)
    assert len(after) == len(before)
    assert exchange.engine.depth(symbol, 1).asks[0].quantity == sum(
        (o.quantity for o in before if o.price_ticks == best_ask.price_ticks), Decimal(0)
    )


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("levels", 0),
        ("level_size", 0),
        ("spread_bps", Decimal(0)),
        ("level_spacing_bps", Decimal(-1)),
        ("requote_bps", Decimal(-1)),
        ("flow_per_s", -1.0),
        ("flow_size", (5, 2)),
    ],
)
def test_a_ladder_shape_that_makes_no_sense_is_refused(field: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"liquidity {field}"):
        LiquidityConfig(**{field: value})  # type: ignore[arg-type]
