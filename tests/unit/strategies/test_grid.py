"""`grid`: levels on the tick, buys below and sells above the price, re-armed one level
away on each fill, never outside the bounds."""

from __future__ import annotations

from decimal import Decimal

from tradewind.domain.model import OrderType, Side
from tradewind.strategies.grid import GridParams, GridStrategy, grid_prices

from .factories import D, ScriptedContext, Submitted, bar, fill, market, rejection

ETH = "ETH/BTC"
LEVELS = [D("0.04"), D("0.045"), D("0.05"), D("0.055"), D("0.06")]


def setup(price: str = "0.051", **params: object) -> tuple[GridStrategy, ScriptedContext]:
    raw: dict[str, object] = {
        "symbol": ETH,
        "lower": "0.04",
        "upper": "0.06",
        "levels": 5,
        "order_value": "0.01",
    }
    raw.update(params)
    s = GridStrategy.from_params(raw)
    ctx = ScriptedContext(s, {ETH: market(ETH, step="0.001")}, free={"BTC": D(1)})
    ctx.prices[ETH] = D(price)
    s.on_start(ctx)
    s.on_bar(ctx, bar(ETH, price))
    return s, ctx


def limits(orders: list[Submitted]) -> list[tuple[Side, Decimal | None, Decimal]]:
    return [(o.side, o.price, o.quantity) for o in orders if o.order_type is OrderType.LIMIT]


def test_levels_are_spaced_evenly_or_geometrically_on_the_tick() -> None:
    params = GridParams(symbol=ETH, lower=D("0.04"), upper=D("0.06"), levels=5, order_value=D(1))
    assert grid_prices(params, D("0.00001")) == LEVELS

    geometric = GridParams(
        symbol=ETH, lower=D(1), upper=D(16), levels=5, order_value=D(1), spacing="geometric"
    )
    assert grid_prices(geometric, D("0.01")) == [D(1), D(2), D(4), D(8), D(16)]
    assert grid_prices(params, D("0.01")) == [D("0.04"), D("0.05"), D("0.06")]  # collapsed


def test_it_buys_below_and_seeds_the_sells_above_leaving_the_nearest_level_empty() -> None:
    s, ctx = setup()

    seed, *buys = ctx.take_submitted()
    assert (seed.side, seed.order_type, seed.quantity) == (Side.BUY, OrderType.MARKET, D("0.382"))
    assert limits(buys) == [
        (Side.BUY, D("0.045"), D("0.222")),  # 0.01 BTC each, rounded down
        (Side.BUY, D("0.04"), D("0.25")),
    ]

    ctx.free["ETH"] = D("0.381618")  # the seed filled, 0.1% fee taken in ETH
    s.on_fill(ctx, fill(seed, price="0.051", fee="0.000382"))

    assert limits(ctx.take_submitted()) == [
        (Side.SELL, D("0.055"), D("0.2")),  # what a buy one level down buys
        (Side.SELL, D("0.06"), D("0.181")),  # the rest, after the fee
    ]
    assert all(o.price != D("0.05") for o in ctx.submitted)


def test_without_the_initial_buy_it_sells_only_the_base_it_holds() -> None:
    s = GridStrategy.from_params(
        {
            "symbol": ETH,
            "lower": "0.04",
            "upper": "0.06",
            "levels": 5,
            "order_value": "0.01",
            "buy_initial_inventory": False,
        }
    )
    ctx = ScriptedContext(s, {ETH: market(ETH, step="0.001")}, free={"BTC": D(1), "ETH": D("0.25")})

    s.on_bar(ctx, bar(ETH, "0.051"))

    orders = limits(ctx.take_submitted())
    assert [o for o in orders if o[0] is Side.SELL] == [
        (Side.SELL, D("0.055"), D("0.2")),
        (Side.SELL, D("0.06"), D("0.05")),
    ]


def test_a_filled_buy_is_re_armed_as_a_sell_one_level_up() -> None:
    s, ctx = setup(buy_initial_inventory=False)
    buy = next(o for o in ctx.take_submitted() if o.price == D("0.045"))
    ctx.free["ETH"] = D("0.221778")

    s.on_fill(ctx, fill(buy, fee="0.000222"))

    assert limits(ctx.take_submitted()) == [(Side.SELL, D("0.05"), D("0.221"))]


def test_a_filled_sell_is_re_armed_as_a_buy_one_level_down() -> None:
    s, ctx = setup(buy_initial_inventory=False)
    buy = next(o for o in ctx.take_submitted() if o.price == D("0.045"))
    ctx.free["ETH"] = D("0.222")
    s.on_fill(ctx, fill(buy))
    [sell] = ctx.take_submitted()

    s.on_fill(ctx, fill(sell))

    assert limits(ctx.take_submitted()) == [(Side.BUY, D("0.045"), D("0.222"))]
    assert s.memory.round_trips == 1


def test_a_partly_filled_order_is_re_armed_only_once_complete() -> None:
    s, ctx = setup(buy_initial_inventory=False)
    buy = next(o for o in ctx.take_submitted() if o.price == D("0.04"))
    ctx.free["ETH"] = D("0.25")

    s.on_fill(ctx, fill(buy, quantity="0.1"))
    assert ctx.take_submitted() == []
    s.on_fill(ctx, fill(buy, quantity="0.15"))

    assert limits(ctx.take_submitted()) == [(Side.SELL, D("0.045"), D("0.25"))]


def test_orders_stay_within_the_bounds_at_the_edges() -> None:
    _, ctx = setup(price="0.0401", buy_initial_inventory=False)  # nearest level: the lowest
    assert ctx.take_submitted() == []  # nothing below to buy, no base to sell

    s2, ctx2 = setup(price="0.0599")  # nearest level: the highest; seeds nothing to sell
    assert [o.price for o in ctx2.take_submitted()] == [
        D("0.055"),
        D("0.05"),
        D("0.045"),
        D("0.04"),
    ]
    assert s2.memory.seed_order == ""


def test_a_price_outside_the_bounds_does_not_start_the_grid() -> None:
    s, ctx = setup(price="0.07")

    assert ctx.take_submitted() == []
    assert s.memory.prices == []

    ctx.prices[ETH] = D("0.059")
    s.on_bar(ctx, bar(ETH, "0.059"))
    assert ctx.take_submitted() != []


def test_a_grid_started_before_the_accounts_balances_are_known_lays_out_once_they_are() -> None:
    s = GridStrategy.from_params(
        {"symbol": ETH, "lower": "0.04", "upper": "0.06", "levels": 5, "order_value": "0.01"}
    )
    ctx = ScriptedContext(s, {ETH: market(ETH, step="0.001")}, free={})
    ctx.prices[ETH] = D("0.051")
    s.on_start(ctx)
    s.on_bar(ctx, bar(ETH, "0.051"))
    assert (ctx.take_submitted(), s.memory.prices) == ([], [])
    ctx.free["BTC"] = D(1)  # the account's balances arrive
    s.on_bar(ctx, bar(ETH, "0.051"))
    assert limits(ctx.take_submitted()) != []


def test_a_rejected_order_leaves_its_level_empty_and_a_rejected_seed_sells_what_is_held() -> None:
    s, ctx = setup()
    seed, high_buy, _ = ctx.take_submitted()

    s.on_order_rejected(ctx, rejection(high_buy))
    assert high_buy.client_order_id not in s.memory.orders

    ctx.free["ETH"] = D("0.2")
    s.on_order_rejected(ctx, rejection(seed))
    assert limits(ctx.take_submitted()) == [(Side.SELL, D("0.055"), D("0.2"))]


def test_the_grid_survives_a_restart() -> None:
    s, ctx = setup(buy_initial_inventory=False)
    buy = next(o for o in ctx.take_submitted() if o.price == D("0.045"))

    restarted = GridStrategy(s.params)
    restarted.restore(s.state())
    ctx.strategy = restarted
    ctx.free["ETH"] = D("0.222")
    restarted.on_bar(ctx, bar(ETH, "0.044"))  # already laid out: places nothing new
    assert ctx.take_submitted() == []
    restarted.on_fill(ctx, fill(buy))

    assert limits(ctx.take_submitted()) == [(Side.SELL, D("0.05"), D("0.222"))]
