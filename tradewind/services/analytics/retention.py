"""The series' retention: recorded valuations thinned with age (minutes, then hours,
then days), so the record of 10,000 accounts does not grow by 14 million rows a day for
ever; the bots' PnL series (`bot_snapshots`) the same way. The API's
`resolution=minute` over an old window then sees one point an hour, filled flat between
(docs/analytics.md)."""

from __future__ import annotations

from datetime import datetime, timedelta

from tradewind.domain.time_units import EPOCH
from tradewind.store import snapshot_thinning
from tradewind.store.database import Database

HOUR_S = 3_600
DAY_S = 86_400


def _floor(moment: datetime, bucket_s: int) -> datetime:
    seconds = int((moment - EPOCH).total_seconds()) // bucket_s * bucket_s
    return EPOCH + timedelta(seconds=seconds)


async def thin_valuations(
    database: Database,
    now: datetime,
    *,
    minutes_kept_days: int,
    hours_kept_days: int,
    since: datetime | None = None,
) -> int:
    """Thin what aged past each boundary since `since` (None: all of the past), in the
    accounts' valuations and the bots' PnL series (`snapshot_thinning.THINNED`), to one an hour,
    then one a day; returns how many were deleted. Bands start and end
    on whole hours / days, so no bucket is cut in two."""
    deleted = 0
    for kept_days, bucket_s in ((minutes_kept_days, HOUR_S), (hours_kept_days, DAY_S)):
        before = _floor(now - timedelta(days=kept_days), bucket_s)
        start = EPOCH if since is None else _floor(since - timedelta(days=kept_days), bucket_s)
        if start >= before:
            continue
        for table, key in snapshot_thinning.THINNED:
            async with database.transaction() as conn:
                deleted += await snapshot_thinning.thin_snapshots(
                    conn, since=start, before=before, bucket_s=bucket_s, table=table, key=key
                )
    return deleted
