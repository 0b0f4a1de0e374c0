"""`rebalance`: target weights, the plan (sells first, rounding, minimums, budget) and
when the strategy decides to rebalance."""

from __future__ import annotations

from decimal import Decimal

import pytest

from tradewind.domain.model import OrderType, Side
from tradewind.strategies.errors import InvalidParams
from tradewind.strategies.rebalance import RebalanceStrategy, plan_rebalance, weight_drift
from tradewind.strategies.weights import (
    capped,
    fixed_weights,
    market_cap_weights,
    momentum_weights,
)

from .factories import DAY_NS, MINUTE_NS, T0, D, ScriptedContext, bar, market

ETH, LTC, XMR = "ETH/BTC", "LTC/BTC", "XMR/BTC"
MARKETS = {s: market(s, step="0.001", min_notional="0.001") for s in (ETH, LTC, XMR)}


# -- weights ------------------------------------------------------------------------


def test_fixed_weighting_is_equal_without_weights_and_normalised_with_them() -> None:
    assert fixed_weights([ETH, LTC], {}) == {ETH: D("0.5"), LTC: D("0.5")}
    assert fixed_weights([ETH, LTC, XMR], {ETH: D(3), LTC: D(1)}) == {
        ETH: D("0.75"),
        LTC: D("0.25"),
        XMR: D(0),
    }


def test_market_cap_weighting_is_proportional_to_the_given_caps() -> None:
    weights = market_cap_weights([ETH, LTC], {ETH: D(90), LTC: D(10)})
    assert weights == {ETH: D("0.9"), LTC: D("0.1")}


def test_momentum_weighting_follows_positive_trailing_returns_only() -> None:
    closes = {
        ETH: [D("1.0"), D("1.1"), D("1.3")],  # +30% over 2 bars
        LTC: [D("1.0"), D("1.0"), D("1.1")],  # +10%
        XMR: [D("1.0"), D("0.9"), D("0.8")],  # falling: weighs 0
    }

    assert momentum_weights([ETH, LTC, XMR], closes, 2) == {
        ETH: D("0.75"),
        LTC: D("0.25"),
        XMR: D(0),
    }
    assert momentum_weights([ETH, LTC], closes, 3) is None  # not enough history yet


def test_a_weight_cap_passes_the_excess_to_the_others() -> None:
    weights = capped({ETH: D("0.7"), LTC: D("0.2"), XMR: D("0.1")}, D("0.5"))

    assert weights[ETH] == D("0.5")
    assert weights[LTC] == pytest.approx(D("0.5") * 2 / 3)
    assert weights[XMR] == pytest.approx(D("0.5") / 3)
    assert sum(weights.values()) == pytest.approx(D(1))


# -- the plan -----------------------------------------------------------------------


def plan(**overrides: object) -> list[tuple[Side, str, Decimal]]:
    args: dict[str, object] = {
        "targets": {ETH: D("0.5"), LTC: D("0.5")},
        "holdings": {ETH: D(0), LTC: D(0)},
        "prices": {ETH: D("0.1"), LTC: D("0.02")},
        "free_quote": D(1),
        "markets": MARKETS,
    }
    args.update(overrides)
    return [(o.side, o.symbol, o.quantity) for o in plan_rebalance(**args)]  # type: ignore[arg-type]


def test_from_cash_it_buys_each_target_rounded_down_to_the_step() -> None:
    orders = plan(prices={ETH: D("0.3"), LTC: D("0.07")})

    assert orders == [(Side.BUY, ETH, D("1.666")), (Side.BUY, LTC, D("7.142"))]


def test_sells_come_before_buys_and_their_proceeds_pay_for_the_buys() -> None:
    # 10 ETH at 0.1 = 1 BTC, no LTC, no cash: sell half the ETH, buy LTC with it.
    orders = plan(holdings={ETH: D(10), LTC: D(0)}, free_quote=D(0))

    assert orders == [(Side.SELL, ETH, D(5)), (Side.BUY, LTC, D(25))]


def test_a_symbol_with_target_zero_is_sold_whole() -> None:
    orders = plan(
        targets={ETH: D(0), LTC: D(1)},
        holdings={ETH: D("3.0004"), LTC: D(0)},
        free_quote=D(0),
    )

    assert orders[0] == (Side.SELL, ETH, D("3.000"))  # all that the step allows


def test_trades_under_the_minimum_trade_value_or_notional_are_skipped() -> None:
    # 0.5008 / 0.4992 BTC: each trade would be worth 0.0008 < min notional 0.001
    assert plan(holdings={ETH: D("5.008"), LTC: D("24.96")}, free_quote=D(0)) == []
    # 0.501 / 0.498 BTC: 0.0015 each, enough for the market, not for a 0.01 minimum
    holdings = {ETH: D("5.01"), LTC: D("24.9")}
    assert plan(holdings=holdings, free_quote=D(0), min_trade_value=D("0.01")) == []
    assert plan(holdings=holdings, free_quote=D(0)) == [
        (Side.SELL, ETH, D("0.015")),
        (Side.BUY, LTC, D("0.075")),
    ]


def test_buys_never_spend_more_than_free_quote_plus_sells_less_the_reserve() -> None:
    prices = {ETH: D("0.1"), LTC: D("0.02")}
    orders = plan_rebalance(
        targets={ETH: D("0.6"), LTC: D("0.6")},  # asks for 120% of equity
        holdings={ETH: D(0), LTC: D(0)},
        prices=prices,
        free_quote=D(1),
        markets=MARKETS,
        cash_reserve=D("0.02"),
    )

    spent = sum(o.quantity * prices[o.symbol] for o in orders)
    assert all(o.side is Side.BUY for o in orders)
    assert spent <= D("0.98")
    assert spent > D("0.97")  # scaled pro rata, not dropped
    assert orders[0].quantity * 5 == pytest.approx(orders[1].quantity, rel=D("0.001"))


def test_weight_drift_is_the_largest_absolute_gap_to_target() -> None:
    drift = weight_drift(
        {ETH: D("0.5"), LTC: D("0.5")},
        {ETH: D(7), LTC: D(15)},  # 0.7 and 0.3 BTC
        {ETH: D("0.1"), LTC: D("0.02")},
        D(0),
    )
    assert drift == D("0.2")


# -- the strategy -------------------------------------------------------------------


def strategy(**params: object) -> RebalanceStrategy:
    raw: dict[str, object] = {"basket": [ETH, LTC], "quote": "BTC", "cash_reserve": "0"}
    raw.update(params)
    return RebalanceStrategy.from_params(raw)


def context(s: RebalanceStrategy, **balances: str) -> ScriptedContext:
    ctx = ScriptedContext(s, dict(MARKETS), prices={ETH: D("0.1"), LTC: D("0.02")})
    ctx.free = {"BTC": D(balances.pop("BTC", "1"))}
    ctx.positions = {f"{asset}/BTC": D(v) for asset, v in balances.items()}
    return ctx


def test_it_rebalances_at_once_then_waits_for_the_schedule() -> None:
    s = strategy(rebalance_interval_s=86_400, drift_threshold=None)
    ctx = context(s)
    s.on_start(ctx)
    assert ctx.timer_s == 60

    s.on_timer(ctx, ctx.now_ns)
    first = ctx.take_submitted()
    assert [(o.side, o.symbol, o.quantity, o.order_type) for o in first] == [
        (Side.BUY, ETH, D(5), OrderType.MARKET),
        (Side.BUY, LTC, D(25), OrderType.MARKET),
    ]

    for order in first:
        ctx.close(order.intent_id)
    ctx.free, ctx.positions = {"BTC": D(0)}, {ETH: D(5), LTC: D(25)}
    ctx.prices[ETH] = D("0.2")  # ETH doubles: 1.0 vs 0.5 BTC
    ctx.now_ns = T0 + DAY_NS - MINUTE_NS
    s.on_timer(ctx, ctx.now_ns)
    assert ctx.take_submitted() == []  # not due yet

    ctx.now_ns = T0 + DAY_NS
    s.on_timer(ctx, ctx.now_ns)
    due = ctx.take_submitted()
    assert [(o.side, o.symbol) for o in due] == [(Side.SELL, ETH), (Side.BUY, LTC)]
    assert s.memory.rebalances == 2


def test_drift_beyond_the_threshold_triggers_a_rebalance_between_schedules() -> None:
    s = strategy(rebalance_interval_s=None, drift_threshold="0.1")
    ctx = context(s, BTC="0", ETH="5", LTC="25")  # on target
    s.memory.last_rebalance_ns = T0

    s.on_bar(ctx, bar(ETH, "0.1"))
    assert ctx.take_submitted() == []

    ctx.prices[ETH] = D("0.12")  # weights 0.545 / 0.455: drift 0.045 < 0.1
    s.on_bar(ctx, bar(ETH, "0.12"))
    assert ctx.take_submitted() == []

    ctx.prices[ETH] = D("0.15")  # weights 0.6 / 0.4: drift 0.1
    s.on_bar(ctx, bar(ETH, "0.15"))
    assert [(o.side, o.symbol) for o in ctx.take_submitted()] == [
        (Side.SELL, ETH),
        (Side.BUY, LTC),
    ]


def test_it_waits_while_its_last_orders_are_open_and_while_a_price_is_missing() -> None:
    s = strategy()
    ctx = context(s)
    del ctx.prices[LTC]
    s.on_timer(ctx, ctx.now_ns)
    assert ctx.take_submitted() == []

    ctx.prices[LTC] = D("0.02")
    s.on_timer(ctx, ctx.now_ns)
    assert len(ctx.take_submitted()) == 2
    ctx.now_ns += 2 * DAY_NS
    s.on_timer(ctx, ctx.now_ns)
    assert ctx.take_submitted() == []  # both buys still open


def test_the_cash_reserve_stays_in_quote() -> None:
    s = strategy(cash_reserve="0.1")
    ctx = context(s)

    s.on_timer(ctx, ctx.now_ns)

    spent = sum(o.quantity * ctx.prices[o.symbol] for o in ctx.take_submitted())
    assert spent == D("0.9")


def test_momentum_weighting_waits_for_history_then_holds_the_risers() -> None:
    s = strategy(weighting="momentum", momentum_bars=2)
    ctx = context(s)
    for i, (eth, ltc) in enumerate([("0.1", "0.02"), ("0.11", "0.019"), ("0.12", "0.018")]):
        ctx.prices = {ETH: D(eth), LTC: D(ltc)}
        s.on_bar(ctx, bar(ETH, eth, open_ns=T0 + i))
        if i < 2:
            assert ctx.take_submitted() == []
        s.on_bar(ctx, bar(LTC, ltc, open_ns=T0 + i))

    assert [(o.side, o.symbol) for o in ctx.take_submitted()] == [(Side.BUY, ETH)]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"basket": [ETH, "ETH/USDT"]}, "basket[1]"),
        ({"basket": [ETH, ETH]}, "basket"),
        ({"basket": []}, "basket"),
        ({"weights": {"DOGE/BTC": "1"}}, "weights"),
        ({"weights": {ETH: "-1"}}, "weights.ETH/BTC"),
        ({"weighting": "market_cap", "market_caps": {ETH: "1"}}, "market_caps"),
        ({"weighting": "equal"}, "weighting"),
        ({"rebalance_interval_s": None, "drift_threshold": None}, "drift_threshold"),
        ({"drift_threshold": "1.5"}, "drift_threshold"),
        ({"cash_reserve": "0.9"}, "cash_reserve"),
        ({"max_weight": "0"}, "max_weight"),
    ],
)
def test_bad_params_name_the_field(params: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidParams) as caught:
        strategy(**params)
    assert caught.value.field == field


def test_the_momentum_weighting_warms_up_each_symbol_of_the_basket() -> None:
    s = RebalanceStrategy.from_params(
        {"basket": ["BTC/USDT", "ETH/USDT"], "weighting": "momentum", "momentum_bars": 2}
    )
    assert s.history_bars() == 3
    s.warm_up(
        {
            "BTC/USDT": [bar("BTC/USDT", c, open_ns=i) for i, c in enumerate("1234")],
            "ETH/USDT": [],
        }
    )
    assert s.memory.closes == {"BTC/USDT": [Decimal(2), Decimal(3), Decimal(4)]}
