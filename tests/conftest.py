from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from tests.network_guard import network_guard
from tests.servers import require_postgres, require_redis, tansu_broker


@pytest.fixture(scope="session", autouse=True)
def no_real_network() -> Iterator[None]:
    """No test reaches a host off this machine (a real exchange above all): see
    tests/network_guard.py."""
    with network_guard():
        yield


@pytest.fixture(scope="session")
def redis_url() -> str:
    return require_redis()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return require_postgres()


@pytest.fixture
async def database_url(postgres_url: str) -> AsyncIterator[str]:
    """A fresh PostgreSQL database for a run of the distributed platform (its services
    share it), dropped afterwards."""
    name = f"tw_run_{uuid.uuid4().hex[:10]}"
    admin = await asyncpg.connect(postgres_url, timeout=5)
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield postgres_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    with tansu_broker() as address:
        yield address


def _hypothesis_profiles() -> None:
    from hypothesis import HealthCheck, settings

    settings.register_profile(
        "ci", derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow]
    )
    settings.register_profile("dev", deadline=None)
    settings.load_profile("ci" if os.environ.get("CI", "").lower() == "true" else "dev")


_hypothesis_profiles()
