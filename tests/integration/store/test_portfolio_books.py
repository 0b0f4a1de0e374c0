"""The portfolio's saved books (`store.portfolio_books`) on SQLite and PostgreSQL: a batch
of accounts is saved in one statement (per 500 accounts), and each save is still a
compare-and-set on its row's version, refused for the accounts another writer moved on."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from tradewind.store.database import Database
from tradewind.store.portfolio_books import load_books, save_books


@contextmanager
def statements_counted(db: Database) -> Iterator[list[str]]:
    """The SQL statements sent while inside (an executemany counts once)."""
    sent: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        sent.append(statement)

    event.listen(db.engine.sync_engine, "before_cursor_execute", count)
    try:
        yield sent
    finally:
        event.remove(db.engine.sync_engine, "before_cursor_execute", count)


async def test_a_batch_of_accounts_is_saved_in_one_statement_not_one_per_account(
    db: Database,
) -> None:
    accounts = [f"a{i}" for i in range(60)]
    with statements_counted(db) as sent:
        async with db.transaction() as conn:
            first = await save_books(conn, [(a, 0, b"one") for a in accounts])
    assert first == set()
    assert len([s for s in sent if "portfolio_books" in s]) == 1

    with statements_counted(db) as sent:
        async with db.transaction() as conn:
            again = await save_books(conn, [(a, 1, b"two " + a.encode()) for a in accounts])
    assert again == set()
    assert len([s for s in sent if "portfolio_books" in s]) == 1

    async with db.read() as conn:
        saved = await load_books(conn, accounts)
    assert saved == {a: (2, b"two " + a.encode()) for a in accounts}


async def test_saves_over_rows_moved_on_are_refused_and_the_rest_are_written(
    db: Database,
) -> None:
    async with db.transaction() as conn:
        await save_books(conn, [("taken", 0, b"theirs"), ("ahead", 0, b"theirs")])
        await save_books(conn, [("ahead", 1, b"theirs again")])  # now at version 2
        await save_books(conn, [("mine", 0, b"v1")])

    async with db.transaction() as conn:
        conflicts = await save_books(
            conn,
            [
                ("taken", 0, b"ours"),  # stored meanwhile by another writer
                ("ahead", 1, b"ours"),  # saved twice since we read version 1
                ("mine", 1, b"v2"),  # still at the version we hold
                ("fresh", 0, b"v1"),  # not stored yet
            ],
        )

    assert conflicts == {"taken", "ahead"}
    async with db.read() as conn:
        saved = await load_books(conn, ["taken", "ahead", "mine", "fresh"])
    assert saved == {
        "taken": (1, b"theirs"),
        "ahead": (2, b"theirs again"),
        "mine": (2, b"v2"),
        "fresh": (1, b"v1"),
    }
