from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers import require_postgres, require_redis, tansu_broker


@pytest.fixture(scope="session")
def redis_url() -> str:
    return require_redis()


@pytest.fixture(scope="session")
def postgres_url() -> str:
    return require_postgres()


@pytest.fixture(scope="session")
def kafka_bootstrap() -> Iterator[str]:
    with tansu_broker() as address:
        yield address
