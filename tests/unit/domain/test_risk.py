"""Pre-trade risk: each rule passes and refuses, with reasons that name the numbers; kill
switch precedence; limits per account; and a property that no approved intent breaks a
limit."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal, localcontext
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tradewind.domain.commands import OrderIntent
from tradewind.domain.events import BalanceUpdate, PortfolioUpdate, PositionUpdate, TradeTick
from tradewind.domain.kill_switches import KillSwitchScope
from tradewind.domain.model import Instrument, OrderType, Side
from tradewind.domain.risk import (
    AccountLimits,
    Approved,
    LimitOverrides,
    Rejected,
    RiskLimits,
    RiskState,
    Rule,
    check,
    reduces_position,
    utc_day_start_ns,
)

D = Decimal
S = 1_000_000_000
T0 = 1_700_000_000 * S  # 2023-11-14 22:13:20 UTC
DAY = 86_400 * S
BTC_USDT = Instrument.parse("binance", "BTC/USDT")
ETH_BTC = Instrument.parse("binance", "ETH/BTC")
BUY, SELL = Side.BUY, Side.SELL


def intent(
    side: Side = BUY,
    quantity: str = "0.1",
    price: str | None = "50000",
    *,
    order_type: OrderType = OrderType.LIMIT,
    account_id: str = "a1",
    bot_id: str = "grid-1",
    instrument: Instrument = BTC_USDT,
) -> OrderIntent:
    """A limit buy of 0.1 BTC at 50,000 USDT by bot grid-1 of account a1, unless told."""
    return OrderIntent(
        account_id=account_id,
        bot_id=bot_id,
        intent_id="i-1",
        instrument=instrument,
        side=side,
        order_type=order_type,
        quantity=D(quantity),
        price=None if price is None else D(price),
        ts_ns=T0,
    )


def market(side: Side = BUY, quantity: str = "0.1") -> OrderIntent:
    return intent(side, quantity, None, order_type=OrderType.MARKET)


def state(last: str | None = "50000", usdt: str = "1000000", btc: str = "100") -> RiskState:
    """Account a1 on binance holding `usdt` USDT and `btc` BTC, BTC/USDT last at `last`."""
    risk_state = RiskState()
    if last is not None:
        risk_state.set_last_price(BTC_USDT, D(last))
    risk_state.set_available("a1", "binance", "USDT", D(usdt))
    risk_state.set_available("a1", "binance", "BTC", D(btc))
    return risk_state


def limits(**values: Any) -> RiskLimits:
    """The same limits for every account."""
    return RiskLimits(defaults=AccountLimits(**values))


def rejected(result: Approved | Rejected, rule: Rule) -> str:
    assert isinstance(result, Rejected), result
    assert result.rule == rule, result
    return result.reason


# -- no limits, the order's value ------------------------------------------------------


def test_a_funded_order_within_every_limit_is_approved_with_its_value() -> None:
    assert check(intent(), state(), limits(), T0) == Approved(D("5000.0"))


def test_a_market_order_is_valued_at_the_last_price() -> None:
    assert check(market(quantity="2"), state(last="51000"), limits(), T0) == Approved(D("102000"))


def test_a_market_order_without_a_last_price_is_refused() -> None:
    reason = rejected(check(market(), state(last=None), limits(), T0), Rule.LAST_PRICE)
    assert reason == (
        "there is no last price for BTC/USDT on binance yet, so a market order cannot be "
        "valued; retry once market data has arrived or send a limit order"
    )


@pytest.mark.parametrize(
    ("order", "message"),
    [
        (intent(quantity="0"), "order quantity must be positive, got 0"),
        (intent(quantity="-1"), "order quantity must be positive, got -1"),
        (intent(quantity="NaN"), "order quantity must be positive, got NaN"),
        (intent(price=None), "a limit order needs a positive price, got None"),
        (intent(price="0"), "a limit order needs a positive price, got 0"),
    ],
)
def test_a_malformed_order_is_refused(order: OrderIntent, message: str) -> None:
    assert rejected(check(order, state(), limits(), T0), Rule.ORDER_SHAPE) == message


# -- kill switches ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("scope", "target", "halted"),
    [
        (KillSwitchScope.GLOBAL, "", "all trading"),
        (KillSwitchScope.VENUE, "binance", "venue binance"),
        (KillSwitchScope.ACCOUNT, "a1", "account a1"),
        (KillSwitchScope.BOT, "grid-1", "bot grid-1 of account a1"),
    ],
)
def test_a_kill_switch_refuses_with_who_why_and_when(
    scope: KillSwitchScope, target: str, halted: str
) -> None:
    risk_state = state()
    risk_state.kill_switches.engage(
        scope, target, by="ops@tradewind", reason="venue incident", at_ns=T0
    )
    reason = rejected(check(intent(), risk_state, limits(), T0 + S), Rule.KILL_SWITCH)
    assert reason == (
        f"{halted} is halted by a kill switch engaged by ops@tradewind at "
        "2023-11-14 22:13:20 UTC: venue incident"
    )


def test_a_kill_switch_stops_only_what_it_targets() -> None:
    risk_state = state()
    switches = risk_state.kill_switches
    switches.engage(KillSwitchScope.VENUE, "kraken", by="ops", reason="maintenance", at_ns=T0)
    switches.engage(KillSwitchScope.ACCOUNT, "a2", by="ops", reason="fraud check", at_ns=T0)
    switches.engage(KillSwitchScope.BOT, "dca", by="alice", reason="tuning", at_ns=T0)
    assert isinstance(check(intent(), risk_state, limits(), T0), Approved)
    rejected(check(intent(bot_id="dca"), risk_state, limits(), T0), Rule.KILL_SWITCH)


def test_the_broadest_kill_switch_is_the_one_named() -> None:
    risk_state = state()
    switches = risk_state.kill_switches
    switches.engage(KillSwitchScope.BOT, "grid-1", by="alice", reason="tuning", at_ns=T0)
    switches.engage(KillSwitchScope.ACCOUNT, "a1", by="bob", reason="margin call", at_ns=T0)
    switches.engage(KillSwitchScope.GLOBAL, "", by="ops", reason="exchange incident", at_ns=T0)
    switches.engage(KillSwitchScope.VENUE, "binance", by="ops", reason="latency", at_ns=T0)
    assert "exchange incident" in rejected(
        check(intent(), risk_state, limits(), T0), Rule.KILL_SWITCH
    )
    switches.release(KillSwitchScope.GLOBAL, "")
    assert "latency" in rejected(check(intent(), risk_state, limits(), T0), Rule.KILL_SWITCH)
    switches.release(KillSwitchScope.VENUE, "binance")
    assert "margin call" in rejected(check(intent(), risk_state, limits(), T0), Rule.KILL_SWITCH)
    switches.release(KillSwitchScope.ACCOUNT, "a1")
    assert "tuning" in rejected(check(intent(), risk_state, limits(), T0), Rule.KILL_SWITCH)
    assert switches.release(KillSwitchScope.BOT, "grid-1") is not None
    assert isinstance(check(intent(), risk_state, limits(), T0), Approved)


def test_a_kill_switch_comes_before_every_other_rule() -> None:
    risk_state = state(last=None, usdt="0")
    risk_state.kill_switches.engage(KillSwitchScope.GLOBAL, "", by="ops", reason="halt", at_ns=T0)
    rejected(check(intent(quantity="0"), risk_state, limits(), T0), Rule.KILL_SWITCH)


# -- price band ------------------------------------------------------------------------


@pytest.mark.parametrize("price", ["52500", "47500", "50000"])
def test_a_limit_price_within_the_band_passes(price: str) -> None:
    assert isinstance(
        check(intent(price=price), state(), limits(price_band_bps=D(500)), T0), Approved
    )


def test_a_limit_price_outside_the_band_is_refused_with_the_gap_in_bps() -> None:
    band = limits(price_band_bps=D(500))
    above = rejected(check(intent(price="55000"), state(), band, T0), Rule.PRICE_BAND)
    assert above == (
        "limit price 55,000.00 USDT is 1,000 bps above the last price 50,000.00 USDT; "
        "the account allows at most 500 bps"
    )
    below = rejected(check(intent(SELL, price="47499.99"), state(), band, T0), Rule.PRICE_BAND)
    assert "is 500.01 bps below the last price 50,000.00 USDT" in below


def test_the_price_band_needs_a_last_price_but_market_orders_are_not_banded() -> None:
    band = limits(price_band_bps=D(500))
    reason = rejected(check(intent(), state(last=None), band, T0), Rule.PRICE_BAND)
    assert reason == (
        "there is no last price for BTC/USDT on binance yet to check the limit price "
        "50,000.00 USDT against the 500 bps price band"
    )
    assert isinstance(check(market(), state(), band, T0), Approved)


# -- max order value -------------------------------------------------------------------


def test_an_order_up_to_the_max_order_value_passes() -> None:
    cap = limits(max_order_value={"USDT": D(10_000)})
    assert isinstance(check(intent(quantity="0.2"), state(), cap, T0), Approved)


def test_an_order_over_the_max_order_value_is_refused_naming_both_values() -> None:
    cap = limits(max_order_value={"USDT": D(10_000)})
    reason = rejected(check(intent(quantity="0.25"), state(), cap, T0), Rule.MAX_ORDER_VALUE)
    assert reason == (
        "order value 12,500.00 USDT exceeds the account's max order value 10,000.00 USDT"
    )


def test_the_max_order_value_applies_per_quote_asset() -> None:
    cap = limits(max_order_value={"USDT": D(10)})
    risk_state = state()
    risk_state.set_available("a1", "binance", "BTC", D(100))
    eth = intent(quantity="1000", price="0.05", instrument=ETH_BTC)
    assert isinstance(check(eth, risk_state, cap, T0), Approved)
    cap = limits(max_order_value={"BTC": D("0.5")})
    reason = rejected(check(eth, risk_state, cap, T0), Rule.MAX_ORDER_VALUE)
    assert reason == "order value 50.00 BTC exceeds the account's max order value 0.50 BTC"


# -- max position value ----------------------------------------------------------------


def test_a_position_up_to_its_max_value_passes() -> None:
    risk_state = state()
    risk_state.set_position("a1", BTC_USDT, D("0.9"))
    cap = limits(max_position_value={"USDT": D(50_000)})
    assert isinstance(check(intent(), risk_state, cap, T0), Approved)


def test_growing_a_position_past_its_max_value_is_refused_at_the_last_price() -> None:
    risk_state = state(last="60000")
    risk_state.set_position("a1", BTC_USDT, D("0.9"))
    cap = limits(max_position_value={"USDT": D(50_000)})
    reason = rejected(check(intent(), risk_state, cap, T0), Rule.MAX_POSITION_VALUE)
    assert reason == (
        "the position in BTC/USDT after this order, 1 BTC worth 60,000.00 USDT at "
        "60,000.00 USDT, would exceed the account's max position value 50,000.00 USDT"
    )


def test_shrinking_a_position_over_its_max_value_passes() -> None:
    risk_state = state()
    risk_state.set_position("a1", BTC_USDT, D("3"))
    cap = limits(max_position_value={"USDT": D(50_000)})
    assert isinstance(check(intent(SELL, quantity="1"), risk_state, cap, T0), Approved)
    rejected(check(intent(BUY, quantity="0.1"), risk_state, cap, T0), Rule.MAX_POSITION_VALUE)


# -- daily loss ------------------------------------------------------------------------


def equity_state(day_start: str, now: str) -> RiskState:
    risk_state = state()
    risk_state.set_equity("a1", "USDT", D(day_start), T0 - S)
    risk_state.set_equity("a1", "USDT", D(now), T0)
    return risk_state


def test_a_loss_under_the_daily_limit_passes() -> None:
    loss_cap = limits(daily_loss_limit=D(1000))
    assert isinstance(check(intent(), equity_state("20000", "19000.01"), loss_cap, T0), Approved)


def test_reaching_the_daily_loss_limit_refuses_orders_that_add_risk() -> None:
    loss_cap = limits(daily_loss_limit=D(1000))
    reason = rejected(
        check(intent(), equity_state("20000", "18750"), loss_cap, T0), Rule.DAILY_LOSS
    )
    assert reason == (
        "the account has lost 1,250.00 USDT since 00:00 UTC, reaching its daily loss limit "
        "1,000.00 USDT; until the next UTC day only orders that reduce a position are accepted"
    )


def test_past_the_daily_loss_limit_orders_that_reduce_a_position_still_pass() -> None:
    risk_state = equity_state("20000", "18000")
    risk_state.set_position("a1", BTC_USDT, D("0.5"))
    loss_cap = limits(daily_loss_limit=D(1000))
    assert isinstance(check(intent(SELL, quantity="0.5"), risk_state, loss_cap, T0), Approved)
    rejected(check(intent(SELL, quantity="0.6"), risk_state, loss_cap, T0), Rule.DAILY_LOSS)


def test_without_a_known_equity_the_daily_loss_limit_refuses() -> None:
    reason = rejected(
        check(intent(), state(), limits(daily_loss_limit=D(1000)), T0), Rule.DAILY_LOSS
    )
    assert "equity is not known yet, so its daily loss limit 1,000 cannot be checked" in reason


def test_the_daily_loss_starts_again_at_midnight_utc() -> None:
    risk_state = equity_state("20000", "18000")
    loss_cap = limits(daily_loss_limit=D(1000))
    tomorrow = utc_day_start_ns(T0) + DAY
    # No update yet today: nothing lost today.
    assert isinstance(check(intent(), risk_state, loss_cap, tomorrow + S), Approved)
    risk_state.set_equity("a1", "USDT", D("17500"), tomorrow + 2 * S)
    equity = risk_state.equity("a1")
    assert equity is not None and equity.day_start_equity == D(18000)
    assert isinstance(check(intent(), risk_state, loss_cap, tomorrow + 3 * S), Approved)
    risk_state.set_equity("a1", "USDT", D("16999"), tomorrow + 4 * S)
    rejected(check(intent(), risk_state, loss_cap, tomorrow + 5 * S), Rule.DAILY_LOSS)
    risk_state.set_equity("a1", "USDT", D("20000"), T0)  # redelivered from yesterday
    rejected(check(intent(), risk_state, loss_cap, tomorrow + 6 * S), Rule.DAILY_LOSS)


# -- available balance -----------------------------------------------------------------


def test_a_buy_needs_its_value_plus_the_fee_margin_in_quote() -> None:
    fee = limits(fee_margin_bps=D(10))
    assert isinstance(check(intent(), state(usdt="5005"), fee, T0), Approved)
    reason = rejected(check(intent(), state(usdt="5004.99"), fee, T0), Rule.BALANCE)
    assert reason == (
        "buying 0.1 BTC for 5,000.00 USDT needs 5,005.00 USDT available (with a 10 bps fee "
        "margin); the account has 5,004.99 USDT available"
    )


def test_a_sell_needs_its_quantity_in_base() -> None:
    assert isinstance(check(intent(SELL, quantity="0.2"), state(btc="0.2"), limits(), T0), Approved)
    reason = rejected(
        check(intent(SELL, quantity="0.5"), state(btc="0.2"), limits(), T0), Rule.BALANCE
    )
    assert reason == "selling 0.5 BTC needs 0.5 BTC available; the account has 0.2 BTC available"


def test_balances_never_seen_are_unknown_not_zero() -> None:
    # After a restart risk has seen no balances: "0 available" would be a false reason.
    reason = rejected(check(intent(account_id="a9"), state(), limits(), T0), Rule.BALANCE)
    assert reason.endswith("the account's balances are not known yet (asked of the venue: "
                           "the next orders are decided on them)")  # fmt: skip


def test_an_asset_the_venue_did_not_report_counts_as_none() -> None:
    only_usdt = RiskState()
    only_usdt.set_last_price(BTC_USDT, D("50000"))
    only_usdt.set_available("a1", "binance", "USDT", D("100"))
    reason = rejected(check(intent(SELL), only_usdt, limits(), T0), Rule.BALANCE)
    assert reason.endswith("the account has 0 BTC available")


# -- orders per second -----------------------------------------------------------------


def test_orders_beyond_the_per_second_rate_are_refused_until_it_refills() -> None:
    rate = limits(max_orders_per_second=2.0, order_burst=3)
    risk_state = state()
    results = [check(intent(), risk_state, rate, T0) for _ in range(4)]
    assert [type(r) for r in results] == [Approved, Approved, Approved, Rejected]
    assert rejected(results[3], Rule.ORDER_RATE) == (
        "the account may send at most 2 orders per second (bursts of 3); the next order can "
        "go in 0.500 s"
    )
    assert isinstance(check(intent(), risk_state, rate, T0 + S // 2), Approved)
    assert isinstance(check(intent(account_id="a2"), state(), rate, T0), Rejected)  # unfunded


def test_refused_orders_use_up_no_rate() -> None:
    rate = limits(max_orders_per_second=1.0, max_order_value={"USDT": D(1)})
    risk_state = state()
    for _ in range(5):
        rejected(check(intent(), risk_state, rate, T0), Rule.MAX_ORDER_VALUE)
    assert isinstance(check(intent(quantity="0.00001"), risk_state, rate, T0), Approved)


# -- limits per account, state from events ---------------------------------------------


def test_account_overrides_replace_only_what_they_set() -> None:
    risk_limits = RiskLimits(
        defaults=AccountLimits(max_order_value={"USDT": D(1000)}, price_band_bps=D(100)),
        accounts={
            "whale": LimitOverrides(max_order_value={"USDT": D(1_000_000)}),
            "free": LimitOverrides(price_band_bps=None),
        },
    )
    assert risk_limits.for_account("a1") is risk_limits.defaults
    whale = risk_limits.for_account("whale")
    assert whale.max_order_value == {"USDT": D(1_000_000)} and whale.price_band_bps == D(100)
    free = risk_limits.for_account("free")
    assert free.price_band_bps is None and free.max_order_value == {"USDT": D(1000)}


def test_limits_load_from_json_and_say_which_value_is_wrong() -> None:
    text = b"""{"defaults": {"max_order_value": {"USDT": "10000"}, "price_band_bps": 500},
                "accounts": {"a2": {"price_band_bps": null}}}"""
    risk_limits = msgspec.json.decode(text, type=RiskLimits)
    assert risk_limits.for_account("a1").price_band_bps == D(500)
    assert risk_limits.for_account("a2").price_band_bps is None
    with pytest.raises(msgspec.ValidationError, match=r"max_order_value\[USDT\] must be"):
        msgspec.json.decode(b'{"defaults": {"max_order_value": {"USDT": "-1"}}}', type=RiskLimits)
    with pytest.raises(ValueError, match="order_burst must be at least 1, got 0"):
        RiskLimits(accounts={"a1": LimitOverrides(order_burst=0)}).for_account("a1")


def test_state_follows_the_events_the_risk_service_consumes() -> None:
    risk_state = RiskState()
    risk_state.apply(TradeTick(instrument=BTC_USDT, price=D(42), quantity=D(1),
                               aggressor=BUY, trade_id="t", ts_ns=T0))  # fmt: skip
    risk_state.apply(BalanceUpdate(account_id="a1", venue="binance", asset="USDT",
                                   free=D(7), locked=D(3), ts_ns=T0))  # fmt: skip
    risk_state.apply(PositionUpdate(account_id="a1", instrument=BTC_USDT, quantity=D(2),
                                    average_cost=D(40), ts_ns=T0))  # fmt: skip
    risk_state.apply(PortfolioUpdate(account_id="a1", valuation_asset="USDT", equity=D(99),
                                     cash=D(7), realized_pnl=D(0), unrealized_pnl=D(4),
                                     fees=D(0), balances={}, ts_ns=T0))  # fmt: skip
    assert risk_state.last_price(BTC_USDT) == D(42)
    assert risk_state.available("a1", "binance", "USDT") == D(7)
    assert risk_state.position("a1", BTC_USDT) == D(2)
    equity = risk_state.equity("a1")
    assert equity is not None and (equity.equity, equity.day_start_equity) == (D(99), D(99))


def test_small_amounts_are_shown_in_full() -> None:
    eth = intent(quantity="0.0012345", price="0.05", instrument=ETH_BTC)
    reason = rejected(check(eth, state(btc="0"), limits(fee_margin_bps=D(0)), T0), Rule.BALANCE)
    assert reason == (
        "buying 0.0012345 ETH for 0.000061725 BTC needs 0.000061725 BTC available (with a 0 "
        "bps fee margin); the account has 0 BTC available"
    )


@pytest.mark.parametrize(
    ("position", "side", "quantity", "reduces"),
    [("1", SELL, "1", True), ("1", SELL, "1.1", False), ("0", SELL, "1", False),
     ("-2", BUY, "2", True), ("-2", BUY, "3", False), ("1", BUY, "1", False)],
)  # fmt: skip
def test_what_reduces_a_position(position: str, side: Side, quantity: str, reduces: bool) -> None:
    assert reduces_position(D(position), side, D(quantity)) is reduces


# -- property: nothing approved breaks a limit -----------------------------------------

# Few distinct values, so that results often land exactly on a limit.
PRICE_LIST = [D("99"), D("99.5"), D("100"), D("100.5"), D("101"), D("105"), D("95")]
PRICES = st.sampled_from(PRICE_LIST)
QUANTITY_LIST = [D("0.5"), D("1"), D("2"), D("0.25"), D("3"), D("1.5")]
QUANTITIES = st.sampled_from(QUANTITY_LIST)
AMOUNTS = st.sampled_from([D(0), D(50), D(100), D("199.9999"), D(200), D("200.2"), D(1000)])
TARGETS = [
    (KillSwitchScope.GLOBAL, ""),
    (KillSwitchScope.VENUE, "binance"),
    (KillSwitchScope.ACCOUNT, "a1"),
    (KillSwitchScope.BOT, "b1"),
]


@st.composite
def account_limits(draw: st.DrawFn) -> AccountLimits:
    maybe = st.none() | AMOUNTS
    value_cap, position_cap = draw(maybe), draw(maybe)
    rate = draw(st.none() | st.sampled_from([1.0, 2.5, 10.0]))
    return AccountLimits(
        max_order_value={} if value_cap is None else {"USDT": value_cap},
        max_position_value={} if position_cap is None else {"USDT": position_cap},
        daily_loss_limit=draw(st.none() | st.sampled_from([D(0), D(50), D(100), D(300)])),
        max_orders_per_second=rate,
        order_burst=draw(st.none() | st.integers(1, 3)),
        price_band_bps=draw(st.none() | st.sampled_from([D(0), D(50), D(100), D(500)])),
        fee_margin_bps=draw(st.sampled_from([D(0), D(10), D("7.5")])),
    )


@st.composite
def scenario(draw: st.DrawFn) -> tuple[RiskState, RiskLimits, list[tuple[int, OrderIntent]]]:
    instrument = Instrument.parse("binance", "X/USDT")
    risk_state = RiskState()
    last = draw(st.sampled_from([None, *PRICE_LIST]))
    if last is not None:
        risk_state.set_last_price(instrument, last)
    for account in ("a1", "a2"):
        risk_state.set_position(account, instrument, draw(st.sampled_from([D(-2), D(0), D(1)])))
        risk_state.set_available(account, "binance", "USDT", draw(AMOUNTS | st.just(D(10**6))))
        risk_state.set_available(account, "binance", "X", draw(QUANTITIES | st.just(D("0.9999"))))
        if draw(st.booleans()):
            risk_state.set_equity(account, "USDT", draw(AMOUNTS), T0 - S)
            risk_state.set_equity(account, "USDT", draw(AMOUNTS), T0)
    target = draw(st.sampled_from([*[None] * 12, *TARGETS]))
    if target is not None:
        risk_state.kill_switches.engage(*target, by="ops", reason="test", at_ns=T0)
    risk_limits = RiskLimits(
        defaults=draw(account_limits()), accounts={"a2": LimitOverrides(price_band_bps=None)}
    )
    intents, now = [], T0
    for _ in range(draw(st.integers(1, 12))):
        now += draw(st.sampled_from([0, 0, S // 10, S // 2, S]))
        order_type = draw(st.sampled_from(OrderType))
        price = (
            draw(st.sampled_from([D(0), *PRICE_LIST])) if order_type is OrderType.LIMIT else None
        )
        intents.append((now, OrderIntent(
            account_id=draw(st.sampled_from(["a1", "a2"])), bot_id="b1", intent_id="i",
            instrument=instrument, side=draw(st.sampled_from(Side)), order_type=order_type,
            quantity=draw(st.sampled_from([D(0), *QUANTITY_LIST])), price=price, ts_ns=now,
        )))  # fmt: skip
    return risk_state, risk_limits, intents


def broken_limits(order: OrderIntent, risk_state: RiskState, limit: AccountLimits) -> set[str]:
    """Every rule `order` breaks, worked out independently of `check` (rate aside)."""
    broken: set[str] = set()
    venue, account_id, bot_id = order.instrument.venue, order.account_id, order.bot_id
    if any(
        s.covers(venue=venue, account_id=account_id, bot_id=bot_id)
        for s in risk_state.kill_switches.engaged()
    ):
        broken.add(Rule.KILL_SWITCH)
    last = risk_state.last_price(order.instrument)
    price = order.price if order.order_type is OrderType.LIMIT else last
    if order.quantity <= 0 or (order.order_type is OrderType.LIMIT and not price):
        broken.add(Rule.ORDER_SHAPE)
    if order.order_type is OrderType.MARKET and last is None:
        broken.add(Rule.LAST_PRICE)
    if price is None or price <= 0 or order.quantity <= 0:
        return broken
    position = risk_state.position(order.account_id, order.instrument)
    after = position + order.quantity * (1 if order.side is BUY else -1)
    reducing = (position > 0 and order.side is SELL and order.quantity <= position) or (
        position < 0 and order.side is BUY and order.quantity <= -position
    )
    with localcontext() as ctx:
        ctx.prec = 60
        value = order.quantity * price
        band = limit.price_band_bps
        if (
            band is not None
            and order.order_type is OrderType.LIMIT
            and (last is None or abs(price - last) / last * 10_000 > band)
        ):
            broken.add(Rule.PRICE_BAND)
        if value > limit.max_order_value.get("USDT", value):
            broken.add(Rule.MAX_ORDER_VALUE)
        cap = limit.max_position_value.get("USDT")
        if cap is not None and abs(after) > abs(position) and abs(after) * (last or price) > cap:
            broken.add(Rule.MAX_POSITION_VALUE)
        equity = risk_state.equity(order.account_id)
        loss_cap = limit.daily_loss_limit
        if (
            loss_cap is not None
            and not reducing
            and (equity is None or equity.day_start_equity - equity.equity >= loss_cap)
        ):
            broken.add(Rule.DAILY_LOSS)
        quote = risk_state.available(order.account_id, "binance", "USDT")
        base = risk_state.available(order.account_id, "binance", "X")
        if order.side is BUY and quote < value * (1 + limit.fee_margin_bps / 10_000):
            broken.add(Rule.BALANCE)
        if order.side is SELL and base < order.quantity:
            broken.add(Rule.BALANCE)
    return broken


@settings(max_examples=1000, deadline=None)
@given(scenario())
def test_check_never_approves_an_intent_that_breaks_a_limit(
    case: tuple[RiskState, RiskLimits, list[tuple[int, OrderIntent]]],
) -> None:
    risk_state, risk_limits, intents = case
    approved_at: dict[str, list[int]] = defaultdict(list)
    for now, order in intents:
        account = risk_limits.for_account(order.account_id)
        broken = broken_limits(order, risk_state, account)
        result = check(order, risk_state, risk_limits, now)
        if isinstance(result, Approved):
            assert not broken, (result, broken)
            approved_at[order.account_id].append(now)
        elif result.rule != Rule.ORDER_RATE:
            assert result.rule in broken, (result, broken)
        else:
            assert not broken
    for account_id, times in approved_at.items():
        account = risk_limits.for_account(account_id)
        rate = account.max_orders_per_second
        if rate is None:
            continue
        burst = account.order_burst or -(-rate // 1)
        for i, start in enumerate(times):
            for count, end in enumerate(times[i:], start=1):
                assert count <= burst + rate * (end - start) / S


def test_a_fill_makes_what_was_bought_available_to_sell_at_once() -> None:
    from tradewind.domain.events import Fill
    from tradewind.domain.model import Instrument, Liquidity, Side
    from tradewind.domain.risk import RiskState

    xlm = Instrument.parse("sim", "XLM/BTC")
    state = RiskState()
    state.set_available("acct", "sim", "BTC", Decimal("1"))
    state.apply(
        Fill(
            account_id="acct", client_order_id="c", venue_order_id="v", trade_id="t",
            instrument=xlm, side=Side.BUY, price=Decimal("0.00005"), quantity=Decimal("1000"),
            fee=Decimal("1"), fee_asset="XLM", liquidity=Liquidity.TAKER, ts_ns=1,
        )
    )  # fmt: skip
    assert state.available("acct", "sim", "XLM") == Decimal("999")
    assert state.available("acct", "sim", "BTC") == Decimal("0.95")


def test_a_fill_moves_the_quote_by_the_amount_the_venue_settled() -> None:
    from tradewind.domain.events import Fill
    from tradewind.domain.model import Instrument, Liquidity, Side
    from tradewind.domain.risk import RiskState

    eth = Instrument.parse("sim", "ETH/BTC")
    state = RiskState()
    state.set_available("acct", "sim", "BTC", Decimal("1"))

    def trade(side: Side, trade_id: str) -> Fill:
        # 0.12345 x 0.09128012 = 0.0112685308140, settled rounded down to 10^-8
        return Fill(
            account_id="acct", client_order_id="c", venue_order_id="v", trade_id=trade_id,
            instrument=eth, side=side, price=Decimal("0.09128012"), quantity=Decimal("0.12345"),
            fee=Decimal(0), fee_asset="BTC", liquidity=Liquidity.TAKER, ts_ns=1,
            quote_quantity=Decimal("0.01126853"),
        )  # fmt: skip

    state.apply(trade(Side.BUY, "1"))
    assert state.available("acct", "sim", "BTC") == Decimal("0.98873147")
    state.apply(trade(Side.SELL, "2"))
    assert state.available("acct", "sim", "BTC") == Decimal("1")
