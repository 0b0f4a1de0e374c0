"""The listener contract (`Bus.listen`): one suite, run unchanged against every adapter
on real servers. See `tradewind/bus/port.py` for the semantics proven here.

Each test checks at the end that the listeners left nothing on the broker: no consumer
group on the memory bus's topics, none on the Redis streams (and no other key), and no
group the Kafka broker did not list before the test.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pytest

from tests.contract.test_bus_contract import Recorder, eventually, seq_of, tick
from tradewind.bus.envelope import Envelope
from tradewind.bus.factory import open_bus
from tradewind.bus.memory import MemoryBus
from tradewind.bus.port import Bus, ConsumerOptions, dead_letter_topic

pytestmark = pytest.mark.servers

PARTITIONS = 4
#: Keys that cover every partition on every adapter (checked by `sentinels`).
KEYS = [f"key-{i}" for i in range(24)]


@dataclass
class Broker:
    """One adapter's buses and what a test needs to look at on its broker."""

    kind: str
    make: Callable[[], Awaitable[Bus]]
    leftovers: Callable[[str], Awaitable[list[str]]]
    inject_garbage: Callable[[str], Awaitable[None]] | None


@pytest.fixture(params=["memory", "redis", "kafka"])
async def broker(request: pytest.FixtureRequest) -> AsyncIterator[Broker]:
    """Makes started buses of one adapter (several = several processes' views of one
    broker); all are closed after the test, then `leftovers` must be empty."""
    kind = request.param
    buses: list[Bus] = []
    cleanup: list[Callable[[], Awaitable[Any]]] = []
    if kind == "memory":
        shared = MemoryBus(partitions=PARTITIONS)
        await shared.start()

        async def make() -> Bus:
            return shared  # one process: every "instance" shares the in-process bus

        async def leftovers(topic: str) -> list[str]:
            known = shared._topics.get(topic)
            return [] if known is None else list(known.groups)

        yield Broker(kind, make, leftovers, None)
        await shared.close()
        return
    if kind == "redis":
        import redis.asyncio as aioredis

        prefix = f"test{uuid.uuid4().hex[:12]}"
        url = f"{request.getfixturevalue('redis_url')}?prefix={prefix}&block_ms=50"
        client = aioredis.Redis.from_url(request.getfixturevalue("redis_url"))

        async def redis_leftovers(topic: str) -> list[str]:
            found: list[str] = []
            streams = {f"{prefix}:{topic}:{p}".encode() for p in range(PARTITIONS)}
            async for key in client.scan_iter(f"{prefix}:*"):
                if key not in streams:
                    found.append(f"key {key.decode()}")
                elif key.startswith(f"{prefix}:{topic}:".encode()):
                    groups = await client.xinfo_groups(key)
                    found += [f"group {g['name'].decode()} on {key.decode()}" for g in groups]
            return found

        async def redis_garbage(topic: str) -> None:
            await client.xadd(f"{prefix}:{topic}:0", {"e": b"\xc1 not msgpack"})

        async def drop_keys() -> None:
            keys = [k async for k in client.scan_iter(f"{prefix}:*")]
            if keys:
                await client.delete(*keys)
            await client.aclose()

        cleanup.append(drop_keys)
        leftovers, garbage = redis_leftovers, redis_garbage
    else:
        from aiokafka import AIOKafkaProducer  # type: ignore[import-untyped]
        from aiokafka.admin import AIOKafkaAdminClient  # type: ignore[import-untyped]

        address = request.getfixturevalue("kafka_bootstrap")
        url = f"kafka://{address}"
        admin = AIOKafkaAdminClient(bootstrap_servers=address)
        await admin.start()
        cleanup.append(admin.close)
        before = {group[0] for group in await admin.list_consumer_groups()}

        async def kafka_leftovers(topic: str) -> list[str]:
            now = {group[0] for group in await admin.list_consumer_groups()}
            return sorted(f"group {name}" for name in now - before)

        async def kafka_garbage(topic: str) -> None:
            raw = AIOKafkaProducer(bootstrap_servers=address)
            await raw.start()
            try:
                await raw.send_and_wait(topic, b"\xc1 not msgpack", key=b"garbled")
            finally:
                await raw.stop()

        leftovers, garbage = kafka_leftovers, kafka_garbage

    async def make_bus() -> Bus:
        bus = open_bus(url, partitions=PARTITIONS)
        await bus.start()
        buses.append(bus)
        return bus

    yield Broker(kind, make_bus, leftovers, garbage)
    for bus in reversed(buses):
        await bus.close()
    for step in cleanup:
        await step()


@pytest.fixture
def topic() -> str:
    return f"l-{uuid.uuid4().hex[:10]}"


async def publish_sentinels(bus: Bus, topic: str) -> set[str]:
    """One event per key of `KEYS` (so on every partition); returns their ids."""
    assert {bus.partition_of(k) for k in KEYS} == set(range(PARTITIONS))
    sentinels = [tick(key, 1_000_000) for key in KEYS]
    await bus.publish_batch(topic, sentinels)
    return {e.event_id for e in sentinels}


def ids(events: Sequence[Envelope]) -> set[str]:
    return {e.event_id for e in events}


async def test_a_listener_starts_after_the_latest_event(broker: Broker, topic: str) -> None:
    """Events published before `listen` never arrive, every one published after does:
    once a sentinel of each partition arrived, an older event of that partition would
    have arrived before it (per-key order)."""
    bus = await broker.make()
    before = [tick(KEYS[i % len(KEYS)], i) for i in range(100)]
    await bus.publish_batch(topic, before)
    seen = Recorder()
    listener = await bus.listen([topic], "latest", seen.handle)
    after = [tick(KEYS[i % len(KEYS)], i) for i in range(100, 200)]
    await bus.publish_batch(topic, after)
    sentinels = await publish_sentinels(bus, topic)
    await eventually(lambda: ids(seen.events) >= sentinels)
    assert ids(seen.events) == ids(after) | sentinels
    assert listener.partitions() == frozenset(range(PARTITIONS))
    await listener.stop()
    assert await broker.leftovers(topic) == []


async def test_a_listener_from_the_oldest_replays_the_retained_events_first(
    broker: Broker, topic: str
) -> None:
    bus = await broker.make()
    before = [tick(KEYS[i % len(KEYS)], i) for i in range(100)]
    await bus.publish_batch(topic, before)
    seen = Recorder()
    listener = await bus.listen([topic], "oldest", seen.handle, start="oldest")
    after = [tick(KEYS[i % len(KEYS)], i) for i in range(100, 200)]
    await bus.publish_batch(topic, after)
    await eventually(lambda: ids(seen.events) >= ids(before) | ids(after))
    assert len(seen.events) == 200
    await listener.stop()
    assert await broker.leftovers(topic) == []


async def test_a_topic_that_does_not_exist_yet_is_read_once_it_does(
    broker: Broker, topic: str
) -> None:
    bus = await broker.make()
    seen = Recorder()
    listener = await bus.listen([f"{topic}.a", f"{topic}.b"], "early", seen.handle)
    sent = [tick(key, 1) for key in KEYS]
    await bus.publish_batch(f"{topic}.b", sent)
    await eventually(lambda: ids(seen.events) >= ids(sent))
    await listener.stop()


async def test_every_listener_receives_every_event_in_per_key_order(
    broker: Broker, topic: str
) -> None:
    """Two instances listening under one name, with small batches, while events of
    many keys are published concurrently: each gets all of them, each key in order."""
    buses = [await broker.make(), await broker.make()]
    recorders = [Recorder("a"), Recorder("b")]
    listeners = [
        await bus.listen([topic], "fan-out", r.handle, options=ConsumerOptions(max_batch=30))
        for bus, r in zip(buses, recorders, strict=True)
    ]
    per_key = 60

    async def publish_key(key: str) -> None:
        for start in range(0, per_key, 10):
            await buses[0].publish_batch(topic, [tick(key, s) for s in range(start, start + 10)])

    await asyncio.gather(*(publish_key(k) for k in KEYS))
    total = len(KEYS) * per_key
    for r in recorders:
        await eventually(lambda r=r: len(r.events) >= total)  # type: ignore[misc]
        assert len(r.events) == total and len(ids(r.events)) == total
        assert max(r.batches) <= 30
        by_key: dict[str, list[int]] = defaultdict(list)
        for env in r.events:
            by_key[env.key].append(seq_of(env))
        for key, seqs in by_key.items():
            assert seqs == list(range(per_key)), f"{key} out of order at {r.name}"
    for listener in listeners:
        await listener.stop()
    assert await broker.leftovers(topic) == []


async def test_stop_drains_and_kill_abandons_and_neither_leaves_anything_behind(
    broker: Broker, topic: str
) -> None:
    bus_a, bus_b = await broker.make(), await broker.make()
    started, finished, stuck = asyncio.Event(), asyncio.Event(), asyncio.Event()

    async def slow(batch: Sequence[Envelope]) -> None:
        started.set()
        await asyncio.sleep(0.3)
        finished.set()

    async def hang(batch: Sequence[Envelope]) -> None:
        stuck.set()
        await asyncio.Event().wait()  # never returns

    drained = await bus_a.listen([topic], "drained", slow)
    doomed = await bus_b.listen([topic], "doomed", hang)
    await bus_a.publish_batch(topic, [tick("one-key", i) for i in range(20)])
    async with asyncio.timeout(30):
        await started.wait()
        await stuck.wait()
    await drained.stop()
    assert finished.is_set(), "stop() returned before the batch in flight finished"
    await doomed.kill()
    assert drained.partitions() == doomed.partitions() == frozenset()
    assert await broker.leftovers(topic) == []
    assert not bus_a.subscriptions() and not bus_b.subscriptions()


async def test_a_failing_event_is_retried_then_skipped_not_dead_lettered(
    broker: Broker, topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    bus = await broker.make()
    handled: list[int] = []
    attempts_on_poison = 0

    async def fussy(batch: Sequence[Envelope]) -> None:
        nonlocal attempts_on_poison
        for env in batch:
            if seq_of(env) == 13:
                attempts_on_poison += 1
                raise ValueError("price 13 is unlucky")
        handled.extend(seq_of(e) for e in batch)

    options = ConsumerOptions(max_batch=10, max_attempts=3, retry_backoff_s=0.001)
    with caplog.at_level(logging.WARNING, logger="tradewind.bus"):
        await bus.listen([topic], "fussy", fussy, options=options)
        await bus.publish_batch(topic, [tick("same-key", i) for i in range(30)])
        await eventually(lambda: set(handled) >= set(range(30)) - {13})
    assert attempts_on_poison == 3 and 13 not in handled
    skipped = [r.getMessage() for r in caplog.records if "skipped" in r.getMessage()]
    assert len(skipped) == 1 and "ValueError: price 13 is unlucky" in skipped[0]
    # Nothing went to the dead-letter topic: replayed from its oldest event, it holds
    # only the sentinels published now.
    letters = Recorder()
    dlq = dead_letter_topic(topic)
    await bus.listen([dlq], "letters", letters.handle, start="oldest")
    sentinels = await publish_sentinels(bus, dlq)
    await eventually(lambda: ids(letters.events) >= sentinels)
    assert ids(letters.events) == sentinels


async def test_an_undecodable_event_is_skipped_and_the_rest_flow(
    broker: Broker, topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    if broker.inject_garbage is None:
        pytest.skip("the in-process bus carries objects, never bytes")
    bus = await broker.make()
    seen = Recorder()
    with caplog.at_level(logging.WARNING, logger="tradewind.bus"):
        await bus.listen([topic], "careful", seen.handle)
        await broker.inject_garbage(topic)
        sentinels = await publish_sentinels(bus, topic)
        await eventually(lambda: ids(seen.events) >= sentinels)
    assert ids(seen.events) == sentinels
    assert any("cannot decode event" in r.getMessage() for r in caplog.records)


async def test_lag_counts_what_a_blocked_listener_has_not_handled(
    broker: Broker, topic: str
) -> None:
    bus = await broker.make()
    gate = asyncio.Event()
    handled: list[Envelope] = []

    async def blocked(batch: Sequence[Envelope]) -> None:
        await gate.wait()
        handled.extend(batch)

    listener = await bus.listen([topic], "laggy", blocked, options=ConsumerOptions(max_batch=5))
    assert await listener.lag() == {topic: 0}
    await bus.publish_batch(topic, [tick(f"k{i % 3}", i) for i in range(30)])
    # Tansu's ListOffsets may fall short of the true end (see kafka_listener); the
    # highwater of a fetch makes up for it once the listener fetched.
    await poll_lag(listener, topic, lambda lag: 20 < lag <= 30)
    gate.set()
    await poll_lag(listener, topic, lambda lag: lag == 0)
    assert len(ids(handled)) == 30
    assert 0 <= listener.event_age_s()[topic] < 600


async def poll_lag(listener: Any, topic: str, good: Callable[[int], bool]) -> None:
    last = None
    try:
        async with asyncio.timeout(60):
            while not good(last := (await listener.lag())[topic]):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"lag still {last}") from None
