"""Tracked orders in the orders and fills tables, on SQLite and PostgreSQL: the batched
writes execution uses (`trades.upsert_orders`, `trades.insert_fills`) insert, then
update, and record each fill once, agreeing with their one-row forms; and a restart
reads back the open orders with the fills recorded for them."""

from __future__ import annotations

import time
from decimal import Decimal

from tradewind.domain.commands import OrderIntent
from tradewind.domain.events import Fill
from tradewind.domain.model import Instrument, Liquidity, OrderType, Side
from tradewind.domain.orders import OrderState, TrackedOrder
from tradewind.store.database import Database
from tradewind.store.tracked_orders import load_open_orders, order_record
from tradewind.store.trades import (
    get_order,
    insert_fill,
    insert_fills,
    list_fills,
    stored_states,
    upsert_order,
    upsert_orders,
)
from tradewind.venues.port import VenueOrder, VenueOrderStatus

D = Decimal
BTC = Instrument.parse("sim", "BTC/USDT")


def order(intent_id: str, quantity: str = "0.5") -> TrackedOrder:
    intent = OrderIntent(
        account_id="a1",
        bot_id="b1",
        intent_id=intent_id,
        instrument=BTC,
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        quantity=D(quantity),
        price=D("30000"),
        ts_ns=time.time_ns(),
    )
    return TrackedOrder.from_intent(intent, ts_ns=time.time_ns())


def report(tracked: TrackedOrder, status: VenueOrderStatus, filled: str) -> VenueOrder:
    return VenueOrder(
        client_order_id=tracked.client_order_id,
        venue_order_id="77",
        symbol="BTC/USDT",
        side=Side.BUY,
        order_type=OrderType.LIMIT,
        time_in_force=tracked.time_in_force,
        status=status,
        quantity=tracked.quantity,
        filled_quantity=D(filled),
        price=D("30000"),
        average_price=None,
        updated_ms=1,
    )


def fill(tracked: TrackedOrder, trade_id: str, quantity: str, price: str = "30000") -> Fill:
    return Fill(
        account_id="a1",
        client_order_id=tracked.client_order_id,
        venue_order_id="77",
        trade_id=trade_id,
        instrument=BTC,
        side=Side.BUY,
        price=D(price),
        quantity=D(quantity),
        fee=D("0.0001"),
        fee_asset="BTC",
        liquidity=Liquidity.MAKER,
        ts_ns=time.time_ns(),
    )


async def test_batched_writes_insert_then_update_and_record_each_fill_once(db: Database) -> None:
    first, second = order("i-1"), order("i-2")
    now = time.time_ns()
    async with db.transaction() as conn:
        await upsert_orders(conn, [order_record(first, updated_ns=now, state=OrderState.SENT)])
    first.mark_sent(ts_ns=now)
    first.apply_venue_report(report(first, VenueOrderStatus.PARTIALLY_FILLED, "0.2"), ts_ns=now)
    first.apply_fill("t1", D("0.2"), D("30000"), ts_ns=now)
    fills = [fill(first, "t1", "0.2"), fill(first, "t1", "0.2")]
    async with db.transaction() as conn:
        await upsert_orders(conn, [order_record(o, updated_ns=now) for o in (first, second)])
        await insert_fills(conn, fills)
    async with db.transaction() as conn:  # a retried flush changes nothing
        await insert_fills(conn, fills)
    async with db.read() as conn:
        stored = await get_order(conn, first.client_order_id)
        states = await stored_states(conn, [first.client_order_id, second.client_order_id, "x"])
        rows = await list_fills(conn, ["a1"])
    assert stored is not None
    assert (stored.state, stored.filled_quantity, stored.venue_order_id) == (
        "PARTIALLY_FILLED",
        D("0.2"),
        "77",
    )
    assert stored.average_price == D("30000")
    assert states == {first.client_order_id: "PARTIALLY_FILLED", second.client_order_id: "NEW"}
    assert [(r["trade_id"], r["quantity"]) for r in rows] == [("t1", D("0.2"))]


async def test_one_batch_advances_many_orders_and_records_a_redelivered_fill_once(
    db: Database,
) -> None:
    orders = [order(f"i-{n}") for n in range(3)]
    now = time.time_ns()
    async with db.transaction() as conn:
        await upsert_orders(conn, [order_record(o, updated_ns=now) for o in orders[:2]])
    for tracked in orders:
        tracked.mark_sent(ts_ns=now)
        tracked.apply_venue_report(report(tracked, VenueOrderStatus.NEW, "0"), ts_ns=now)
    first_fill = fill(orders[0], "t1", "0.1")
    async with db.transaction() as conn:
        await upsert_orders(conn, [order_record(o, updated_ns=now) for o in orders])
        recorded = await insert_fills(conn, [first_fill, fill(orders[1], "t2", "0.1")])
    async with db.transaction() as conn:  # redelivered: t1 again, beside a new t3
        again = await insert_fills(conn, [first_fill, fill(orders[2], "t3", "0.1"), first_fill])
    async with db.read() as conn:
        states = await stored_states(conn, [o.client_order_id for o in orders])
        rows = await list_fills(conn, ["a1"])
    assert set(states.values()) == {"ACCEPTED"} and len(states) == 3
    assert [f.trade_id for f in recorded] == ["t1", "t2"]
    assert [f.trade_id for f in again] == ["t3"]
    assert sorted(r["trade_id"] for r in rows) == ["t1", "t2", "t3"]


async def test_the_one_row_forms_agree_with_the_batch_forms(db: Database) -> None:
    tracked = order("i-1")
    now = time.time_ns()
    async with db.transaction() as conn:
        await upsert_order(conn, order_record(tracked, updated_ns=now, state=OrderState.SENT))
        tracked.mark_sent(ts_ns=now)
        tracked.apply_venue_report(
            report(tracked, VenueOrderStatus.PARTIALLY_FILLED, "0.2"), ts_ns=now
        )
        await upsert_orders(conn, [order_record(tracked, updated_ns=now)])
        assert await insert_fill(conn, fill(tracked, "t1", "0.2"))
        assert await insert_fills(conn, [fill(tracked, "t1", "0.2")]) == []
        assert not await insert_fill(conn, fill(tracked, "t1", "0.2"))
    async with db.read() as conn:
        stored = await get_order(conn, tracked.client_order_id)
        rows = await list_fills(conn, ["a1"])
    assert stored is not None and stored.state == "PARTIALLY_FILLED"
    assert [r["trade_id"] for r in rows] == ["t1"]


async def test_open_orders_come_back_with_their_recorded_fills(db: Database) -> None:
    resting, sent, done = order("i-1"), order("i-2"), order("i-3", "0.1")
    now = time.time_ns()
    resting.mark_sent(ts_ns=now)
    resting.apply_venue_report(report(resting, VenueOrderStatus.PARTIALLY_FILLED, "0.3"), ts_ns=now)
    resting.apply_fill("t1", D("0.1"), D("30000"), ts_ns=now)
    resting.apply_fill("t2", D("0.2"), D("30000.5"), ts_ns=now)
    done.mark_sent(ts_ns=now)
    done.apply_venue_report(report(done, VenueOrderStatus.FILLED, "0.1"), ts_ns=now)
    async with db.transaction() as conn:
        await upsert_orders(conn, [order_record(o, updated_ns=now) for o in (resting, done)])
        await upsert_orders(conn, [order_record(sent, updated_ns=now, state=OrderState.SENT)])
        await insert_fills(
            conn, [fill(resting, "t1", "0.1"), fill(resting, "t2", "0.2", "30000.5")]
        )

    async with db.read() as conn:
        restored = {r.order.client_order_id: r for r in await load_open_orders(conn, "a1")}
    assert set(restored) == {resting.client_order_id, sent.client_order_id}
    again = restored[resting.client_order_id].order
    assert again.state is OrderState.PARTIALLY_FILLED and again.trade_ids == {"t1", "t2"}
    assert again.fills_quantity == D("0.3") and again.missing_fill_quantity == 0
    assert again.fills_notional == resting.fills_notional
    assert restored[sent.client_order_id].order.state is OrderState.UNKNOWN  # look it up
