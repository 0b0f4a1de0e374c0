from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import pytest

from tests.integration.gateway.support import (
    PG_SCHEMAS,
    Api,
    api_on,
    gateway_state,
    new_exchange,
)
from tradewind.store.database import Database
from tradewind.venues.simulated.exchange import SimulatedExchange


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database: a SQLite file, or a fresh schema in PostgreSQL."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'tradewind.db'}")
        await database.migrate()
        yield database
        await database.close()
        return
    url = request.getfixturevalue("postgres_url")
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(url, timeout=5)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    database = Database(url, schema=schema)
    PG_SCHEMAS[id(database)] = schema  # for the canary test's dump
    try:
        await database.migrate()
        yield database
    finally:
        await database.close()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()
        PG_SCHEMAS.pop(id(database), None)


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    database = Database(f"sqlite:///{tmp_path / 'tradewind.db'}")
    await database.migrate()
    yield database
    await database.close()


@pytest.fixture
def exchange() -> SimulatedExchange:
    return new_exchange()


@pytest.fixture
async def api(db: Database, exchange: SimulatedExchange) -> AsyncIterator[Api]:
    """The gateway on SQLite and on PostgreSQL."""
    async with api_on(gateway_state(db, exchange), exchange) as client:
        yield client


@pytest.fixture
async def sqlite_api(sqlite_db: Database, exchange: SimulatedExchange) -> AsyncIterator[Api]:
    """The gateway on SQLite only, for behaviour that does not depend on the database."""
    async with api_on(gateway_state(sqlite_db, exchange), exchange) as client:
        yield client
