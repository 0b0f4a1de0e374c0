"""Execution's tracked orders in the trading record: an order as the row it is stored
as (`order_record`), and the reads that bring tracking back after a restart or a move
of its account: the account's open orders with the fills recorded for them, which of a
venue's trades are recorded, and which symbols the account traded lately. The writes
are `trades.upsert_orders` and `trades.insert_fills`; this module is execution's view of
those tables (rows to and from the domain's `TrackedOrder`), apart from the repository
every reader shares."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, localcontext

from sqlalchemy import func, select
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection

from tradewind.domain.exact import EXACT
from tradewind.domain.model import Instrument, OrderType, Side, TimeInForce
from tradewind.domain.orders import OrderState, TrackedOrder, Transition
from tradewind.domain.time_units import NS_PER_MS, datetime_from_ns
from tradewind.store.database import in_chunks, ns_of
from tradewind.store.schema import fills, orders
from tradewind.store.trades import OrderRecord

#: States in which an order may still change at the venue (or its outcome is unknown).
#: NEW is stored only for an order looked up and not found, then not sent again before
#: the process stopped or its account moved (to be looked up again and sent).
OPEN_STATES = (
    OrderState.NEW,
    OrderState.SENT,
    OrderState.UNKNOWN,
    OrderState.ACCEPTED,
    OrderState.PARTIALLY_FILLED,
    OrderState.PENDING_CANCEL,
)


@dataclass(frozen=True, slots=True)
class RestoredOrder:
    """An open order read back from the orders table; `fills_since_ms` is when fills it
    has not recorded yet can have happened at the earliest, `created_ms` when its intent
    was admitted (ms since the epoch)."""

    order: TrackedOrder
    fills_since_ms: int
    created_ms: int


def _ms(moment: datetime) -> int:
    return ns_of(moment) // NS_PER_MS


def order_record(
    order: TrackedOrder, *, updated_ns: int, state: OrderState | None = None
) -> OrderRecord:
    """`order` as a row; `state` overrides its own (the write-ahead SENT)."""
    created_ns = order.history[0].ts_ns if order.history else updated_ns
    return OrderRecord(
        client_order_id=order.client_order_id,
        account_id=order.account_id,
        bot_id=order.bot_id,
        venue=order.venue,
        symbol=order.instrument.symbol,
        side=order.side.value,
        order_type=order.order_type.value,
        time_in_force=order.time_in_force.value,
        quantity=order.quantity,
        price=order.price,
        state=(state or order.state).value,
        filled_quantity=order.filled_quantity,
        average_price=order.average_price,
        venue_order_id=order.venue_order_id,
        reason=order.reason,
        created_at=datetime_from_ns(created_ns),
        updated_at=datetime_from_ns(updated_ns),
    )


async def load_open_orders(conn: AsyncConnection, account_id: str) -> list[RestoredOrder]:
    """The account's orders in an open state, as tracked orders. One that was NEW, SENT
    or UNKNOWN comes back UNKNOWN: the process that had it may have sent it, or a twin
    that had the account meanwhile; it is looked up before anything is sent."""
    open_values = [state.value for state in OPEN_STATES]
    query = select(orders).where(orders.c.account_id == account_id, orders.c.state.in_(open_values))
    return await _restored(conn, (await conn.execute(query)).mappings().all())


async def load_orders(
    conn: AsyncConnection, account_id: str, client_order_ids: Iterable[str]
) -> list[RestoredOrder]:
    """These orders of the account, whatever their state, as tracked orders with the
    fills recorded for them (for trades the venue reports that no tracked order owns)."""
    ids = list(client_order_ids)
    rows: list[RowMapping] = []
    for chunk in in_chunks(ids):
        query = select(orders).where(
            orders.c.account_id == account_id,
            orders.c.client_order_id.in_(chunk),
        )
        rows += (await conn.execute(query)).mappings().all()
    return await _restored(conn, rows)


async def recorded_trade_ids(
    conn: AsyncConnection, account_id: str, symbol: str, trade_ids: Iterable[str]
) -> set[str]:
    """Which of these trades of the account on `symbol` are in the fills table."""
    ids = list(trade_ids)
    found: set[str] = set()
    for chunk in in_chunks(ids):
        query = select(fills.c.trade_id).where(
            fills.c.account_id == account_id,
            fills.c.symbol == symbol,
            fills.c.trade_id.in_(chunk),
        )
        found.update((await conn.execute(query)).scalars())
    return found


async def traded_symbols_since(
    conn: AsyncConnection, account_id: str, since: datetime
) -> dict[str, int]:
    """The symbols of the account's orders changed since `since`, each with the
    creation of the oldest such order (ms since the epoch): where its trades can begin."""
    query = (
        select(orders.c.symbol, func.min(orders.c.created_at))
        .where(orders.c.account_id == account_id, orders.c.updated_at >= since)
        .group_by(orders.c.symbol)
    )
    return {symbol: _ms(first) for symbol, first in (await conn.execute(query)).all()}


async def _restored(conn: AsyncConnection, rows: Sequence[RowMapping]) -> list[RestoredOrder]:
    if not rows:
        return []
    recorded = await _recorded_fills(conn, [row["client_order_id"] for row in rows])
    now_ns = time.time_ns()
    restored = []
    for row in rows:
        state = OrderState(row["state"])
        if state in (OrderState.NEW, OrderState.SENT):
            state = OrderState.UNKNOWN
        order = TrackedOrder(
            account_id=row["account_id"],
            bot_id=row["bot_id"],
            client_order_id=row["client_order_id"],
            instrument=Instrument.parse(row["venue"], row["symbol"]),
            side=Side(row["side"]),
            order_type=OrderType(row["order_type"]),
            quantity=row["quantity"],
            price=row["price"],
            time_in_force=TimeInForce(row["time_in_force"]),
            state=state,
            filled_quantity=row["filled_quantity"],
            venue_order_id=row["venue_order_id"],
            reason=row["reason"],
            history=[Transition(now_ns, None, state, "restored from the orders table")],
        )
        since_ms = created_ms = _ms(row["created_at"])
        for trade_id, quantity, price, executed_ms in recorded.get(order.client_order_id, ()):
            with localcontext(EXACT):
                order.fills_quantity += quantity
                order.fills_notional += quantity * price
            order.trade_ids.add(trade_id)
            since_ms = max(since_ms, executed_ms)
        restored.append(RestoredOrder(order, since_ms, created_ms))
    return restored


async def _recorded_fills(
    conn: AsyncConnection, client_order_ids: Sequence[str]
) -> dict[str, list[tuple[str, Decimal, Decimal, int]]]:
    """(trade id, quantity, price, executed ms) of the recorded fills of each order."""
    found: dict[str, list[tuple[str, Decimal, Decimal, int]]] = {}
    for chunk in in_chunks(client_order_ids):
        query = select(
            fills.c.client_order_id,
            fills.c.trade_id,
            fills.c.quantity,
            fills.c.price,
            fills.c.executed_at,
        ).where(fills.c.client_order_id.in_(chunk))
        for client_order_id, trade_id, quantity, price, executed_at in (
            await conn.execute(query)
        ).all():
            found.setdefault(client_order_id, []).append(
                (trade_id, quantity, price, _ms(executed_at))
            )
    return found
