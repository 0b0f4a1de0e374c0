"""The migrations build exactly the schema the code declares (`store/schema.py`), on
SQLite and on PostgreSQL: a column, key or index added to one and not the other fails
here, not in production."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from tradewind.store.database import Database
from tradewind.store.schema import metadata


async def test_the_migrated_schema_is_the_declared_one(db: Database) -> None:
    async with db.read() as conn:
        differences = await conn.run_sync(
            lambda sync: compare_metadata(MigrationContext.configure(sync), metadata)
        )
    assert differences == []


async def test_fills_are_keyed_by_account_symbol_and_trade_id(db: Database) -> None:
    # Trade ids are unique per symbol only: one account's trade 27 on two markets are two
    # fills, and the second must not be taken for the first.
    async with db.read() as conn:
        key = await conn.run_sync(lambda sync: inspect(sync).get_pk_constraint("fills"))
    assert key["constrained_columns"] == ["account_id", "symbol", "trade_id"]
