"""The platform follows its servers' failovers without losing what it was told is
stored: the cache and the Redis Streams bus through Redis Sentinel when the Redis
primary dies and a replica is promoted, and the database through a multi-host URL when
the PostgreSQL primary dies and its synchronous standby is promoted.

Waits are a bounded number of attempts, never a comparison of clocks: a failover here
takes a few seconds (Sentinel: DOWN_AFTER_MS, agreement, promotion).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError

from tests.ha_servers import postgres_primary_and_standby, redis_sentinel_group
from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.factory import open_bus
from tradewind.cache.factory import open_cache
from tradewind.domain.events import TradeTick
from tradewind.domain.model import Instrument, Side
from tradewind.errors import BusUnavailable
from tradewind.runtime.settings import Settings, check_reachable
from tradewind.security.redis_tls import SentinelGroup, parse_redis_url
from tradewind.store import trades
from tradewind.store.database import Database, async_url

T = TypeVar("T")
BTC = Instrument.parse("sim", "BTC/USDT")
#: Attempts (one every RETRY_PAUSE_S, plus the attempt's own retries) before a client
#: must work again after its server was killed: far more than a failover needs.
ATTEMPTS = 120
RETRY_PAUSE_S = 0.25


async def until_it_works(
    attempt: Callable[[], Awaitable[T]], failures: tuple[type[BaseException], ...]
) -> T:
    """`attempt()`'s result once it stops raising `failures`; at most ATTEMPTS tries."""
    for _ in range(ATTEMPTS - 1):
        try:
            return await attempt()
        except failures:
            await asyncio.sleep(RETRY_PAUSE_S)
    return await attempt()


def tick(seq: int) -> Envelope:
    payload = TradeTick(
        instrument=BTC,
        price=Decimal("100.5"),
        quantity=Decimal("0.01"),
        aggressor=Side.BUY,
        trade_id=str(seq),
        ts_ns=seq,
    )
    return envelope(payload, f"key-{seq % 7}")


# --- the URLs ------------------------------------------------------------------------


def test_a_sentinel_url_names_the_sentinels_and_keeps_the_password_for_the_master() -> None:
    options = parse_redis_url(
        "rediss://:s3cret@10.0.0.1,10.0.0.2:26380/2?sentinel_master=main&ssl_ca_certs=/ca.pem"
    )
    assert options["sentinels"] == SentinelGroup(
        "main",
        (
            "rediss://10.0.0.1:26379?ssl_ca_certs=%2Fca.pem",
            "rediss://10.0.0.2:26380?ssl_ca_certs=%2Fca.pem",
        ),
    )
    assert options["password"] == "s3cret" and options["db"] == 2
    assert options["ssl_ca_certs"] == "/ca.pem" and "host" not in options


def test_several_redis_hosts_are_refused_unless_they_are_sentinels() -> None:
    with pytest.raises(ValueError, match=r"or Sentinels with \?sentinel_master=NAME"):
        Settings(cache_url="redis://10.0.0.1:6379,10.0.0.2:6379/0")
    url = "redis://10.0.0.1:26379,10.0.0.2:26379/0?sentinel_master=main"
    assert Settings(cache_url=url, bus_url=f"{url}&min_replicas=1").cache_url == url


def test_a_postgres_url_with_several_hosts_asks_for_the_primary() -> None:
    assert async_url("postgresql://u@h1:5432,h2:5433/db") == (
        "postgresql+asyncpg://u@/db?host=h1%3A5432&host=h2%3A5433&target_session_attrs=read-write"
    )
    assert async_url("postgresql://u@h1,h2/db?target_session_attrs=any") == (
        "postgresql+asyncpg://u@/db?host=h1&host=h2&target_session_attrs=any"
    )


# --- Redis: cache and bus through Sentinel ---------------------------------------------


@pytest.mark.servers
async def test_the_cache_follows_a_sentinel_failover_and_keeps_what_the_replica_held(
    tmp_path: Path,
) -> None:
    with redis_sentinel_group(tmp_path) as group:
        await check_reachable(Settings(cache_url=group.url, bus_url=group.url))
        cache = open_cache(f"{group.url}&prefix=ha:")
        await cache.start()
        try:
            await cache.put_many({"before": b"1"})
            replica = aioredis.Redis(host="127.0.0.1", port=group.replicas[0].port)
            try:
                await until_it_works(lambda: _expect(replica.get("ha:before"), b"1"), (_No,))
            finally:
                await replica.aclose()
            old_master = group.master_port()
            group.kill_primary()

            async def round_trip() -> list[bytes | None]:
                await cache.put_many({"after": b"2"})
                return await cache.get_many(["before", "after"])

            assert await until_it_works(round_trip, (RedisError, OSError)) == [b"1", b"2"]
            assert group.master_port() == group.replicas[0].port != old_master
        finally:
            await cache.close()


@pytest.mark.servers
async def test_the_bus_delivers_every_acknowledged_event_across_a_sentinel_failover(
    tmp_path: Path,
) -> None:
    """With min_replicas=1 a publish returns once a replica holds its events, so the
    replica Sentinel promotes (the one furthest ahead) has every acknowledged event.
    Publishing goes on through the failover; only events whose publish returned count."""
    topic = f"t-{uuid.uuid4().hex[:10]}"
    with redis_sentinel_group(tmp_path, replicas=2) as group:
        bus = open_bus(f"{group.url}&min_replicas=1&block_ms=50&lease_ms=1500", partitions=4)
        await bus.start()
        received: set[str] = set()

        async def handle(batch: Sequence[Envelope]) -> None:
            received.update(_trade_id(e) for e in batch)

        try:
            await bus.subscribe([topic], "ha-readers", handle)
            acknowledged: list[str] = []
            for seq in range(100):
                await bus.publish(topic, tick(seq))
                acknowledged.append(str(seq))
            old_master = group.master_port()
            group.kill_primary()
            for seq in range(100, 200):
                await until_it_works(lambda s=seq: bus.publish(topic, tick(s)), (BusUnavailable,))
                acknowledged.append(str(seq))
            assert group.master_port() not in (None, old_master)

            async def all_delivered() -> None:
                await _expect(_now(set(acknowledged) - received), set())

            await until_it_works(all_delivered, (_No,))
        finally:
            await bus.close()


@pytest.mark.servers
async def test_a_publish_that_too_few_replicas_confirm_is_unavailable(tmp_path: Path) -> None:
    with redis_sentinel_group(tmp_path) as group:
        bus = open_bus(f"{group.url}&min_replicas=2", partitions=2)
        await bus.start()
        try:
            with pytest.raises(BusUnavailable, match="reached 1 of min_replicas=2"):
                await bus.publish("t", tick(1))
        finally:
            await bus.close()


# --- PostgreSQL: a multi-host URL and a promoted standby ---------------------------------


@pytest.mark.servers
async def test_the_database_follows_the_promoted_standby_and_keeps_every_committed_order(
    tmp_path: Path,
) -> None:
    with postgres_primary_and_standby(tmp_path) as pair:
        database = Database(pair.url)
        try:
            await database.migrate()
            committed: list[str] = []
            for n in range(20):
                async with database.transaction() as conn:
                    await trades.upsert_order(conn, _order(f"before-{n}"))
                committed.append(f"before-{n}")
            await asyncio.to_thread(pair.fail_over)  # kill -9 the primary, promote the standby

            async def write_after() -> None:
                async with database.transaction() as conn:
                    await trades.upsert_order(conn, _order("after"))

            await until_it_works(write_after, (DBAPIError, OSError))
            committed.append("after")
            async with database.read() as conn:
                stored = await trades.list_orders(conn, ["ha"], limit=1000)
                server = await conn.exec_driver_sql("SELECT inet_server_port()")
                port = server.scalar()
            assert sorted(o.client_order_id for o in stored) == sorted(committed)
            assert port == pair.standby.port
        finally:
            await database.close()


def _order(client_order_id: str) -> trades.OrderRecord:
    now = datetime.now(UTC)
    return trades.OrderRecord(
        client_order_id=client_order_id, account_id="ha", bot_id="b1", venue="sim",
        symbol="BTC/USDT", side="BUY", order_type="LIMIT", time_in_force="GTC",
        quantity=Decimal("0.5"), price=Decimal("100.25"), state="sent",
        filled_quantity=Decimal(0), average_price=None, venue_order_id=None, reason="",
        created_at=now, updated_at=now,
    )  # fmt: skip


class _No(Exception):
    """Not yet."""


async def _expect(value: Awaitable[Any], wanted: object) -> None:
    if (got := await value) != wanted:
        raise _No(f"{got!r}, not {wanted!r}")


async def _now(value: T) -> T:
    return value


def _trade_id(event: Envelope) -> str:
    assert isinstance(event.payload, TradeTick)
    return event.payload.trade_id
