"""The trading record: orders (by client order id), fills (by account and trade id)
and portfolio snapshots. Writes are idempotent on those natural keys, so a redelivered
event changes nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    BigInteger,
    Table,
    and_,
    bindparam,
    cast,
    delete,
    func,
    select,
    tuple_,
    update,
)
from sqlalchemy.engine import Row, RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.sql.elements import ColumnElement

from tradewind.domain.bot_pnl import BotFill
from tradewind.domain.events import Fill, PortfolioUpdate
from tradewind.domain.exact import EXACT
from tradewind.domain.model import Side
from tradewind.domain.time_units import NS_PER_S, datetime_from_ns, ns_from_datetime
from tradewind.store.schema import bot_snapshots, fills, orders, portfolio_snapshots

_CHUNK = 500  # ids per IN (...) query
_ZERO = Decimal(0)


@dataclass(frozen=True)
class OrderRecord:
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
    inserts = [asdict(r) for r in records if r.client_order_id not in present]
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
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
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
    for start in range(0, len(listed), _CHUNK):
        query = select(fills.c.account_id, fills.c.symbol, fills.c.trade_id).where(
            key_columns.in_(listed[start : start + _CHUNK])
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


async def insert_snapshot(conn: AsyncConnection, update_event: PortfolioUpdate) -> None:
    await conn.execute(
        portfolio_snapshots.insert().values(
            account_id=update_event.account_id,
            taken_at=datetime_from_ns(update_event.ts_ns),
            valuation_asset=update_event.valuation_asset,
            equity=update_event.equity,
            cash=update_event.cash,
            realized_pnl=update_event.realized_pnl,
            unrealized_pnl=update_event.unrealized_pnl,
            fees=update_event.fees,
            balances={asset: format(v, "f") for asset, v in update_event.balances.items()},
            traded=update_event.traded,
        )
    )


async def equity_history(
    conn: AsyncConnection, account_id: str, *, offset: int = 0, limit: int = 500
) -> list[tuple[datetime, Decimal]]:
    """(time, equity) pairs, oldest first."""
    query = (
        select(portfolio_snapshots.c.taken_at, portfolio_snapshots.c.equity)
        .where(portfolio_snapshots.c.account_id == account_id)
        .order_by(portfolio_snapshots.c.taken_at, portfolio_snapshots.c.id)
        .offset(offset)
        .limit(limit)
    )
    return [(r.taken_at, r.equity) for r in (await conn.execute(query)).all()]


async def latest_balances(
    conn: AsyncConnection, account_ids: Sequence[str]
) -> dict[str, tuple[int, dict[str, Decimal]]]:
    """Per account, the time (ns) and balances of its newest portfolio snapshot."""
    table = portfolio_snapshots
    latest: dict[str, tuple[int, dict[str, Decimal]]] = {}
    for start in range(0, len(account_ids), _CHUNK):
        newest = (
            select(func.max(table.c.id))
            .where(table.c.account_id.in_(account_ids[start : start + _CHUNK]))
            .group_by(table.c.account_id)
        ).scalar_subquery()
        query = select(table.c.account_id, table.c.taken_at, table.c.balances).where(
            table.c.id.in_(newest)
        )
        for row in await conn.execute(query):
            balances = {asset: Decimal(amount) for asset, amount in row.balances.items()}
            latest[row.account_id] = (ns_of(row.taken_at), balances)
    return latest


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A stored portfolio snapshot, as the portfolio service wrote it."""

    account_id: str
    taken_at: datetime
    valuation_asset: str
    equity: Decimal
    cash: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal
    balances: dict[str, Decimal]


async def latest_snapshots(
    conn: AsyncConnection, account_ids: Sequence[str]
) -> dict[str, Snapshot]:
    """The newest snapshot of each of `account_ids` that has one."""
    if not account_ids:
        return {}
    snaps = portfolio_snapshots
    newest = (
        select(snaps.c.account_id, func.max(snaps.c.id).label("id"))
        .where(snaps.c.account_id.in_(list(account_ids)))
        .group_by(snaps.c.account_id)
        .subquery()
    )
    query = select(snaps).join(
        newest, and_(snaps.c.account_id == newest.c.account_id, snaps.c.id == newest.c.id)
    )
    found: dict[str, Snapshot] = {}
    for row in (await conn.execute(query)).mappings():
        found[row["account_id"]] = Snapshot(
            account_id=row["account_id"],
            taken_at=as_utc(row["taken_at"]),
            valuation_asset=row["valuation_asset"],
            equity=row["equity"],
            cash=row["cash"],
            realized_pnl=row["realized_pnl"],
            unrealized_pnl=row["unrealized_pnl"],
            fees=row["fees"],
            balances={asset: Decimal(value) for asset, value in row["balances"].items()},
        )
    return found


#: One recorded valuation: (ts_ns, valuation asset, equity, realised PnL, unrealised PnL,
#: fees, traded so far), as analytics reads it.
Valuation = tuple[int, str, Decimal, Decimal, Decimal, Decimal, Decimal]


async def valuations(
    conn: AsyncConnection, account_id: str, since: datetime, until: datetime, *, limit: int
) -> list[Valuation]:
    """The account's snapshots taken in [`since`, `until`], oldest first, at most `limit`
    (the newest kept when there are more), for analytics."""
    found = await valuations_of(conn, [account_id], since, until, limit=limit)
    return found.get(account_id, [])


async def valuations_of(
    conn: AsyncConnection,
    account_ids: Iterable[str],
    since: datetime,
    until: datetime,
    *,
    limit: int,
) -> dict[str, list[Valuation]]:
    """`valuations` of many accounts in one query per 500 of them (a service meeting a
    thousand accounts after a start reads them at once, not one after the other); an
    account without a snapshot in the window is left out."""
    snaps = portfolio_snapshots
    ids = list(dict.fromkeys(account_ids))
    found: dict[str, list[Valuation]] = {}
    for start in range(0, len(ids), _CHUNK):
        rank = (
            func.row_number()
            .over(
                partition_by=snaps.c.account_id,
                order_by=(snaps.c.taken_at.desc(), snaps.c.id.desc()),
            )
            .label("rank")
        )
        ranked = (
            select(
                snaps.c.account_id, snaps.c.id, snaps.c.taken_at, snaps.c.valuation_asset,
                snaps.c.equity, snaps.c.realized_pnl, snaps.c.unrealized_pnl, snaps.c.fees,
                snaps.c.traded, rank,
            )
            .where(snaps.c.account_id.in_(ids[start : start + _CHUNK]))
            .where(snaps.c.taken_at >= since, snaps.c.taken_at <= until)
            .subquery()
        )  # fmt: skip
        newest = (
            select(ranked)
            .where(ranked.c.rank <= limit)
            .order_by(ranked.c.account_id, ranked.c.taken_at, ranked.c.id)
        )
        for row in (await conn.execute(newest)).all():
            found.setdefault(row.account_id, []).append(
                (
                    ns_of(row.taken_at), row.valuation_asset, row.equity,
                    row.realized_pnl, row.unrealized_pnl, row.fees, row.traded,
                )
            )  # fmt: skip
    return found


#: One account's valuation as the platform's series sums it: (ts_ns, equity, realised
#: PnL, unrealised PnL, fees).
AccountValuation = tuple[int, Decimal, Decimal, Decimal, Decimal]


@dataclass
class PlatformValuations:
    """What the platform's equity series in one valuation asset is summed from
    (`domain.performance.summed_valuations`): each account's last valuation before the
    window, and its changes in the window, in time order."""

    opening: dict[str, AccountValuation]
    changes: list[tuple[str, AccountValuation]]


async def platform_valuations(
    conn: AsyncConnection,
    since: datetime,
    until: datetime,
    *,
    period_s: int,
    limit: int,
    valuation_asset: str | None = None,
) -> dict[str, PlatformValuations]:
    """Per valuation asset (or only `valuation_asset`): each account's last snapshot
    before `since`, and then, per account and `period_s` bucket (aligned on the epoch)
    of [`since`, `until`], its last snapshot in the bucket, at most `limit` of those
    (the newest kept). One row per account and period rather than every snapshot: a
    platform of thousands of accounts valued every minute stays readable."""
    snaps = portfolio_snapshots
    columns = (
        snaps.c.account_id, snaps.c.valuation_asset, snaps.c.taken_at,
        snaps.c.equity, snaps.c.realized_pnl, snaps.c.unrealized_pnl, snaps.c.fees,
    )  # fmt: skip
    chosen = [] if valuation_asset is None else [snaps.c.valuation_asset == valuation_asset]
    found: dict[str, PlatformValuations] = {}

    def of(asset: str) -> PlatformValuations:
        return found.setdefault(asset, PlatformValuations({}, []))

    before = (
        select(snaps.c.account_id, func.max(snaps.c.id).label("id"))
        .where(*chosen, snaps.c.taken_at < since)
        .group_by(snaps.c.account_id)
        .subquery()
    )
    opening = select(*columns).join(before, snaps.c.id == before.c.id)
    for row in (await conn.execute(opening)).all():
        of(row.valuation_asset).opening[row.account_id] = _valuation(row)
    if conn.dialect.name == "sqlite":
        bucket: Any = cast(func.strftime("%s", snaps.c.taken_at), BigInteger) / period_s
    else:
        bucket = func.floor(func.extract("epoch", snaps.c.taken_at) / period_s)
    rank = (
        func.row_number()
        .over(
            partition_by=(snaps.c.account_id, bucket),
            order_by=(snaps.c.taken_at.desc(), snaps.c.id.desc()),
        )
        .label("rank")
    )
    ranked = (
        select(*columns, snaps.c.id, rank)
        .where(*chosen, snaps.c.taken_at >= since, snaps.c.taken_at <= until)
        .subquery()
    )
    newest = (
        select(ranked)
        .where(ranked.c.rank == 1)
        .order_by(ranked.c.taken_at.desc(), ranked.c.id.desc())
        .limit(limit)
    )
    for row in reversed((await conn.execute(newest)).all()):
        of(row.valuation_asset).changes.append((row.account_id, _valuation(row)))
    return found


def _valuation(row: Any) -> AccountValuation:
    return ns_of(row.taken_at), row.equity, row.realized_pnl, row.unrealized_pnl, row.fees


def ns_of(moment: datetime) -> int:
    """ns since the epoch of a time read back from the database."""
    return ns_from_datetime(as_utc(moment))


def as_utc(moment: datetime) -> datetime:
    """The moment with its zone: SQLite hands back naive datetimes (and a client may send
    one); everything stored is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


async def equity_before(
    conn: AsyncConnection, account_ids: Iterable[str], moment: datetime
) -> dict[str, tuple[str, Decimal]]:
    """(valuation asset, equity) of each of these accounts' last snapshot taken before
    `moment`, for those that have one."""
    snaps = portfolio_snapshots
    ids = list(account_ids)
    found: dict[str, tuple[str, Decimal]] = {}
    for start in range(0, len(ids), _CHUNK):
        last = (
            select(snaps.c.account_id, func.max(snaps.c.taken_at).label("taken_at"))
            .where(snaps.c.account_id.in_(ids[start : start + _CHUNK]))
            .where(snaps.c.taken_at < moment)
            .group_by(snaps.c.account_id)
            .subquery()
        )
        query = select(snaps.c.account_id, snaps.c.valuation_asset, snaps.c.equity).join(
            last,
            and_(snaps.c.account_id == last.c.account_id, snaps.c.taken_at == last.c.taken_at),
        )
        for account_id, asset, equity in (await conn.execute(query)).all():
            found[account_id] = (asset, equity)
    return found


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
    rows = (await conn.execute(newest)).all()
    return [
        BotFill(
            ts_ns=ns_of(row.executed_at), symbol=row.symbol, side=Side(row.side), price=row.price,
            quantity=row.quantity, fee=row.fee, fee_asset=row.fee_asset, trade_id=row.trade_id,
        )
        for row in reversed(rows)
    ]  # fmt: skip


#: A bot's fill as `_bot_fill` takes it, with its account and bot.
_BOT_FILL_COLUMNS = (
    fills.c.account_id, orders.c.bot_id, fills.c.executed_at, fills.c.symbol, fills.c.side,
    fills.c.price, fills.c.quantity, fills.c.fee, fills.c.fee_asset, fills.c.trade_id,
)  # fmt: skip


def _bot_fill(row: Any) -> BotFill:
    """The fill of a row of `_BOT_FILL_COLUMNS`."""
    return BotFill(
        ts_ns=ns_of(row.executed_at), symbol=row.symbol, side=Side(row.side), price=row.price,
        quantity=row.quantity, fee=row.fee, fee_asset=row.fee_asset, trade_id=row.trade_id,
    )  # fmt: skip


async def bots_fills_of(
    conn: AsyncConnection, account_ids: Iterable[str], *, limit: int
) -> dict[str, list[tuple[str, BotFill]]]:
    """Per account, (bot id, fill) of its bots' orders' fills, oldest first, the newest
    `limit` of each account; fills of orders without a bot are left out. Accounts are
    read 500 to a query; a query that reaches `limit` rows is read again an account at a
    time, so that one busy account cannot crowd out the others' fills."""
    ids = list(dict.fromkeys(account_ids))
    found: dict[str, list[tuple[str, BotFill]]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = await _bots_fills_rows(conn, chunk, limit)
        if len(rows) >= limit and len(chunk) > 1:
            rows = [r for a in chunk for r in await _bots_fills_rows(conn, [a], limit)]
        for row in rows:
            found.setdefault(row.account_id, []).append((row.bot_id, _bot_fill(row)))
    return found


async def _bots_fills_rows(
    conn: AsyncConnection, account_ids: list[str], limit: int
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
        select(*_BOT_FILL_COLUMNS, fills.c.recorded_at)
        .join(orders, orders.c.client_order_id == fills.c.client_order_id)
        .where(orders.c.bot_id != "")
        .order_by(fills.c.executed_at, fills.c.trade_id)
    )
    if since is not None:
        query = query.where(fills.c.recorded_at >= since)
    rows = (await conn.execute(query)).all()
    found: dict[str, list[tuple[str, BotFill]]] = {}
    for row in rows:
        if wanted is None or wanted(row.account_id, row.bot_id, row.symbol, row.trade_id):
            found.setdefault(row.account_id, []).append((row.bot_id, _bot_fill(row)))
    newest = max((row.recorded_at for row in rows), default=None)
    return found, None if newest is None else as_utc(newest)


@dataclass(frozen=True)
class PlatformTotal:
    """Every account's newest valuation in one valuation asset, summed."""

    valuation_asset: str
    accounts: int
    equity: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal
    newest: datetime


async def platform_totals(conn: AsyncConnection) -> list[PlatformTotal]:
    """Per valuation asset, the sums of each account's newest snapshot (summed here, not
    in SQL: SQLite would add the amounts as floats)."""
    snaps = portfolio_snapshots
    newest = select(func.max(snaps.c.id).label("id")).group_by(snaps.c.account_id).subquery()
    query = select(
        snaps.c.valuation_asset, snaps.c.equity, snaps.c.realized_pnl, snaps.c.unrealized_pnl,
        snaps.c.fees, snaps.c.taken_at,
    ).join(newest, snaps.c.id == newest.c.id)  # fmt: skip
    sums: dict[str, list[Any]] = {}
    for row in (await conn.execute(query)).all():
        taken = row.taken_at if row.taken_at.tzinfo else row.taken_at.replace(tzinfo=UTC)
        total = sums.setdefault(row.valuation_asset, [0, _ZERO, _ZERO, _ZERO, _ZERO, taken])
        total[0] += 1
        for index, amount in enumerate(
            (row.equity, row.realized_pnl, row.unrealized_pnl, row.fees), start=1
        ):
            total[index] = EXACT.add(total[index], amount)
        total[5] = max(total[5], taken)
    return [
        PlatformTotal(asset, count, equity, realized, unrealized, fees, newest_at)
        for asset, (count, equity, realized, unrealized, fees, newest_at) in sorted(sums.items())
    ]


#: The series retention thins: each table with the column its series are kept by.
THINNED: tuple[tuple[Table, str], ...] = (
    (portfolio_snapshots, "account_id"),
    (bot_snapshots, "bot_id"),
)


async def thin_snapshots(
    conn: AsyncConnection,
    *,
    since: datetime,
    before: datetime,
    bucket_s: int,
    table: Table = portfolio_snapshots,
    key: str = "account_id",
) -> int:
    """Keep, of each series' snapshots (an account's in `portfolio_snapshots`, a bot's
    in `bot_snapshots`: rows of `table` with the same `key`) taken in [`since`,
    `before`), only the last of each `bucket_s` period (aligned on the epoch); returns
    how many were deleted. The series' retention: older valuations at a coarser
    resolution (docs/analytics.md). `since` and `before` should fall on bucket
    boundaries, or a bucket cut in two keeps one snapshot on each side."""
    snaps = table
    owner = snaps.c[key]
    in_band = (snaps.c.taken_at >= since, snaps.c.taken_at < before)
    accounts = [
        row[0] for row in (await conn.execute(select(owner).where(*in_band).distinct())).all()
    ]
    bucket_ns = bucket_s * NS_PER_S
    deleted = 0
    for start in range(0, len(accounts), _CHUNK):
        rows = (
            await conn.execute(
                select(snaps.c.id, owner.label("owner"), snaps.c.taken_at)
                .where(*in_band, owner.in_(accounts[start : start + _CHUNK]))
                .order_by(owner, snaps.c.taken_at, snaps.c.id)
            )
        ).all()
        doomed: list[int] = []
        for row, after in zip(rows, [*rows[1:], None], strict=True):
            bucket = ns_of(row.taken_at) // bucket_ns
            if (
                after is not None
                and after.owner == row.owner
                and ns_of(after.taken_at) // bucket_ns == bucket
            ):
                doomed.append(row.id)  # a later one of its bucket is kept
        for chunk in range(0, len(doomed), 1000):
            ids = doomed[chunk : chunk + 1000]
            await conn.execute(delete(snaps).where(snaps.c.id.in_(ids)))
        deleted += len(doomed)
    return deleted
