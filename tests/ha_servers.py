"""Replicated servers on free ports of loopback, for the failover tests: a Redis primary
with replicas watched by three Sentinels, and a PostgreSQL primary with a synchronous
streaming standby that a test promotes, as a failover manager would. They are the chaos
run's (`tradewind.chaos.redis_ha`, `tradewind.chaos.postgres`); here a missing binary
fails the run under CI=true and skips elsewhere, while a server that is installed but
does not start is an error.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from tests.tls_servers import require_installed
from tradewind.chaos import postgres, redis_ha
from tradewind.chaos.postgres import PostgresPair
from tradewind.chaos.redis_ha import RedisSentinelGroup


@contextlib.contextmanager
def redis_sentinel_group(
    directory: Path, *, replicas: int = 1, bind: tuple[str, ...] = ("127.0.0.1",)
) -> Iterator[RedisSentinelGroup]:
    """`tradewind.chaos.redis_ha.redis_sentinel_group` on `bind`."""
    require_installed(redis_ha.find_redis)
    with redis_ha.redis_sentinel_group(directory, replicas=replicas, bind=bind) as group:
        yield group


@contextlib.contextmanager
def postgres_primary_and_standby(
    directory: Path, listen: tuple[str, ...] = ("127.0.0.1",)
) -> Iterator[PostgresPair]:
    """`tradewind.chaos.postgres.postgres_primary_and_standby` on `listen`."""
    require_installed(postgres.find_postgres)
    with postgres.postgres_primary_and_standby(directory, listen) as pair:
        yield pair
