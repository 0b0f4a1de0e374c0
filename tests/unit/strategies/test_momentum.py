"""`momentum`: buy on a golden cross, sell the position on a death cross or a stop loss."""

from __future__ import annotations

import pytest

from tradewind.domain.events import TradeTick
from tradewind.domain.model import Instrument, OrderType, Side
from tradewind.strategies.errors import InvalidParams
from tradewind.strategies.momentum import MomentumStrategy

from .factories import T0, D, ScriptedContext, Submitted, bar, fill, market

ETH = "ETH/BTC"
# fast (2) minus slow (3) average: -0.05 at 0.8, 0 at 1.0, +0.1 at 1.2 (golden cross)
RISING = ["1.0", "0.9", "0.8", "1.0", "1.2"]


def setup(**params: object) -> tuple[MomentumStrategy, ScriptedContext]:
    raw: dict[str, object] = {"symbol": ETH, "fast": 2, "slow": 3, "buy_fraction": "0.5"}
    raw.update(params)
    s = MomentumStrategy.from_params(raw)
    ctx = ScriptedContext(s, {ETH: market(ETH, step="0.001")}, free={"BTC": D(1)})
    return s, ctx


def feed(s: MomentumStrategy, ctx: ScriptedContext, closes: list[str]) -> list[Submitted]:
    for i, close in enumerate(closes):
        ctx.prices[ETH] = D(close)
        s.on_bar(ctx, bar(ETH, close, open_ns=T0 + i))
    return ctx.take_submitted()


def enter(s: MomentumStrategy, ctx: ScriptedContext) -> Submitted:
    [buy] = feed(s, ctx, RISING)
    ctx.close(buy.intent_id)
    s.on_fill(ctx, fill(buy, price="1.2", fee="0.000416"))
    ctx.free = {"BTC": D(1) - buy.quantity * D("1.2"), "ETH": D("0.415584") + D(3)}
    return buy


def test_a_golden_cross_buys_with_a_fraction_of_the_free_quote() -> None:
    s, ctx = setup()

    assert feed(s, ctx, RISING[:4]) == []  # no cross yet
    [buy] = feed(s, ctx, RISING[4:])

    assert (buy.side, buy.order_type, buy.quantity) == (Side.BUY, OrderType.MARKET, D("0.416"))
    assert s.memory.golden_crosses == 1


def test_no_second_buy_while_an_order_is_open_or_a_position_is_held() -> None:
    s, ctx = setup()
    [buy] = feed(s, ctx, RISING)

    assert feed(s, ctx, ["1.0", "0.9", "1.0", "1.3"]) == []  # order still open
    ctx.close(buy.intent_id)
    s.on_fill(ctx, fill(buy, price="1.2"))
    assert feed(s, ctx, ["1.25", "1.3", "1.4"]) == []  # holding: a new cross does not buy


def test_a_death_cross_sells_the_position_it_bought_and_nothing_else() -> None:
    s, ctx = setup(stop_loss="0")
    enter(s, ctx)  # the account also holds 3 ETH of its own

    [sell] = feed(s, ctx, ["1.1", "0.9"])

    assert (sell.side, sell.order_type) == (Side.SELL, OrderType.MARKET)
    assert sell.quantity == D("0.415")  # 0.416 less the fee, rounded down to the step
    assert s.memory.death_crosses == 1
    s.on_fill(ctx, fill(sell, price="0.9"))
    assert s.entry_price is None  # the dust left is forgotten


def test_a_position_whose_base_is_not_free_yet_is_kept_for_later() -> None:
    s, ctx = setup(stop_loss="0")
    enter(s, ctx)
    ctx.free["ETH"] = D(0)  # e.g. the balance update is behind the fill

    assert feed(s, ctx, ["1.1", "0.9"]) == []

    assert s.memory.entry_quantity == D("0.415584")  # still held, sold at the next signal


def test_the_entry_price_is_the_average_of_the_buy_fills() -> None:
    s, ctx = setup()
    [buy] = feed(s, ctx, RISING)

    s.on_fill(ctx, fill(buy, price="1.2", quantity="0.2"))
    s.on_fill(ctx, fill(buy, price="1.3", quantity="0.2"))
    assert s.entry_price == D("1.25")

    s.on_fill(ctx, fill(buy, price="1.25", quantity="0.1", fee="0.001"))
    assert s.entry_price == D("0.625") / D("0.499")  # fees in base raise the entry price


def test_the_stop_loss_sells_on_a_close_below_it() -> None:
    s, ctx = setup(stop_loss="0.1")
    enter(s, ctx)

    assert feed(s, ctx, ["1.09"]) == []  # entry 1.2 x 0.9 = 1.08: not yet
    [sell] = feed(s, ctx, ["1.08"])

    assert sell.side is Side.SELL
    assert s.memory.stops == 1


def test_the_stop_loss_also_watches_trades() -> None:
    s, ctx = setup(stop_loss="0.1")
    enter(s, ctx)
    tick = TradeTick(
        instrument=Instrument.parse("sim", ETH),
        price=D("1.05"),
        quantity=D(1),
        aggressor=Side.SELL,
        trade_id="1",
        ts_ns=T0,
    )

    s.on_tick(ctx, tick)

    assert [o.side for o in ctx.take_submitted()] == [Side.SELL]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"fast": 26, "slow": 12}, "fast"),
        ({"slow": 1}, "slow"),
        ({"buy_fraction": "0"}, "buy_fraction"),
        ({"stop_loss": "1"}, "stop_loss"),
    ],
)
def test_bad_params_name_the_field(params: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidParams) as caught:
        setup(**params)
    assert caught.value.field == field


def test_warmed_up_on_history_it_acts_on_its_first_live_bar() -> None:
    s, ctx = setup()
    assert s.history_bars() == 4  # slow (3), and the spread one bar before
    history = [bar(ETH, close, open_ns=T0 + i) for i, close in enumerate(RISING[:4])]
    s.warm_up({ETH: history})
    assert ctx.take_submitted() == []  # learning only
    assert s.memory.closes == [D("0.9"), D("0.8"), D("1.0")]
    [buy] = feed(s, ctx, RISING[4:])  # the first live bar crosses
    assert buy.side is Side.BUY and s.memory.golden_crosses == 1


def test_a_warm_up_without_history_keeps_what_the_memory_held() -> None:
    s, ctx = setup()
    feed(s, ctx, RISING[:2])
    s.warm_up({ETH: []})
    assert s.memory.closes == [D("1.0"), D("0.9")]
