"""The accounts' valuations (`portfolio_snapshots`): one row per account each time the
portfolio service values it (equity, cash, PnL, fees and balances in its valuation
asset), and the reads of them: an account's equity history, its newest balances or
snapshot, the valuation windows analytics computes on, the platform's sums. Thinned with
age by `snapshot_thinning`."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Text, and_, cast, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tradewind.domain.events import PortfolioUpdate
from tradewind.domain.exact import EXACT
from tradewind.domain.time_units import datetime_from_ns
from tradewind.store.database import as_utc, in_chunks, ns_of
from tradewind.store.schema import portfolio_snapshots

_ZERO = Decimal(0)


async def insert_snapshot(conn: AsyncConnection, update_event: PortfolioUpdate) -> None:
    """Record the account's valuation as the update states it, taken at its time."""
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
    for chunk in in_chunks(account_ids):
        newest = (
            select(func.max(table.c.id))
            .where(table.c.account_id.in_(chunk))
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


#: One account's valuations as columns, oldest first: the `Valuation`s' fields, each a
#: list (ts_ns, valuation asset, equity, realised PnL, unrealised PnL, fees, traded).
ValuationColumns = tuple[
    list[int], list[str], list[Decimal], list[Decimal], list[Decimal], list[Decimal],
    list[Decimal],
]  # fmt: skip


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
    found = await valuation_columns_of(conn, account_ids, since, until, limit=limit)
    return {account_id: list(zip(*columns, strict=True)) for account_id, columns in found.items()}


async def valuation_columns_of(
    conn: AsyncConnection,
    account_ids: Iterable[str],
    since: datetime,
    until: datetime,
    *,
    limit: int,
) -> dict[str, ValuationColumns]:
    """`valuations_of`, each account's as columns (what the analytics service restores
    an account from: `AccountSeries.restore`). A day of minutes for 10,000 accounts is
    14.4 million rows, so nothing here is done a row at a time in Python: the rows are
    turned into columns and each column converted in one pass. On PostgreSQL the query
    gives the time in microseconds (`extract(epoch …)`: exact) and each amount as the
    text of its `trim_scale` (NUMERIC(38, 18)'s trailing zeros taken off, as
    `schema.Money` takes them off: `Decimal` of it is Money's value, exponent included;
    the driver's binary NUMERIC would give 10000 as 1E+4); the conversions of each row's
    values by their column types were two thirds of a meet's read (~33 us a row)."""
    snaps = portfolio_snapshots
    ids = list(dict.fromkeys(account_ids))
    found: dict[str, ValuationColumns] = {}
    postgresql = conn.dialect.name == "postgresql"
    amounts = (snaps.c.equity, snaps.c.realized_pnl, snaps.c.unrealized_pnl, snaps.c.fees,
               snaps.c.traded)  # fmt: skip
    if postgresql:
        micros = cast(func.extract("epoch", snaps.c.taken_at) * 1_000_000, BigInteger)
        values: list[Any] = [
            micros.label("ts_us"),
            *(cast(func.trim_scale(c), Text).label(c.name) for c in amounts),
        ]
        when = "ts_us"
    else:
        values, when = list(amounts), "taken_at"
    for chunk in in_chunks(ids):
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
                snaps.c.account_id,
                snaps.c.id,
                snaps.c.taken_at,
                snaps.c.valuation_asset,
                *values,
                rank,
            )
            .where(snaps.c.account_id.in_(chunk))
            .where(snaps.c.taken_at >= since, snaps.c.taken_at <= until)
            .subquery()
        )
        newest = (
            select(
                ranked.c.account_id,
                ranked.c[when],
                ranked.c.valuation_asset,
                *(ranked.c[c.name] for c in amounts),
            )
            .where(ranked.c.rank <= limit)
            .order_by(ranked.c.account_id, ranked.c.taken_at, ranked.c.id)
        )
        rows = (await conn.execute(newest)).all()
        if not rows:
            continue
        owners, times, assets, *rest = zip(*rows, strict=True)
        if postgresql:
            stamps = list(map((1000).__mul__, times))
            columns = [list(map(Decimal, column)) for column in rest]
        else:
            stamps = list(map(ns_of, times))
            columns = [list(column) for column in rest]
        start = 0
        for account_id, own in itertools.groupby(owners):
            end = start + len(list(own))
            equity, realized, unrealized, fees, traded = (c[start:end] for c in columns)
            found[account_id] = (stamps[start:end], list(assets[start:end]), equity, realized,
                                 unrealized, fees, traded)  # fmt: skip
            start = end
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


async def equity_before(
    conn: AsyncConnection, account_ids: Iterable[str], moment: datetime
) -> dict[str, tuple[str, Decimal]]:
    """(valuation asset, equity) of each of these accounts' last snapshot taken before
    `moment`, for those that have one."""
    snaps = portfolio_snapshots
    ids = list(account_ids)
    found: dict[str, tuple[str, Decimal]] = {}
    for chunk in in_chunks(ids):
        last = (
            select(snaps.c.account_id, func.max(snaps.c.taken_at).label("taken_at"))
            .where(snaps.c.account_id.in_(chunk))
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
        taken = as_utc(row.taken_at)
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
