"""OCO order lists: one hold for both legs, Binance's placement rules, and the first leg
to trade or trigger expiring the other."""

from __future__ import annotations

import pytest

from tradewind.domain.model import Side, TimeInForce
from tradewind.venues.simulated.matching import (
    BalanceSnapshot,
    ExpiredOrder,
    MatchingEngine,
    MatchingOrderStatus,
    OcoLeg,
    OrderListUpdate,
    StopType,
    SubmitRejected,
    TriggeredOrder,
)

from .factories import BTC_USDT, T0, D, funded_engine

GTC = TimeInForce.GTC


def traded_at_30000() -> MatchingEngine:
    engine = funded_engine("maker", "taker", "me")
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("0.01"), D("30000"), ts_ns=T0)
    engine.submit_market("taker", BTC_USDT, Side.BUY, quantity=D("0.01"), ts_ns=T0)
    return engine


def sell_oco(engine: MatchingEngine, quantity: str = "0.5") -> list[int]:
    placed = engine.submit_oco(
        "me", BTC_USDT, Side.SELL, D(quantity),
        above=OcoLeg(order_type="LIMIT_MAKER", price=D("31000"), client_order_id="tp"),
        below=OcoLeg(order_type="STOP_LOSS_LIMIT", price=D("28900"), stop_price=D("29000"),
                     time_in_force=GTC, client_order_id="sl"),
        list_client_order_id="exit", ts_ns=T0 + 1,
    )  # fmt: skip
    return [o.order_id for o in placed.orders]


def test_a_sell_oco_holds_its_quantity_once_and_lists_the_stop_leg_first() -> None:
    engine = traded_at_30000()
    stop_id, limit_id = sell_oco(engine)
    placed = engine.get_order_list("me", list_client_order_id="exit")
    assert (placed.list_status_type, placed.list_order_status) == ("EXEC_STARTED", "EXECUTING")
    stop, limit = placed.orders
    assert (stop.client_order_id, limit.client_order_id) == ("sl", "tp")
    assert stop.order_list_id == limit.order_list_id == placed.order_list_id
    assert (stop.is_working, limit.is_working) == (False, True)
    assert engine.balance("me", "BTC") == BalanceSnapshot("BTC", D("99.5"), D("0.5"))
    assert engine.depth(BTC_USDT).asks[0].price == D("31000")
    assert [o.order_id for o in engine.open_orders("me")] == [stop_id, limit_id]


def test_a_buy_oco_holds_the_dearer_legs_quote_not_the_sum() -> None:
    engine = traded_at_30000()
    engine.submit_oco(
        "me", BTC_USDT, Side.BUY, D("1"),
        above=OcoLeg(order_type="STOP_LOSS_LIMIT", price=D("31100"), stop_price=D("31000"),
                     time_in_force=GTC),
        below=OcoLeg(order_type="LIMIT_MAKER", price=D("29000")), ts_ns=T0 + 1,
    )  # fmt: skip
    assert engine.balance("me", "USDT").locked == D("31100")


def test_a_fill_of_the_limit_leg_expires_the_stop_leg_and_ends_the_list() -> None:
    engine = traded_at_30000()
    stop_id, limit_id = sell_oco(engine)
    result = engine.submit_market("taker", BTC_USDT, Side.BUY, quantity=D("0.2"), ts_ns=T0 + 2)
    expired = [c.order for c in result.consequences if isinstance(c, ExpiredOrder)]
    [done] = [c.order_list for c in result.consequences if isinstance(c, OrderListUpdate)]
    assert [o.order_id for o in expired] == [stop_id]
    assert expired[0].status is MatchingOrderStatus.EXPIRED
    assert (done.list_status_type, done.list_order_status) == ("ALL_DONE", "ALL_DONE")
    limit = engine.get_order("me", BTC_USDT, order_id=limit_id)
    assert limit.status is MatchingOrderStatus.PARTIALLY_FILLED
    assert engine.balance("me", "BTC") == BalanceSnapshot("BTC", D("99.5"), D("0.3"))
    assert engine.open_order_lists("me") == []
    engine.cancel_order("me", BTC_USDT, order_id=limit_id, ts_ns=T0 + 3)
    assert engine.balance("me", "BTC") == BalanceSnapshot("BTC", D("99.8"), D("0"))


def test_the_stop_leg_triggering_expires_the_limit_leg_and_works_alone() -> None:
    engine = traded_at_30000()
    stop_id, limit_id = sell_oco(engine)
    engine.submit_limit("maker", BTC_USDT, Side.BUY, D("0.2"), D("28950"), ts_ns=T0 + 2)
    engine.submit_limit("maker", BTC_USDT, Side.SELL, D("0.01"), D("29000"), ts_ns=T0 + 3)
    result = engine.submit_market("taker", BTC_USDT, Side.BUY, quantity=D("0.01"), ts_ns=T0 + 4)
    kinds = [type(c).__name__ for c in result.consequences]
    assert kinds == ["ExpiredOrder", "OrderListUpdate", "TriggeredOrder"]
    [fired] = [c for c in result.consequences if isinstance(c, TriggeredOrder)]
    assert fired.result.order.order_id == stop_id
    assert fired.result.order.status is MatchingOrderStatus.PARTIALLY_FILLED
    assert engine.get_order("me", BTC_USDT, order_id=limit_id).status is MatchingOrderStatus.EXPIRED
    assert all(level.price != D("31000") for level in engine.depth(BTC_USDT).asks)
    assert engine.balance("me", "BTC") == BalanceSnapshot("BTC", D("99.5"), D("0.3"))


def test_canceling_either_leg_cancels_the_list_and_releases_the_hold() -> None:
    engine = traded_at_30000()
    stop_id, _ = sell_oco(engine)
    engine.cancel_order("me", BTC_USDT, order_id=stop_id, ts_ns=T0 + 2)
    statuses = [o.status for o in engine.get_order_list("me", order_list_id=0).orders]
    assert statuses == [MatchingOrderStatus.CANCELED, MatchingOrderStatus.CANCELED]
    assert engine.balance("me", "BTC") == BalanceSnapshot("BTC", D("100"), D("0"))
    assert engine.depth(BTC_USDT).asks == ()
    canceled = engine.cancel_open_orders("me", BTC_USDT, ts_ns=T0 + 3)
    assert canceled == []


def test_cancel_open_orders_cancels_both_legs_once() -> None:
    engine = traded_at_30000()
    sell_oco(engine)
    canceled = engine.cancel_open_orders("me", BTC_USDT, ts_ns=T0 + 2)
    assert [o.status for o in canceled] == [MatchingOrderStatus.CANCELED] * 2
    assert engine.balance("me", "BTC") == BalanceSnapshot("BTC", D("100"), D("0"))


def oco_error(engine: MatchingEngine, side: Side, above: OcoLeg, below: OcoLeg) -> int:
    with pytest.raises(SubmitRejected) as refused:
        engine.submit_oco("me", BTC_USDT, side, D("0.1"), above=above, below=below, ts_ns=T0)
    return refused.value.code


LM_HIGH = OcoLeg(order_type="LIMIT_MAKER", price=D("31000"))
LM_LOW = OcoLeg(order_type="LIMIT_MAKER", price=D("29000"))
SL_LOW = OcoLeg(order_type="STOP_LOSS", stop_price=D("29000"))
SL_HIGH = OcoLeg(order_type="STOP_LOSS", stop_price=D("31000"))
TP_LOW = OcoLeg(order_type="TAKE_PROFIT", stop_price=D("29000"))


def test_oco_legs_on_the_wrong_side_get_binances_codes() -> None:
    engine = traded_at_30000()
    assert oco_error(engine, Side.SELL, LM_HIGH, LM_LOW) == -1168
    assert oco_error(engine, Side.SELL, SL_HIGH, LM_LOW) == -1197
    assert oco_error(engine, Side.SELL, OcoLeg(order_type="TAKE_PROFIT", stop_price=D("31000")),
                     LM_LOW) == -1166  # fmt: skip
    assert oco_error(engine, Side.SELL, LM_HIGH, TP_LOW) == -1199
    assert oco_error(engine, Side.BUY, LM_HIGH, SL_LOW) == -1165
    assert oco_error(engine, Side.BUY, SL_HIGH, SL_LOW) == -1196
    assert oco_error(engine, Side.BUY, OcoLeg(order_type="LIMIT", price=D("1")), LM_LOW) == -1158


def test_oco_prices_must_straddle_the_last_trade_price() -> None:
    engine = traded_at_30000()
    low_stop = OcoLeg(order_type="STOP_LOSS", stop_price=D("30500"))
    with pytest.raises(SubmitRejected) as refused:
        engine.submit_oco("me", BTC_USDT, Side.SELL, D("0.1"), above=LM_HIGH, below=low_stop,
                          ts_ns=T0)  # fmt: skip
    assert refused.value.msg == "The relationship of the prices for the orders is not correct."
    assert engine.open_orders("me") == [] and engine.order_lists("me") == []


def test_an_oco_the_account_cannot_hold_is_refused_whole() -> None:
    engine = traded_at_30000()
    with pytest.raises(SubmitRejected, match="insufficient balance"):
        sell_oco(engine, quantity="101")
    assert engine.open_orders("me") == [] and engine.balance("me", "BTC").locked == 0


def test_a_stop_filling_an_oco_leg_ends_that_list_before_its_own_stop_leg_fires() -> None:
    """Found by the property tests: two stops fire on one print; the first one's market
    sell fills the limit leg of an OCO whose stop leg is the second. The list must end
    by that fill (stop leg expired, hold released once), not by the trigger."""
    engine = funded_engine("maker", "a", "b")
    engine.submit_limit("maker", BTC_USDT, Side.BUY, D("0.01"), D("30000"), ts_ns=T0)
    engine.submit_limit("a", BTC_USDT, Side.SELL, D("0.01"), D("30000"), ts_ns=T0)  # last
    engine.submit_stop(
        "a", BTC_USDT, Side.SELL, StopType.TAKE_PROFIT, D("0.01"), D("30050"), ts_ns=T0 + 1
    )
    engine.submit_oco(
        "b", BTC_USDT, Side.BUY, D("0.01"),
        above=OcoLeg(order_type="STOP_LOSS", stop_price=D("30100")),
        below=OcoLeg(order_type="LIMIT_MAKER", price=D("29900")), ts_ns=T0 + 2,
    )  # fmt: skip
    engine.submit_limit("maker", BTC_USDT, Side.BUY, D("0.01"), D("30100"), ts_ns=T0 + 3)
    engine.submit_limit("b", BTC_USDT, Side.SELL, D("0.01"), D("30000"), ts_ns=T0 + 4)
    usdt = engine.balance("b", "USDT")
    assert usdt.locked == 0
    assert engine.get_order_list("b", order_list_id=0).list_order_status == "ALL_DONE"
