"""The bots' PnL series (`bot_snapshots`): one row a minute per bot while its PnL
changes, written by the analytics service (and the lost ones again by `tradewind
analytics rebuild`), read by the API and by an analytics instance that meets the bot
(docs/analytics.md, "Bots"). Thinned with age with the accounts'
valuations (`snapshot_thinning.THINNED`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tradewind.domain.time_units import datetime_from_ns
from tradewind.store.database import in_chunks, ns_of
from tradewind.store.schema import bot_snapshots as table


@dataclass(frozen=True)
class BotSnapshot:
    """One minute of a bot's PnL series (`bot_snapshots`), in `quote`."""

    bot_id: str
    account_id: str
    ts_ns: int
    quote: str
    pnl: Decimal
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees: Decimal
    account_equity: Decimal | None


async def insert(conn: AsyncConnection, snapshots: Iterable[BotSnapshot]) -> None:
    rows = [
        {
            "bot_id": s.bot_id, "account_id": s.account_id,
            "taken_at": datetime_from_ns(s.ts_ns), "quote": s.quote,
            "pnl": s.pnl, "realized_pnl": s.realized_pnl, "unrealized_pnl": s.unrealized_pnl,
            "fees": s.fees, "account_equity": s.account_equity,
        }
        for s in snapshots
    ]  # fmt: skip
    if rows:
        await conn.execute(table.insert(), rows)


async def since(
    conn: AsyncConnection, bot_ids: Iterable[str], since: datetime
) -> dict[str, list[BotSnapshot]]:
    """Per bot, its snapshots taken at or after `since`, oldest first (an analytics
    instance reads its window back)."""
    return await between(conn, bot_ids, since, None)


def _bot_snapshot(row: Any) -> BotSnapshot:
    return BotSnapshot(
        bot_id=row.bot_id, account_id=row.account_id, ts_ns=ns_of(row.taken_at),
        quote=row.quote, pnl=row.pnl, realized_pnl=row.realized_pnl,
        unrealized_pnl=row.unrealized_pnl, fees=row.fees, account_equity=row.account_equity,
    )  # fmt: skip


async def series(
    conn: AsyncConnection, bot_id: str, since: datetime, until: datetime, *, limit: int
) -> list[BotSnapshot]:
    """The bot's snapshots taken in [`since`, `until`], oldest first, at most `limit`
    (the newest kept)."""
    snaps = table
    query = (
        select(snaps)
        .where(snaps.c.bot_id == bot_id, snaps.c.taken_at >= since, snaps.c.taken_at <= until)
        .order_by(snaps.c.taken_at.desc(), snaps.c.id.desc())
        .limit(limit)
    )
    return [_bot_snapshot(row) for row in reversed((await conn.execute(query)).all())]


async def between(
    conn: AsyncConnection, bot_ids: Iterable[str], since: datetime, until: datetime | None
) -> dict[str, list[BotSnapshot]]:
    """Per bot, its snapshots taken in [`since`, `until`] (None: no end), oldest first (a
    rebuild reads what the live service wrote, to fill only the holes)."""
    ids = list(dict.fromkeys(bot_ids))
    snaps = table
    found: dict[str, list[BotSnapshot]] = {}
    for chunk in in_chunks(ids):
        query = select(snaps).where(snaps.c.bot_id.in_(chunk), snaps.c.taken_at >= since)
        if until is not None:
            query = query.where(snaps.c.taken_at <= until)
        query = query.order_by(snaps.c.bot_id, snaps.c.taken_at, snaps.c.id)
        for row in (await conn.execute(query)).all():
            found.setdefault(row.bot_id, []).append(_bot_snapshot(row))
    return found


async def last_before(
    conn: AsyncConnection, bot_ids: Iterable[str], moment: datetime
) -> dict[str, BotSnapshot]:
    """Per bot, its newest snapshot taken before `moment`, for those that have one (the
    PnL a rebuild's first minute is compared with)."""
    ids = list(dict.fromkeys(bot_ids))
    snaps = table
    found: dict[str, BotSnapshot] = {}
    for chunk in in_chunks(ids):
        rank = (
            func.row_number()
            .over(
                partition_by=snaps.c.bot_id, order_by=(snaps.c.taken_at.desc(), snaps.c.id.desc())
            )
            .label("rank")
        )
        ranked = (
            select(snaps, rank)
            .where(snaps.c.bot_id.in_(chunk), snaps.c.taken_at < moment)
            .subquery()
        )
        for row in (await conn.execute(select(ranked).where(ranked.c.rank == 1))).all():
            found[row.bot_id] = _bot_snapshot(row)
    return found
