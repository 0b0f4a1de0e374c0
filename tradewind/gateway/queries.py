"""Queries the gateway needs that `tradewind.store` does not offer yet.

They belong in the store's repositories (`users.set_email`, `records.latest_snapshots`)
and live here only until the store's owner moves them; they touch the store's tables
through its schema, never by raw SQL text, so they run on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal

from sqlalchemy import and_, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tradewind.store import users
from tradewind.store.schema import portfolio_snapshots as snapshots
from tradewind.store.schema import users as users_table


async def set_user_email(
    conn: AsyncConnection, user_id: str, *, email_index: str, email_encrypted: str
) -> None:
    """Store a user's e-mail ciphertext and blind index (registration, key rotation)."""
    await conn.execute(
        update(users_table)
        .where(users_table.c.id == user_id)
        .values(email_index=email_index, email_encrypted=email_encrypted)
    )


async def find_user_by_email_indexes(
    conn: AsyncConnection, candidates: Sequence[str]
) -> users.UserRecord | None:
    """The user whose blind index is one of `candidates` (one per loaded master key).

    One query for all of them: looked up one by one, a key rotation re-indexing the row
    between two lookups would hide the user from both."""
    query = select(users_table.c.id).where(users_table.c.email_index.in_(list(candidates)))
    user_id = (await conn.execute(query.limit(1))).scalar_one_or_none()
    return None if user_id is None else await users.get_user(conn, user_id)


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
    newest = (
        select(snapshots.c.account_id, func.max(snapshots.c.id).label("id"))
        .where(snapshots.c.account_id.in_(list(account_ids)))
        .group_by(snapshots.c.account_id)
        .subquery()
    )
    query = select(snapshots).join(
        newest, and_(snapshots.c.account_id == newest.c.account_id, snapshots.c.id == newest.c.id)
    )
    found: dict[str, Snapshot] = {}
    for row in (await conn.execute(query)).mappings():
        taken = row["taken_at"]
        found[row["account_id"]] = Snapshot(
            account_id=row["account_id"],
            taken_at=taken if taken.tzinfo is not None else taken.replace(tzinfo=UTC),
            valuation_asset=row["valuation_asset"],
            equity=row["equity"],
            cash=row["cash"],
            realized_pnl=row["realized_pnl"],
            unrealized_pnl=row["unrealized_pnl"],
            fees=row["fees"],
            balances={asset: Decimal(value) for asset, value in row["balances"].items()},
        )
    return found
