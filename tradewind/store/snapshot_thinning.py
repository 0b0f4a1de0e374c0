"""The valuation series' retention in the store: thinning the accounts' valuations
(`portfolio_snapshots`) and the bots' PnL series (`bot_snapshots`) to the last snapshot
of each period. When and how coarse is the analytics service's policy
(`services/analytics/retention.py`, docs/analytics.md)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Table, delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from tradewind.domain.time_units import NS_PER_S
from tradewind.store.database import in_chunks, ns_of
from tradewind.store.schema import bot_snapshots, portfolio_snapshots

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
    for owners in in_chunks(accounts):
        rows = (
            await conn.execute(
                select(snaps.c.id, owner.label("owner"), snaps.c.taken_at)
                .where(*in_band, owner.in_(owners))
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
        for ids in in_chunks(doomed):
            await conn.execute(delete(snaps).where(snaps.c.id.in_(ids)))
        deleted += len(doomed)
    return deleted
