"""Alembic environment: migrations run on the connection `Database.migrate` hands in,
or, from the `alembic` command line, on `sqlalchemy.url` / TRADEWIND_DATABASE_URL."""

from __future__ import annotations

import asyncio
import os
from typing import Any

from alembic import context
from sqlalchemy.ext.asyncio import create_async_engine

from tradewind.store.schema import metadata


def _run(connection: Any) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite has no ALTER
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_from_url() -> None:
    from tradewind.store.database import async_url, postgres_tls

    url = context.config.get_main_option("sqlalchemy.url") or os.environ.get(
        "TRADEWIND_DATABASE_URL", "sqlite:///./tradewind.db"
    )

    async def run() -> None:
        engine_url, tls = postgres_tls(async_url(url))
        connect_args = {} if tls is None else {"ssl": tls}
        engine = create_async_engine(engine_url, connect_args=connect_args)
        async with engine.begin() as conn:
            await conn.run_sync(_run)
        await engine.dispose()

    asyncio.run(run())


connection = context.config.attributes.get("connection")
if connection is not None:
    _run(connection)
else:
    _run_from_url()
