"""What the Redis Streams bus does beyond the shared contract, against a real Redis."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from decimal import Decimal
from typing import Any

import pytest
import redis.asyncio as aioredis

from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.port import dead_letter_topic
from tradewind.bus.redis_streams import RedisStreamsBus, RedisStreamsSettings, partition_of
from tradewind.domain.events import DeadLetter, TradeTick
from tradewind.domain.model import Instrument, Side
from tradewind.errors import BusUnavailable

pytestmark = pytest.mark.servers

PARTITIONS = 4
BTC = Instrument.parse("sim", "BTC/USDT")


def tick(key: str, seq: int) -> Envelope:
    payload = TradeTick(
        instrument=BTC,
        price=Decimal("100.5"),
        quantity=Decimal("0.01"),
        aggressor=Side.BUY,
        trade_id=str(seq),
        ts_ns=seq,
    )
    return envelope(payload, key)


async def eventually(predicate: Callable[[], bool], within_s: float = 20.0) -> None:
    """Wait until `predicate()` holds; fail after `within_s` seconds."""
    for _ in range(int(within_s / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    assert predicate(), f"still false after {within_s} s"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


BusFactory = Callable[..., Awaitable[RedisStreamsBus]]


@pytest.fixture
async def new_bus(redis_url: str, prefix: str) -> AsyncIterator[BusFactory]:
    """Starts buses on the test's prefix (query parameters may be added); closes them."""
    buses: list[RedisStreamsBus] = []

    async def make(**params: object) -> RedisStreamsBus:
        query = "&".join(f"{k}={v}" for k, v in {"block_ms": 50, **params}.items())
        bus = RedisStreamsBus.from_url(
            f"{redis_url}?prefix={prefix}&{query}", partitions=PARTITIONS
        )
        await bus.start()
        buses.append(bus)
        return bus

    yield make
    for bus in reversed(buses):
        await bus.close()


@pytest.fixture
def topic() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


async def test_an_undecodable_entry_is_dead_lettered_with_its_reason_and_the_rest_flow(
    new_bus: BusFactory, redis: aioredis.Redis, prefix: str, topic: str
) -> None:
    bus = await new_bus()
    letters: list[Envelope] = []
    handled: list[Envelope] = []

    async def collect_letters(batch: Sequence[Envelope]) -> None:
        letters.extend(batch)

    async def handle(batch: Sequence[Envelope]) -> None:
        handled.extend(batch)

    await bus.subscribe([dead_letter_topic(topic)], "dlq-reader", collect_letters)
    await bus.subscribe([topic], "readers", handle)
    stream = f"{prefix}:{topic}:{partition_of('k', PARTITIONS)}"
    await bus.publish(topic, tick("k", 1))
    await redis.xadd(stream, {"e": b"\xc1 not msgpack"})
    await redis.xadd(stream, {"something": b"else"})
    await bus.publish(topic, tick("k", 2))

    await eventually(lambda: len(letters) == 2 and len(handled) == 2)
    assert [e.payload for e in handled] == [tick("k", 1).payload, tick("k", 2).payload]
    dead = [e.payload for e in letters if isinstance(e.payload, DeadLetter)]
    garbled = next(d for d in dead if d.raw == b"\xc1 not msgpack")
    fieldless = next(d for d in dead if d is not garbled)
    assert garbled.topic == topic and garbled.group == "readers"
    assert "cannot decode" in garbled.reason
    assert "cannot decode" in fieldless.reason and "'e'" in fieldless.reason
    info = await redis.xpending(stream, "readers")
    assert info["pending"] == 0, "the unreadable entries were not acknowledged"


def test_a_key_picks_the_same_partition_in_every_process() -> None:
    keys = [f"acct-{i}" for i in range(50)] + ["binance:BTC/USDT", "ünïcode-key", ""]
    code = (
        "import sys\n"
        "from tradewind.bus.redis_streams import partition_of\n"
        "print(','.join(str(partition_of(k, 16)) for k in sys.argv[1:]))\n"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", code, *keys],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        for seed in ("1", "2")
    }
    here = ",".join(str(partition_of(k, 16)) for k in keys)
    assert outputs == {here}
    assert len(set(here.split(","))) > 8, "keys should spread over the partitions"


async def test_events_published_from_another_process_land_in_the_stream_of_their_key(
    redis_url: str, redis: aioredis.Redis, prefix: str, topic: str
) -> None:
    keys = [f"acct-{i}" for i in range(20)]
    code = (
        "import asyncio, sys\n"
        "from decimal import Decimal\n"
        "from tradewind.bus.envelope import envelope\n"
        "from tradewind.bus.redis_streams import RedisStreamsBus\n"
        "from tradewind.domain.events import TradeTick\n"
        "from tradewind.domain.model import Instrument, Side\n"
        "async def main():\n"
        f"    bus = RedisStreamsBus.from_url(sys.argv[1], partitions={PARTITIONS})\n"
        "    await bus.start()\n"
        "    tick = TradeTick(instrument=Instrument.parse('sim', 'BTC/USDT'),\n"
        "        price=Decimal(1), quantity=Decimal(1), aggressor=Side.BUY,\n"
        "        trade_id='1', ts_ns=1)\n"
        "    await bus.publish_batch(sys.argv[2], [envelope(tick, k) for k in sys.argv[3:]])\n"
        "    await bus.close()\n"
        "asyncio.run(main())\n"
    )
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", code, f"{redis_url}?prefix={prefix}", topic, *keys,
        env={**os.environ, "PYTHONHASHSEED": "random"},
    )  # fmt: skip
    async with asyncio.timeout(60):
        assert await child.wait() == 0
    from tradewind.bus.envelope import decode

    for p in range(PARTITIONS):
        entries: Any = await redis.xrange(f"{prefix}:{topic}:{p}")
        landed = {decode(fields[b"e"]).key for _id, fields in entries}
        assert landed == {k for k in keys if partition_of(k, PARTITIONS) == p}


@pytest.fixture
def private_redis() -> Iterator[tuple[int, subprocess.Popen[bytes]]]:
    """A Redis of this test's own, with a password, that the test may kill."""
    port = free_port()
    server = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--requirepass", "s3cret-pw"],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.1):
                break
            assert server.poll() is None, "redis-server exited at start"
            time.sleep(0.05)
        yield port, server
    finally:
        server.kill()
        server.wait(10)


async def test_publishing_to_a_redis_that_went_away_raises_bus_unavailable(
    private_redis: tuple[int, subprocess.Popen[bytes]],
) -> None:
    port, server = private_redis
    bus = RedisStreamsBus.from_url(
        f"redis://:s3cret-pw@127.0.0.1:{port}/0?connect_timeout_s=1", partitions=PARTITIONS
    )
    await bus.start()
    await bus.publish("orders", tick("acct-1", 1))
    server.kill()
    server.wait(10)
    async with asyncio.timeout(30):
        with pytest.raises(BusUnavailable, match=f"127.0.0.1:{port}") as caught:
            await bus.publish("orders", tick("acct-1", 2))
    assert "s3cret-pw" not in str(caught.value)
    await bus.close()


async def test_an_unreachable_redis_error_names_the_address_but_never_the_password() -> None:
    bus = RedisStreamsBus.from_url("redis://user:hunter2@127.0.0.1:1/0?connect_timeout_s=1")
    async with asyncio.timeout(30):
        with pytest.raises(BusUnavailable) as caught:
            await bus.start()
    message = str(caught.value)
    assert message.startswith("cannot reach Redis at 127.0.0.1:1 for the bus: ")
    assert "hunter2" not in message and "hunter2" not in repr(bus.settings)


async def test_a_member_that_stops_heartbeating_loses_its_partitions_when_its_lease_ends(
    new_bus: BusFactory, redis: aioredis.Redis, prefix: str, topic: str
) -> None:
    lease_ms = 1200
    bus_a, bus_b = await new_bus(lease_ms=lease_ms), await new_bus(lease_ms=lease_ms)
    got_b: list[Envelope] = []

    async def ignore(batch: Sequence[Envelope]) -> None:
        pass

    async def collect(batch: Sequence[Envelope]) -> None:
        got_b.extend(batch)

    doomed = await bus_a.subscribe([topic], "leasing", ignore)
    await bus_b.subscribe([topic], "leasing", collect)
    lease_keys = [f"{prefix}:lease:{topic}:leasing:{p}" for p in range(PARTITIONS)]
    mine = doomed.member_id.encode()
    holders: list[Any] = []
    async with asyncio.timeout(10):  # until the two members hold half each
        while holders.count(mine) != PARTITIONS // 2 or None in holders:
            await asyncio.sleep(0.05)
            holders = await redis.mget(lease_keys)
    parts_of_a = {p for p, holder in enumerate(holders) if holder == mine}

    await doomed.kill()  # no more heartbeats, and the leases are not given back
    keys = [f"acct-{i}" for i in range(100)]
    keys_of_a = {k for k in keys if partition_of(k, PARTITIONS) in parts_of_a}
    await bus_b.publish_batch(topic, [tick(k, i) for i, k in enumerate(keys)])

    # a's lease was renewed at most lease/3 before the kill, so it had >= 2/3 to run:
    # halfway through, b must not read a's partitions yet.
    await asyncio.sleep(lease_ms / 1000 * 0.5)
    early = {e.key for e in got_b} & keys_of_a
    assert not early, f"b read a's partitions before a's leases ran out: {sorted(early)[:3]}"
    await eventually(lambda: {e.key for e in got_b} >= keys_of_a, within_s=10)
    now_held = await redis.mget(lease_keys)
    assert mine not in now_held and len(set(now_held)) == 1, "b should hold every lease"


async def test_a_joining_member_gets_its_share_within_a_read_not_a_heartbeat(
    new_bus: BusFactory, redis: aioredis.Redis, prefix: str, topic: str
) -> None:
    lease_ms = 9000  # a heartbeat every 3 s: the handover must not wait for one
    bus_a, bus_b = await new_bus(lease_ms=lease_ms), await new_bus(lease_ms=lease_ms)

    async def ignore(batch: Sequence[Envelope]) -> None:
        pass

    first = await bus_a.subscribe([topic], "joining", ignore)
    lease_keys = [f"{prefix}:lease:{topic}:joining:{p}" for p in range(PARTITIONS)]
    assert await redis.mget(lease_keys) == [first.member_id.encode()] * PARTITIONS
    second = await bus_b.subscribe([topic], "joining", ignore)
    holders: list[Any] = []
    for _ in range(100):  # at most ~2 s of polls: less than a heartbeat (3 s)
        holders = await redis.mget(lease_keys)
        if holders.count(second.member_id.encode()) == PARTITIONS // 2:
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError(f"the partitions did not move before a heartbeat: {holders}")
    assert holders.count(first.member_id.encode()) == PARTITIONS // 2


async def test_a_batch_published_over_every_partition_reaches_a_waiting_member_at_once(
    new_bus: BusFactory, redis: aioredis.Redis, topic: str
) -> None:
    """Redis wakes a blocked XREADGROUP with the first stream written to alone; the
    consumer reads what the same publish put in the others before handing over, so the
    batch is not split in two around the handler (a bar's intents arrived as 9, then 91)."""
    bus = await new_bus(block_ms=3_000)
    batches: list[list[str]] = []

    async def take(batch: Sequence[Envelope]) -> None:
        batches.append([e.key for e in batch])

    await bus.subscribe([topic], "waiting", take)

    async def blocked() -> bool:
        clients = await redis.client_list()
        return any(c["cmd"] == "xreadgroup" and "b" in c["flags"] for c in clients)

    for _ in range(250):  # the member's first reads (pending entries) answer at once
        if await blocked():
            break
        await asyncio.sleep(0.02)
    else:
        raise AssertionError("the member never waited on a blocking read")
    keys = [f"acct-{n}" for n in range(40)]
    assert {partition_of(k, PARTITIONS) for k in keys} == set(range(PARTITIONS))
    await bus.publish_batch(topic, [tick(k, n) for n, k in enumerate(keys)])
    await eventually(lambda: sum(map(len, batches)) == len(keys))
    assert len(batches) == 1, [len(b) for b in batches]
    assert sorted(batches[0]) == sorted(keys)


def test_our_url_parameters_are_checked_and_the_others_go_to_redis_py() -> None:
    settings = RedisStreamsSettings.from_url(
        "rediss://:p%40ss@cache.internal:7000/2?prefix=tw2&lease_ms=3000&ssl_cert_reqs=none"
    )
    assert (settings.prefix, settings.lease_ms, settings.block_ms) == ("tw2", 3000, 200)
    assert settings.address == "cache.internal:7000" and settings.password == "p@ss"
    assert settings.url == "rediss://:p%40ss@cache.internal:7000/2?ssl_cert_reqs=none"
    assert "p@ss" not in repr(settings)
    with pytest.raises(ValueError, match="lease_ms='soon'"):
        RedisStreamsSettings.from_url("redis://127.0.0.1:6379/0?lease_ms=soon")
    with pytest.raises(ValueError, match="block_ms='0'"):
        RedisStreamsSettings.from_url("redis://127.0.0.1:6379/0?block_ms=0")


async def test_an_empty_read_answered_under_a_new_lease_term_is_not_an_error(
    new_bus: BusFactory, topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    # The long chaos run (Redis, 200 bots) stopped execution's consumer for good: a read
    # that came back empty (None) while a lease changed term went to the "drop what is
    # no longer ours" path, which iterated over None; the heartbeat kept the leases, so
    # nobody read those partitions again.
    bus = await new_bus()
    got: list[Envelope] = []

    async def collect(batch: Sequence[Envelope]) -> None:
        got.extend(batch)

    sub = await bus.subscribe([topic], "terms", collect)
    leases = sub._leases  # type: ignore[attr-defined]
    real_term = leases.term
    calls = {"n": 0}

    def term_changing_once(unit: Any) -> int:
        # Each read asks every unit's term before and after it. The first read after
        # joining reads the pending entries (an answer at once, never None); the second
        # blocks for new ones and, with none published, comes back None: answer its
        # "after" with a new term, as if every lease had been claimed again meanwhile.
        calls["n"] += 1
        changed = 3 * PARTITIONS < calls["n"] <= 4 * PARTITIONS
        return int(real_term(unit)) + (1 if changed else 0)

    leases.term = term_changing_once
    await eventually(lambda: calls["n"] > 4 * PARTITIONS, within_s=5)
    leases.term = real_term
    await bus.publish_batch(topic, [tick(f"k{i}", i) for i in range(20)])
    await eventually(lambda: len(got) == 20, within_s=5)
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not errors, errors[0].getMessage()


async def test_a_consumer_failing_unexpectedly_retries_then_hands_its_partitions_over(
    new_bus: BusFactory, topic: str
) -> None:
    lease_ms = 1200
    bus_a, bus_b = await new_bus(lease_ms=lease_ms), await new_bus(lease_ms=lease_ms)
    got_a: list[Envelope] = []
    got_b: list[Envelope] = []

    async def collect_a(batch: Sequence[Envelope]) -> None:
        got_a.extend(batch)

    async def collect_b(batch: Sequence[Envelope]) -> None:
        got_b.extend(batch)

    a = await bus_a.subscribe([topic], "failing", collect_a)
    await bus_b.subscribe([topic], "failing", collect_b)
    await eventually(lambda: len(a.partitions()) == PARTITIONS // 2, within_s=10)
    real_read = a._read_batch  # type: ignore[attr-defined]
    failures = {"left": 1}

    async def failing_read(*args: Any) -> Any:
        if failures["left"] > 0:
            failures["left"] -= 1
            raise RuntimeError("a bug in reading")
        return await real_read(*args)

    a._read_batch = failing_read  # type: ignore[attr-defined]
    # One unexpected error: logged, and the consumer reads on.
    keys = [f"acct-{i}" for i in range(40)]
    await bus_b.publish_batch(topic, [tick(k, i) for i, k in enumerate(keys)])
    await eventually(lambda: len(got_a) + len(got_b) == 40, within_s=10)
    assert got_a and failures["left"] == 0

    # Failing every time: after a few retries it gives its partitions up to b, and says
    # so (the process runner exits 1 on it, to be restarted).
    assert a.failure is None
    failures["left"] = 10**6
    await eventually(lambda: not a.partitions(), within_s=15)
    assert a.failure is not None and "gave up" in a.failure
    await eventually(lambda: len(bus_b.subscriptions()[0].partitions()) == PARTITIONS, 15)
    got_b.clear()
    await bus_b.publish_batch(topic, [tick(k, i) for i, k in enumerate(keys)])
    await eventually(lambda: {e.key for e in got_b} == set(keys), within_s=10)
