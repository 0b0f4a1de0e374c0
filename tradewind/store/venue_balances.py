"""The last balances execution read from each account's venue, one row per (account,
venue, asset). Execution writes them in the transaction that stages the `BalanceUpdate`
events publishing them, so the table is never behind what the bus was told; a service
that takes an account over (risk) starts from them until fresh ones arrive.

A row only moves forward: a write older than the row (`ts_ns`) is ignored, so two
execution instances that both held an account for a moment cannot set it back.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import and_, bindparam, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tradewind.domain.events import BalanceUpdate
from tradewind.store.database import in_chunks
from tradewind.store.schema import venue_balances as table

_Key = tuple[str, str, str]  # (account id, venue, asset)


async def save_latest(conn: AsyncConnection, updates: Sequence[BalanceUpdate]) -> None:
    """Store each update where it is newer than the stored row (or there is none)."""
    latest: dict[_Key, BalanceUpdate] = {}
    for u in updates:
        key = (u.account_id, u.venue, u.asset)
        held = latest.get(key)
        if held is None or u.ts_ns >= held.ts_ns:
            latest[key] = u
    if not latest:
        return
    stored = await _stored_keys(conn, {key[0] for key in latest})
    fresh = [_insert_row(u) for key, u in latest.items() if key not in stored]
    known = [_update_row(u) for key, u in latest.items() if key in stored]
    if known:
        await conn.execute(_UPDATE_IF_NEWER, known)
    if not fresh:
        return
    try:
        async with conn.begin_nested():
            await conn.execute(table.insert(), fresh)
    except IntegrityError:  # another writer inserted some meanwhile: row by row
        for key, u in latest.items():
            if key in stored:
                continue
            result = await conn.execute(_UPDATE_IF_NEWER, [_update_row(u)])
            if result.rowcount:
                continue
            try:
                async with conn.begin_nested():
                    await conn.execute(table.insert(), [_insert_row(u)])
            except IntegrityError:
                pass  # a newer row won the race


async def load_latest(
    conn: AsyncConnection, account_ids: Iterable[str]
) -> dict[str, list[BalanceUpdate]]:
    """The stored balances of each of these accounts that has any."""
    ids = list(account_ids)
    found: dict[str, list[BalanceUpdate]] = {}
    for chunk in in_chunks(ids):
        query = select(table).where(table.c.account_id.in_(chunk))
        for row in (await conn.execute(query)).mappings():
            found.setdefault(row["account_id"], []).append(
                BalanceUpdate(
                    account_id=row["account_id"],
                    venue=row["venue"],
                    asset=row["asset"],
                    free=row["free"],
                    locked=row["locked"],
                    ts_ns=int(row["ts_ns"]),
                )
            )
    return found


_UPDATE_IF_NEWER = (
    update(table)
    .where(
        and_(
            table.c.account_id == bindparam("k_account"),
            table.c.venue == bindparam("k_venue"),
            table.c.asset == bindparam("k_asset"),
            table.c.ts_ns <= bindparam("k_ts"),
        )
    )
    .values(free=bindparam("v_free"), locked=bindparam("v_locked"), ts_ns=bindparam("k_ts"))
)


def _insert_row(u: BalanceUpdate) -> dict[str, object]:
    return {
        "account_id": u.account_id,
        "venue": u.venue,
        "asset": u.asset,
        "free": u.free,
        "locked": u.locked,
        "ts_ns": u.ts_ns,
    }


def _update_row(u: BalanceUpdate) -> dict[str, object]:
    return {
        "k_account": u.account_id,
        "k_venue": u.venue,
        "k_asset": u.asset,
        "k_ts": u.ts_ns,
        "v_free": u.free,
        "v_locked": u.locked,
    }


async def _stored_keys(conn: AsyncConnection, account_ids: set[str]) -> set[_Key]:
    ids = sorted(account_ids)
    keys: set[_Key] = set()
    for chunk in in_chunks(ids):
        query = select(table.c.account_id, table.c.venue, table.c.asset).where(
            table.c.account_id.in_(chunk)
        )
        keys.update((a, v, s) for a, v, s in (await conn.execute(query)).all())
    return keys
