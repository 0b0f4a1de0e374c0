"""The chaos harness's reads of the trading record, on SQLite and PostgreSQL: which
fills are recorded and which orders sit in which states."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from tradewind.domain.events import Fill
from tradewind.domain.model import Instrument, Liquidity, Side
from tradewind.store import record_checks, trades
from tradewind.store.database import Database

BTC = Instrument.parse("sim", "BTC/USDT")


def order(cid: str, state: str, at: datetime) -> trades.OrderRecord:
    return trades.OrderRecord(
        client_order_id=cid, account_id="a1", bot_id="b1", venue="sim", symbol="BTC/USDT",
        side="BUY", order_type="LIMIT", time_in_force="GTC", quantity=Decimal(1),
        price=Decimal(100), state=state, filled_quantity=Decimal(0), average_price=None,
        venue_order_id=None, reason="", created_at=at, updated_at=at,
    )  # fmt: skip


def fill(cid: str, trade_id: str) -> Fill:
    return Fill(
        account_id="a1", client_order_id=cid, venue_order_id="v", trade_id=trade_id,
        instrument=BTC, side=Side.BUY, price=Decimal(100), quantity=Decimal(1),
        fee=Decimal(0), fee_asset="USDT", liquidity=Liquidity.TAKER,
        ts_ns=1_700_000_000_000_000_000,
    )  # fmt: skip


async def test_recorded_fills_and_orders_by_state_read_back(db: Database) -> None:
    at = datetime(2026, 1, 2, tzinfo=UTC)
    async with db.transaction() as conn:
        await trades.upsert_orders(
            conn, [order("c1", "ACCEPTED", at), order("c2", "FILLED", at), order("c3", "SENT", at)]
        )
        await trades.insert_fills(conn, [fill("c2", "t1"), fill("c2", "t2")])
    async with db.read() as conn:
        keys = await record_checks.recorded_fill_keys(conn)
        trade_ids = await record_checks.recorded_trade_ids(conn, "a1")
        by_state = await record_checks.orders_by_state(conn, "a1")
        held = await record_checks.orders_in_states(conn, ("ACCEPTED", "SENT"))
    assert keys == {("a1", "BTC/USDT", "t1"), ("a1", "BTC/USDT", "t2")}
    assert trade_ids == {"t1", "t2"}
    assert by_state == {"ACCEPTED": 1, "FILLED": 1, "SENT": 1}
    assert sorted((a, c, s) for a, c, s, _ in held) == [
        ("a1", "c1", "ACCEPTED"),
        ("a1", "c3", "SENT"),
    ]
