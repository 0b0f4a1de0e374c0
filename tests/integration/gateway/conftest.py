from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.integration.gateway.support import (
    PG_SCHEMAS,
    Api,
    api_on,
    gateway_state,
    new_exchange,
)
from tests.servers import migrated_database
from tradewind.store.database import Database
from tradewind.venues.simulated.exchange import SimulatedExchange


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database: a SQLite file, or a fresh schema in PostgreSQL."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    async with migrated_database(request.param, tmp_path, url) as (database, schema):
        if schema is not None:
            PG_SCHEMAS[id(database)] = schema  # for the canary test's dump
        try:
            yield database
        finally:
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
