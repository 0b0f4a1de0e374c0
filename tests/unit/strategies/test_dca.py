"""`dca`: a fixed quote amount every interval, more on dips, never more than free quote."""

from __future__ import annotations

from tradewind.domain.model import OrderType, Side
from tradewind.strategies.dca import DcaStrategy

from .factories import DAY_NS, MINUTE_NS, T0, D, ScriptedContext, bar, fill, market

ETH = "ETH/BTC"


def setup(**params: object) -> tuple[DcaStrategy, ScriptedContext]:
    raw: dict[str, object] = {"symbol": ETH, "quote_amount": "0.01", "interval_s": 86_400}
    raw.update(params)
    s = DcaStrategy.from_params(raw)
    ctx = ScriptedContext(s, {ETH: market(ETH, step="0.001")}, free={"BTC": D(1)})
    ctx.prices[ETH] = D("0.05")
    s.on_start(ctx)
    return s, ctx


def test_it_buys_the_quote_amount_at_once_then_once_per_interval() -> None:
    s, ctx = setup()
    assert ctx.timer_s == 60

    s.on_timer(ctx, T0)
    [first] = ctx.take_submitted()
    assert (first.side, first.symbol, first.order_type) == (Side.BUY, ETH, OrderType.MARKET)
    assert first.quantity == D("0.2")  # 0.01 BTC / 0.05

    ctx.now_ns = T0 + DAY_NS - MINUTE_NS
    s.on_timer(ctx, ctx.now_ns)
    assert ctx.take_submitted() == []

    ctx.now_ns = T0 + DAY_NS
    s.on_timer(ctx, ctx.now_ns)
    assert [o.quantity for o in ctx.take_submitted()] == [D("0.2")]
    assert s.memory.buys == 2


def test_quantities_round_down_so_a_buy_never_costs_more_than_the_amount() -> None:
    s, ctx = setup()
    ctx.prices[ETH] = D("0.03")

    s.on_timer(ctx, T0)

    [order] = ctx.take_submitted()
    assert order.quantity == D("0.333")
    assert order.quantity * D("0.03") <= D("0.01")


def test_it_buys_the_multiple_when_the_price_dips_below_its_trailing_average() -> None:
    s, ctx = setup(dip_threshold="0.1", dip_multiplier="3", average_bars=3)
    for i, close in enumerate(["0.05", "0.05", "0.05"]):
        s.memory.last_buy_ns = T0  # keep the bars from buying
        s.on_bar(ctx, bar(ETH, close, open_ns=T0 + i))
    s.memory.last_buy_ns = 0

    ctx.prices[ETH] = D("0.046")  # 8% below: no dip
    s.on_timer(ctx, T0)
    assert [o.quantity for o in ctx.take_submitted()] == [D("0.217")]

    s.memory.last_buy_ns = 0
    ctx.prices[ETH] = D("0.045")  # 10% below: a dip
    s.on_timer(ctx, T0)
    assert [o.quantity for o in ctx.take_submitted()] == [D("0.666")]  # 0.03 BTC
    assert s.memory.dip_buys == 1


def test_a_buy_is_capped_at_the_free_quote_and_skipped_below_the_minimums() -> None:
    s, ctx = setup()
    ctx.free["BTC"] = D("0.004")
    s.on_timer(ctx, T0)
    assert [o.quantity for o in ctx.take_submitted()] == [D("0.08")]

    s.memory.last_buy_ns = 0
    ctx.free["BTC"] = D("0.00004")  # under the 0.0001 BTC min notional
    s.on_timer(ctx, T0)
    assert ctx.take_submitted() == []
    assert s.memory.last_buy_ns == 0  # it tries again at the next check


def test_it_waits_for_a_price() -> None:
    s, ctx = setup()
    del ctx.prices[ETH]

    s.on_timer(ctx, T0)

    assert ctx.take_submitted() == []


def test_a_restarted_bot_does_not_buy_again_before_the_interval() -> None:
    s, ctx = setup()
    s.on_timer(ctx, T0)
    assert len(ctx.take_submitted()) == 1

    restarted = DcaStrategy(s.params)
    restarted.restore(s.state())
    ctx.strategy = restarted
    restarted.on_start(ctx)
    ctx.now_ns = T0 + 3600 * 10**9
    restarted.on_timer(ctx, ctx.now_ns)

    assert ctx.take_submitted() == []


def test_fills_are_accounted_net_of_fees_in_base() -> None:
    s, ctx = setup()
    s.on_timer(ctx, T0)
    [order] = ctx.take_submitted()

    s.on_fill(ctx, fill(order, price="0.05", fee="0.0002"))

    assert s.memory.spent == D("0.01")
    assert s.memory.bought == D("0.1998")


def test_the_dip_rule_warms_up_on_history_and_without_it_there_is_none_to_need() -> None:
    plain = DcaStrategy.from_params({"symbol": "BTC/USDT", "quote_amount": "10"})
    assert plain.history_bars() == 0
    dip = DcaStrategy.from_params(
        {"symbol": "BTC/USDT", "quote_amount": "10", "dip_threshold": "0.1", "average_bars": 3}
    )
    assert dip.history_bars() == 3
    dip.warm_up({"BTC/USDT": [bar("BTC/USDT", c, open_ns=i) for i, c in enumerate("12345")]})
    assert dip.memory.closes == [D(3), D(4), D(5)]
    assert dip.is_dip(D("3.5"))  # 10 % or more below the mean of 4
