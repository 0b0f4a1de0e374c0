"""Fixtures the services' integration tests share (a module may define its own)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.servers import migrated_database
from tradewind.bus.memory import MemoryBus
from tradewind.store.database import Database


@pytest.fixture
async def bus() -> AsyncIterator[MemoryBus]:
    """A started in-process bus of 4 partitions."""
    bus = MemoryBus(partitions=4)
    await bus.start()
    yield bus
    await bus.close()


@pytest.fixture(params=["sqlite", "postgresql"])
async def database(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty system of record: a SQLite file, or a fresh PostgreSQL schema."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    async with migrated_database(request.param, tmp_path, url) as (database, _schema):
        yield database
