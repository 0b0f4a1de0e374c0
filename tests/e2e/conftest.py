from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from tradewind.chaos.platform import serving_venue


@pytest.fixture
def venue_url(tmp_path: Path) -> Iterator[str]:
    """`tradewind venue serve` on a free port, publishing no rate limits."""
    with serving_venue(tmp_path, "--seed", "3") as url:
        yield url


@pytest.fixture
async def database_url(postgres_url: str) -> AsyncIterator[str]:
    """A fresh PostgreSQL database for the run (the services share it)."""
    name = f"tw_e2e_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_url, timeout=5)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
