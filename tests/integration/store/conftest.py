from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.servers import migrated_database
from tradewind.store.database import Database


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Database]:
    """A migrated, empty database: a SQLite file, or a fresh schema in PostgreSQL."""
    url = request.getfixturevalue("postgres_url") if request.param == "postgresql" else None
    async with migrated_database(request.param, tmp_path, url) as (database, _schema):
        yield database
