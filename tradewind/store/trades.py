"""The trading record's orders and fills: orders by client order id (`OrderRecord`,
upserted by execution as an order moves through its states), fills by (account, symbol,
trade id), and the reads of both that the API and analytics make (narrowed by one
`TradeFilter` and paged newest first, or a bot's fills in time order). Writes are
idempotent on those natural keys, so a redelivered event changes nothing. Execution's
reads that bring its tracked orders back after a restart are `tracked_orders`."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import and_, bindparam, func, select, tuple_, type_coerce, update
from sqlalchemy.engine import Row, RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import NullType

from tradewind.domain.bot_pnl import BotFill
from tradewind.domain.events import Fill
from tradewind.domain.model import Side
from tradewind.domain.time_units import datetime_from_ns
from tradewind.store.database import as_utc, in_chunks, ns_of
from tradewind.store.schema import Money, fills, orders


@dataclass(frozen=True)
class OrderRecord:
    """An order as the orders table holds it: amounts exact, times UTC, `state` an
    `OrderState` value, `bot_id` "" for an order no bot placed."""

    client_order_id: str
    account_id: str
    bot_id: str
    venue: str
    symbol: str
    side: str
    order_type: str
    time_in_force: str
    quantity: Decimal
    price: Decimal | None
    state: str
    filled_quantity: Decimal
    average_price: Decimal | None
    venue_order_id: str | None
    reason: str
    created_at: datetime
    updated_at: datetime


def _order(row: RowMapping) -> OrderRecord:
    return OrderRecord(**{k: row[k] for k in OrderRecord.__dataclass_fields__})


#: The columns an upsert changes on an order already stored.
_CHANGING = ("state", "filled_quantity", "average_price", "venue_order_id", "reason", "updated_at")
_UPDATE_ORDER = (
    update(orders)
    .where(orders.c.client_order_id == bindparam("key"))
    .values({name: bindparam(f"new_{name}") for name in _CHANGING})
)


_ORDER_FIELDS = tuple(OrderRecord.__dataclass_fields__)


def _order_row(record: OrderRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in _ORDER_FIELDS}


async def upsert_order(conn: AsyncConnection, order: OrderRecord) -> None:
    """Insert the order, or update its changing fields if it exists."""
    await upsert_orders(conn, [order])


async def upsert_orders(conn: AsyncConnection, records: Sequence[OrderRecord]) -> None:
    """Insert the orders that are not in the table, update the changing fields of those
    that are: three statements for the whole batch (which ids are stored, one
    executemany insert, one executemany update) instead of two per row; on SQLite that
    is the difference between ~500 and thousands of orders per second. A client order
    id appears at most once in `records`."""
    if not records:
        return
    present = await stored_states(conn, [r.client_order_id for r in records])
    # Not `asdict`: it deep-copies every Decimal and datetime (most of a write-ahead's
    # time at 1,000 orders a batch).
    inserts = [_order_row(r) for r in records if r.client_order_id not in present]
    updates = [
        {"key": r.client_order_id, **{f"new_{name}": getattr(r, name) for name in _CHANGING}}
        for r in records
        if r.client_order_id in present
    ]
    if inserts:
        await conn.execute(orders.insert(), inserts)
    if updates:
        await conn.execute(_UPDATE_ORDER, updates)


async def stored_states(conn: AsyncConnection, client_order_ids: Iterable[str]) -> dict[str, str]:
    """The stored state of each of these orders that is in the table (one query per
    500 ids; the batched form of `get_order` for the hot path)."""
    ids = list(client_order_ids)
    found: dict[str, str] = {}
    for chunk in in_chunks(ids):
        query = select(orders.c.client_order_id, orders.c.state).where(
            orders.c.client_order_id.in_(chunk)
        )
        for client_order_id, state in (await conn.execute(query)).all():
            found[client_order_id] = state
    return found


async def get_order(conn: AsyncConnection, client_order_id: str) -> OrderRecord | None:
    query = select(orders).where(orders.c.client_order_id == client_order_id)
    row = (await conn.execute(query)).mappings().first()
    return _order(row) if row else None


@dataclass(frozen=True, slots=True)
class TradeFilter:
    """What a list of orders or fills is narrowed to; None is "any". `since` is
    inclusive, `until` exclusive (orders by creation, fills by execution); `state` applies
    to orders only."""

    bot_id: str | None = None
    symbol: str | None = None
    side: str | None = None
    state: str | None = None
    since: datetime | None = None
    until: datetime | None = None


ANY = TradeFilter()


def _narrowing(
    only: TradeFilter,
    bot_id: ColumnElement[str],
    symbol: ColumnElement[str],
    side: ColumnElement[str],
    at: ColumnElement[datetime],
) -> list[ColumnElement[bool]]:
    """The conditions of `only` (but its order state) on these columns."""
    wanted = ((bot_id, only.bot_id), (symbol, only.symbol), (side, only.side))
    conditions = [column == value for column, value in wanted if value is not None]
    if only.since is not None:
        conditions.append(at >= only.since)
    if only.until is not None:
        conditions.append(at < only.until)
    return conditions


async def list_orders(
    conn: AsyncConnection,
    account_ids: list[str],
    *,
    offset: int = 0,
    limit: int = 100,
    only: TradeFilter = ANY,
) -> list[OrderRecord]:
    """Newest first."""
    conditions = [
        orders.c.account_id.in_(account_ids),
        *_narrowing(only, orders.c.bot_id, orders.c.symbol, orders.c.side, orders.c.created_at),
    ]
    if only.state is not None:
        conditions.append(orders.c.state == only.state)
    query = (
        select(orders)
        .where(and_(*conditions))
        .order_by(orders.c.created_at.desc(), orders.c.client_order_id)
        .offset(offset)
        .limit(limit)
    )
    return [_order(r) for r in (await conn.execute(query)).mappings()]


async def insert_fill(conn: AsyncConnection, fill: Fill) -> bool:
    """Record a fill once; False if (account, symbol, trade id) was already there."""
    return bool(await insert_fills(conn, [fill]))


async def insert_fills(conn: AsyncConnection, new_fills: Sequence[Fill]) -> list[Fill]:
    """Record each fill once per (account, symbol, trade id): one query per 500 keys for
    those already stored, then one executemany insert of the others (a key repeated in
    `new_fills` is recorded once, the first time). Returns the fills recorded now."""
    if not new_fills:
        return []
    listed = list({(f.account_id, f.instrument.symbol, f.trade_id) for f in new_fills})
    present: set[tuple[str, str, str]] = set()
    key_columns = tuple_(fills.c.account_id, fills.c.symbol, fills.c.trade_id)
    for chunk in in_chunks(listed):
        query = select(fills.c.account_id, fills.c.symbol, fills.c.trade_id).where(
            key_columns.in_(chunk)
        )
        present.update((a, s, t) for a, s, t in (await conn.execute(query)).all())
    recorded = []
    for fill in new_fills:
        key = (fill.account_id, fill.instrument.symbol, fill.trade_id)
        if key not in present:
            present.add(key)
            recorded.append(fill)
    if recorded:
        await conn.execute(fills.insert(), [_fill_row(fill) for fill in recorded])
    return recorded


def _fill_row(fill: Fill) -> dict[str, Any]:
    return {
        "account_id": fill.account_id,
        "trade_id": fill.trade_id,
        "client_order_id": fill.client_order_id,
        "symbol": fill.instrument.symbol,
        "side": fill.side.value,
        "price": fill.price,
        "quantity": fill.quantity,
        "fee": fill.fee,
        "fee_asset": fill.fee_asset,
        "liquidity": fill.liquidity.value,
        "executed_at": datetime_from_ns(fill.ts_ns),
    }


async def list_fills(
    conn: AsyncConnection,
    account_ids: list[str],
    *,
    offset: int = 0,
    limit: int = 100,
    only: TradeFilter = ANY,
) -> list[dict[str, Any]]:
    """Newest first, as plain rows, each with the `bot_id` of the order it filled."""
    conditions = [
        fills.c.account_id.in_(account_ids),
        *_narrowing(only, orders.c.bot_id, fills.c.symbol, fills.c.side, fills.c.executed_at),
    ]
    query = (
        select(fills, orders.c.bot_id)
        .select_from(fills.outerjoin(orders, orders.c.client_order_id == fills.c.client_order_id))
        .where(and_(*conditions))
        .order_by(fills.c.executed_at.desc(), fills.c.trade_id)
        .offset(offset)
        .limit(limit)
    )
    return [dict(r) for r in (await conn.execute(query)).mappings()]


#: A bot's fill as `_bot_fill` takes it, with its account and bot.
_BOT_FILL_COLUMNS = (
    fills.c.account_id, orders.c.bot_id, fills.c.executed_at, fills.c.symbol, fills.c.side,
    fills.c.price, fills.c.quantity, fills.c.fee, fills.c.fee_asset, fills.c.trade_id,
)  # fmt: skip


#: `_BOT_FILL_COLUMNS` with the money read as the driver gives it (no result processing:
#: `_exact` converts it). The cursor's read re-reads a margin of fills that its reader
#: mostly turns down: converting every row's money first was ~a third of that read's
#: time (3 Decimals a row, most of them thrown away).
_RAW_MONEY_COLUMNS = tuple(
    type_coerce(c, NullType()).label(c.name) if isinstance(c.type, Money) else c
    for c in _BOT_FILL_COLUMNS
)


def _bot_fill(row: Any, exact: Callable[[Any], Any] | None = None) -> BotFill:
    """The fill of a row of `_BOT_FILL_COLUMNS` (or of `_RAW_MONEY_COLUMNS`, with `exact`
    converting its money)."""
    if exact is None:
        price, quantity, fee = row.price, row.quantity, row.fee
    else:
        price, quantity, fee = exact(row.price), exact(row.quantity), exact(row.fee)
    return BotFill(
        ts_ns=ns_of(row.executed_at), symbol=row.symbol, side=Side(row.side), price=price,
        quantity=quantity, fee=fee, fee_asset=row.fee_asset, trade_id=row.trade_id,
    )  # fmt: skip


async def bot_fills(
    conn: AsyncConnection, account_id: str, bot_id: str, *, limit: int
) -> list[BotFill]:
    """The fills of `bot_id`'s orders on `account_id`, oldest first, at most `limit`
    (the newest kept when there are more)."""
    newest = (
        select(
            fills.c.executed_at, fills.c.symbol, fills.c.side, fills.c.price, fills.c.quantity,
            fills.c.fee, fills.c.fee_asset, fills.c.trade_id,
        )
        .join(orders, orders.c.client_order_id == fills.c.client_order_id)
        .where(fills.c.account_id == account_id, orders.c.bot_id == bot_id)
        .order_by(fills.c.executed_at.desc(), fills.c.trade_id.desc())
        .limit(limit)
    )  # fmt: skip
    return [_bot_fill(row) for row in reversed((await conn.execute(newest)).all())]


async def bots_fills_of(
    conn: AsyncConnection, account_ids: Iterable[str], *, limit: int
) -> dict[str, list[tuple[str, BotFill]]]:
    """Per account, (bot id, fill) of its bots' orders' fills, oldest first, the newest
    `limit` of each account; fills of orders without a bot are left out. Accounts are
    read 500 to a query; a query that reaches `limit` rows is read again an account at a
    time, so that one busy account cannot crowd out the others' fills."""
    ids = list(dict.fromkeys(account_ids))
    found: dict[str, list[tuple[str, BotFill]]] = {}
    for chunk in in_chunks(ids):
        rows = await _bots_fills_rows(conn, chunk, limit)
        if len(rows) >= limit and len(chunk) > 1:
            rows = [r for a in chunk for r in await _bots_fills_rows(conn, [a], limit)]
        for row in rows:
            found.setdefault(row.account_id, []).append((row.bot_id, _bot_fill(row)))
    return found


async def _bots_fills_rows(
    conn: AsyncConnection, account_ids: Sequence[str], limit: int
) -> list[Row[Any]]:
    """The newest `limit` bot fills of these accounts, oldest first."""
    query = (
        select(*_BOT_FILL_COLUMNS)
        .join(orders, orders.c.client_order_id == fills.c.client_order_id)
        .where(fills.c.account_id.in_(account_ids), orders.c.bot_id != "")
        .order_by(fills.c.executed_at.desc(), fills.c.trade_id.desc())
        .limit(limit)
    )
    return list(reversed((await conn.execute(query)).all()))


async def newest_fill_recorded(conn: AsyncConnection) -> datetime | None:
    """When the newest fill was recorded (`recorded_at`, its writer's clock); None
    without fills."""
    moment = (await conn.execute(select(func.max(fills.c.recorded_at)))).scalar()
    return None if moment is None else as_utc(moment)


#: Whether a reader wants a bot's fill: (account id, bot id, symbol, trade id).
WantsFill = Callable[[str, str, str, str], bool]


async def bot_fills_recorded_since(
    conn: AsyncConnection, since: datetime | None, wanted: WantsFill | None = None
) -> tuple[dict[str, list[tuple[str, BotFill]]], datetime | None]:
    """Every account's (bot id, fill) of its bots' orders' fills recorded at or after
    `since` (None: all) that `wanted` accepts (None: all; asked before a row is turned
    into a fill, so a reader that re-reads a margin pays little for the rows it has),
    each account's oldest first (by execution, then trade id), and the newest
    `recorded_at` among all the rows read (None: none). One query for the whole
    platform, by `ix_fills_recorded`: the analytics service's cursor on new fills, which
    sees a fill recorded long after it executed as soon as it is recorded."""
    query = (
        select(*_RAW_MONEY_COLUMNS, fills.c.recorded_at)
        .join(orders, orders.c.client_order_id == fills.c.client_order_id)
        .where(orders.c.bot_id != "")
        .order_by(fills.c.executed_at, fills.c.trade_id)
    )
    if since is not None:
        query = query.where(fills.c.recorded_at >= since)
    rows = (await conn.execute(query)).all()
    money, dialect = Money(), conn.dialect

    def exact(raw: Any) -> Decimal | None:  # as a Money column reads it
        return money.process_result_value(raw, dialect)

    found: dict[str, list[tuple[str, BotFill]]] = {}
    for row in rows:
        if wanted is None or wanted(row.account_id, row.bot_id, row.symbol, row.trade_id):
            found.setdefault(row.account_id, []).append((row.bot_id, _bot_fill(row, exact)))
    newest = max((row.recorded_at for row in rows), default=None)
    return found, None if newest is None else as_utc(newest)
