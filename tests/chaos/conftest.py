from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest


@pytest.fixture
async def database_url(postgres_url: str) -> AsyncIterator[str]:
    """A fresh PostgreSQL database for the run (the services share it)."""
    name = f"tw_chaos_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_url, timeout=5)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()
