"""The portfolio service's saved books, one row per account: an opaque state (the
service's codec) and a version that every save raises, so two instances that both
believe they own an account cannot overwrite each other unnoticed."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime

from sqlalchemy import BigInteger, LargeBinary, String, Table, and_, column, select, update, values
from sqlalchemy.dialects.postgresql import Insert as PostgresInsert
from sqlalchemy.dialects.postgresql import insert as postgres_insert
from sqlalchemy.dialects.sqlite import Insert as SqliteInsert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
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
    them.

    Two statements per 500 accounts, however many change in a batch: the new rows in
    one INSERT ... ON CONFLICT DO NOTHING, the others in one UPDATE ... FROM (VALUES
    ...), each returning the rows it wrote; an account missing from the answer is a
    conflict. (One statement per account cost the portfolio a round trip per account
    and batch: at 1,000 accounts it was most of a batch's time on SQLite.)"""
    now = datetime.now(UTC)
    conflicts: set[str] = set()
    new = [(account_id, state) for account_id, version, state in saves if version == 0]
    for chunk in in_chunks(new):
        rows = [{"account_id": a, "version": 1, "state": s, "updated_at": now} for a, s in chunk]
        insert_new = (
            _insert(conn)(books)
            .values(rows)
            .on_conflict_do_nothing(index_elements=[books.c.account_id])
        )
        written = set((await conn.execute(insert_new.returning(books.c.account_id))).scalars())
        conflicts.update(a for a, _ in chunk if a not in written)
    stored = [save for save in saves if save[1] != 0]
    for saves_chunk in in_chunks(stored):
        saved = values(
            column("account_id", String), column("version", BigInteger),
            column("state", LargeBinary), name="saved",
        ).data(list(saves_chunk)).cte("saved")  # fmt: skip
        update_rows = (
            update(books)
            .where(
                and_(books.c.account_id == saved.c.account_id, books.c.version == saved.c.version)
            )
            .values(version=saved.c.version + 1, state=saved.c.state, updated_at=now)
            .returning(books.c.account_id)
        )
        written = set((await conn.execute(update_rows)).scalars())
        conflicts.update(a for a, _, _ in saves_chunk if a not in written)
    return conflicts


def _insert(conn: AsyncConnection) -> Callable[[Table], SqliteInsert | PostgresInsert]:
    """The dialect's INSERT, which has ON CONFLICT."""
    return postgres_insert if conn.dialect.name == "postgresql" else sqlite_insert
