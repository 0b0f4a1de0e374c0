"""The migrations build exactly the schema the code declares (`store/schema.py`), on
SQLite and on PostgreSQL: a column, key or index added to one and not the other fails
here, not in production."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import inspect, select, text

from tradewind.store.database import MIGRATIONS, Database
from tradewind.store.schema import fills, metadata


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


async def test_services_started_at_once_on_a_fresh_postgresql_all_migrate(
    postgres_url: str,
) -> None:
    # Six services starting together used to race to create the same tables
    # (UniqueViolation on pg_type); the advisory lock lines them up.
    name = f"tw_migrate_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_url, timeout=5)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = postgres_url.rsplit("/", 1)[0] + f"/{name}"
    databases = [Database(url) for _ in range(6)]
    try:
        async with asyncio.timeout(60):  # without the lock they could also deadlock
            await asyncio.gather(*(db.migrate() for db in databases))
        revisions = {await db.revision() for db in databases}
        assert revisions == {ScriptDirectory.from_config(_alembic_config()).get_current_head()}
    finally:
        for db in databases:
            await db.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


def test_db_upgrade_migrates_once_and_then_finds_nothing_to_do(tmp_path: Path) -> None:
    env = {**os.environ, "TRADEWIND_DATABASE_URL": f"sqlite:///{tmp_path / 'tw.db'}"}
    command = [sys.executable, "-m", "tradewind.cli", "db", "upgrade"]
    first = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    assert "(was empty)" in first.stdout
    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert again.returncode == 0 and "nothing to do" in again.stdout


def _alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def test_bot_snapshots_are_indexed_by_bot_and_time_and_bots_keep_their_limit(
    db: Database,
) -> None:
    async with db.read() as conn:
        indexes = await conn.run_sync(lambda sync: inspect(sync).get_indexes("bot_snapshots"))
        columns = await conn.run_sync(lambda sync: inspect(sync).get_columns("bots"))
    assert {"name": "ix_bot_snapshots_bot_taken", "columns": ["bot_id", "taken_at"]} in [
        {"name": i["name"], "columns": i["column_names"]} for i in indexes
    ]
    assert {"max_drawdown", "max_var_95", "paused_reason"} <= {c["name"] for c in columns}
    assert await db.revision() == "0009"


async def test_fills_recorded_before_0009_are_taken_as_recorded_when_they_executed(
    tmp_path: Path,
) -> None:
    db = Database(f"sqlite:///{tmp_path / 'tw.db'}")
    executed = datetime(2026, 12, 1, 12, 0, 0, tzinfo=UTC)
    try:
        async with db.engine.begin() as conn:
            await conn.run_sync(lambda sync: _upgrade_to(sync, "0008"))
            await conn.execute(
                text(
                    "INSERT INTO fills (account_id, symbol, trade_id, client_order_id, side,"
                    " price, quantity, fee, fee_asset, liquidity, executed_at) VALUES"
                    " ('a', 'BTC/USDT', '1', 'c', 'BUY', '1', '1', '0', 'USDT', 'TAKER', :at)"
                ),
                {"at": executed.strftime("%Y-%m-%d %H:%M:%S.%f")},
            )
        await db.migrate()
        async with db.read() as conn:
            (recorded,) = (await conn.execute(select(fills.c.recorded_at))).scalars()
        assert recorded.replace(tzinfo=UTC) == executed
    finally:
        await db.close()


def _upgrade_to(sync_connection: Any, revision: str) -> None:
    config = _alembic_config()
    config.attributes["connection"] = sync_connection
    command.upgrade(config, revision)
