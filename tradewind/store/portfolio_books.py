"""The portfolio service's saved books, one row per account: an opaque state (the
service's codec) and a version that every save raises, so two instances that both
believe they own an account cannot overwrite each other unnoticed."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import and_, insert, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from tradewind.store.database import in_chunks
from tradewind.store.schema import portfolio_books as books


async def load_books(
    conn: AsyncConnection, account_ids: Iterable[str]
) -> dict[str, tuple[int, bytes]]:
    """(version, state) of each of these accounts that has saved books."""
    ids = list(account_ids)
    found: dict[str, tuple[int, bytes]] = {}
    for chunk in in_chunks(ids):
        query = select(books.c.account_id, books.c.version, books.c.state).where(
            books.c.account_id.in_(chunk)
        )
        for account_id, version, state in (await conn.execute(query)).all():
            found[account_id] = (int(version), bytes(state))
    return found


async def saved_account_ids(conn: AsyncConnection) -> list[str]:
    """Every account that has saved books."""
    return list((await conn.execute(select(books.c.account_id))).scalars())


async def read_books(
    conn: AsyncConnection, account_ids: Iterable[str]
) -> dict[str, tuple[bytes, datetime]]:
    """(state, when saved) of each of these accounts that has saved books, for readers
    other than their writer."""
    ids = list(account_ids)
    found: dict[str, tuple[bytes, datetime]] = {}
    for chunk in in_chunks(ids):
        query = select(books.c.account_id, books.c.state, books.c.updated_at).where(
            books.c.account_id.in_(chunk)
        )
        for account_id, state, updated_at in (await conn.execute(query)).all():
            found[account_id] = (bytes(state), updated_at)
    return found


async def save_books(conn: AsyncConnection, saves: Sequence[tuple[str, int, bytes]]) -> set[str]:
    """Store each (account id, version it was loaded or last saved at, new state): the
    row becomes version + 1 where it still is at that version (0: not stored yet).
    Returns the accounts whose row had moved on (another writer): nothing is written for
    them."""
    now = datetime.now(UTC)
    conflicts: set[str] = set()
    for account_id, version, state in saves:
        if version == 0:
            try:
                async with conn.begin_nested():
                    await conn.execute(
                        insert(books).values(
                            account_id=account_id, version=1, state=state, updated_at=now
                        )
                    )
            except IntegrityError:
                conflicts.add(account_id)
            continue
        result = await conn.execute(
            update(books)
            .where(and_(books.c.account_id == account_id, books.c.version == version))
            .values(version=version + 1, state=state, updated_at=now)
        )
        if result.rowcount != 1:
            conflicts.add(account_id)
    return conflicts
