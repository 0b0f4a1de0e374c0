"""The bus contract: one suite, run unchanged against every adapter on real servers.

See `tradewind/bus/port.py` for the semantics proven here.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections import defaultdict
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from decimal import Decimal

import pytest

from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.factory import open_bus
from tradewind.bus.port import Bus, ConsumerOptions, Subscription, dead_letter_topic
from tradewind.domain.events import DeadLetter, TradeTick
from tradewind.domain.model import Instrument, Side
from tradewind.runtime.metrics import RuntimeMetrics

pytestmark = pytest.mark.servers

INSTRUMENT = Instrument.parse("sim", "BTC/USDT")
PARTITIONS = 4


def tick(key: str, seq: int) -> Envelope:
    """An event carrying its key's sequence number in `trade_id`."""
    payload = TradeTick(
        instrument=INSTRUMENT,
        price=Decimal("100.5"),
        quantity=Decimal("0.01"),
        aggressor=Side.BUY,
        trade_id=str(seq),
        ts_ns=seq,
    )
    return envelope(payload, key)


def seq_of(env: Envelope) -> int:
    assert isinstance(env.payload, TradeTick)
    return int(env.payload.trade_id)


BusFactory = Callable[[], Awaitable[Bus]]


@pytest.fixture(params=["memory", "redis", "kafka"])
async def new_bus(request: pytest.FixtureRequest) -> AsyncIterator[BusFactory]:
    """Makes started buses of one adapter (several = several processes' views of one
    broker); all are closed after the test."""
    kind = request.param
    prefix = f"test{uuid.uuid4().hex[:12]}"
    if kind == "memory":
        shared = open_bus("memory://", partitions=PARTITIONS)
        url = None
    elif kind == "redis":
        base = request.getfixturevalue("redis_url")
        url = f"{base}?prefix={prefix}&lease_ms=1500&block_ms=50"
    else:
        address = request.getfixturevalue("kafka_bootstrap")
        url = f"kafka://{address}"
    buses: list[Bus] = []

    async def make() -> Bus:
        if url is None:
            if not buses:
                await shared.start()
                buses.append(shared)
            return shared  # one process: every "instance" shares the in-process bus
        bus = open_bus(url, partitions=PARTITIONS)
        await bus.start()
        buses.append(bus)
        return bus

    yield make
    for bus in reversed(buses):
        await bus.close()
    if kind == "redis":
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(request.getfixturevalue("redis_url"))
        keys = [k async for k in client.scan_iter(f"{prefix}:*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


@pytest.fixture
def topic() -> str:
    return f"t-{uuid.uuid4().hex[:10]}"


class Recorder:
    """Records what one consumer instance received."""

    def __init__(self, name: str = "") -> None:
        self.name = name
        self.events: list[Envelope] = []
        self.batches: list[int] = []
        self.arrived = asyncio.Event()

    async def handle(self, batch: Sequence[Envelope]) -> None:
        self.batches.append(len(batch))
        self.events.extend(batch)
        self.arrived.set()


async def eventually(predicate: Callable[[], bool], within_s: float = 30.0) -> None:
    """Wait until `predicate()` holds; fail with a timeout otherwise. Polls: the
    predicates read state that several consumers change."""
    async with asyncio.timeout(within_s):
        while not predicate():  # noqa: ASYNC110
            await asyncio.sleep(0.02)


async def test_events_of_one_key_arrive_in_publish_order_under_concurrency(
    new_bus: BusFactory, topic: str
) -> None:
    bus = await new_bus()
    recorders = [Recorder("a"), Recorder("b")]
    subs = [
        await bus.subscribe([topic], "order", r.handle, ConsumerOptions(max_batch=50))
        for r in recorders
    ]
    keys = [f"acct-{i}" for i in range(12)]
    per_key = 150

    async def publish_key(key: str) -> None:
        for start in range(0, per_key, 10):
            await bus.publish_batch(topic, [tick(key, s) for s in range(start, start + 10)])

    await asyncio.gather(*(publish_key(k) for k in keys))
    total = len(keys) * per_key
    await eventually(lambda: sum(len(r.events) for r in recorders) >= total)
    for r in recorders:
        by_key: dict[str, list[int]] = defaultdict(list)
        for env in r.events:
            by_key[env.key].append(seq_of(env))
        for key, seqs in by_key.items():
            assert seqs == sorted(seqs), f"{key} out of order at {r.name}"
    for sub in subs:
        await sub.stop()


async def test_every_group_receives_every_event(new_bus: BusFactory, topic: str) -> None:
    bus = await new_bus()
    first, second = Recorder(), Recorder()
    await bus.subscribe([topic], "group-one", first.handle)
    await bus.subscribe([topic], "group-two", second.handle)
    sent = [tick(f"k{i % 7}", i) for i in range(200)]
    await bus.publish_batch(topic, sent)
    ids = {e.event_id for e in sent}
    await eventually(lambda: {e.event_id for e in first.events} == ids)
    await eventually(lambda: {e.event_id for e in second.events} == ids)


async def test_instances_of_one_group_share_the_keys(new_bus: BusFactory, topic: str) -> None:
    bus_a, bus_b = await new_bus(), await new_bus()
    a, b = Recorder("a"), Recorder("b")
    await bus_a.subscribe([topic], "shared", a.handle, ConsumerOptions(max_batch=20))
    await bus_b.subscribe([topic], "shared", b.handle, ConsumerOptions(max_batch=20))
    await asyncio.sleep(1.0)  # let the group settle before the load arrives
    sent = [tick(f"key-{i % 40}", i) for i in range(800)]
    for start in range(0, len(sent), 100):
        await bus_a.publish_batch(topic, sent[start : start + 100])
    ids = {e.event_id for e in sent}
    await eventually(lambda: {e.event_id for e in a.events + b.events} >= ids)
    assert a.events and b.events, "one instance got everything"
    keys_a = {e.key for e in a.events}
    keys_b = {e.key for e in b.events}
    assert not keys_a & keys_b, "a key was served by two instances without a failure"


async def test_a_key_is_served_by_one_instance_on_every_topic_of_the_subscription(
    new_bus: BusFactory, topic: str
) -> None:
    """Three instances subscribed to three topics: each key's events, whatever the topic,
    go to one instance (execution relies on it: an account's intents and cancels must
    reach the instance that tracks its orders). Redis dealt (topic, partition) pairs
    round-robin, so with three instances an account's topics went to different ones."""
    topics = [f"{topic}.a", f"{topic}.b", f"{topic}.c"]
    buses = [await new_bus() for _ in range(3)]
    recorders = [Recorder(str(i)) for i in range(3)]
    for bus, recorder in zip(buses, recorders, strict=True):
        await bus.subscribe(topics, "copartitioned", recorder.handle)
    await asyncio.sleep(1.0)  # let the group settle before the load arrives
    keys = [f"acct-{i}" for i in range(30)]
    for name in topics:
        await buses[0].publish_batch(name, [tick(k, i) for i, k in enumerate(keys)])
    await eventually(lambda: sum(len(r.events) for r in recorders) >= 3 * len(keys))
    served_by: dict[str, set[str]] = defaultdict(set)
    for recorder in recorders:
        for env in recorder.events:
            served_by[env.key].add(recorder.name)
    split = sorted(key for key, names in served_by.items() if len(names) > 1)
    assert not split, f"{len(split)} keys served by several instances, e.g. {split[:3]}"


async def test_instances_say_which_partitions_they_read_and_where_a_key_goes(
    new_bus: BusFactory, topic: str
) -> None:
    """`partitions()` of the instances of a group are disjoint and, once the group
    settled, cover every partition; each key's events reach the instance whose
    partitions hold `partition_of(key)`. After one instance stops, the other reads all."""
    buses = [await new_bus() for _ in range(2)]
    recorders = [Recorder("a"), Recorder("b")]
    subs = [
        await bus.subscribe([topic], "owners", recorder.handle)
        for bus, recorder in zip(buses, recorders, strict=True)
    ]
    every = frozenset(range(PARTITIONS))
    await eventually(lambda: subs[0].partitions() | subs[1].partitions() == every)
    assert not subs[0].partitions() & subs[1].partitions()
    owned = [sub.partitions() for sub in subs]
    keys = [f"acct-{i}" for i in range(40)]
    await buses[0].publish_batch(topic, [tick(k, i) for i, k in enumerate(keys)])
    await eventually(lambda: sum(len(r.events) for r in recorders) >= len(keys))
    for recorder, partitions in zip(recorders, owned, strict=True):
        for env in recorder.events:
            assert buses[0].partition_of(env.key) in partitions, env.key
    await subs[0].stop()
    await eventually(lambda: subs[1].partitions() == every)
    assert subs[0].partitions() == frozenset()


async def test_an_instance_that_dies_mid_batch_has_its_events_redelivered(
    new_bus: BusFactory, topic: str
) -> None:
    bus_a, bus_b = await new_bus(), await new_bus()
    received_by_a: list[Envelope] = []
    stuck = asyncio.Event()

    async def hang(batch: Sequence[Envelope]) -> None:
        received_by_a.extend(batch)
        stuck.set()
        await asyncio.Event().wait()  # never returns: the batch is never acknowledged

    doomed: Subscription = await bus_a.subscribe([topic], "crashy", hang)
    sent = [tick(f"k{i % 5}", i) for i in range(50)]
    await bus_a.publish_batch(topic, sent)
    async with asyncio.timeout(30):
        await stuck.wait()
    survivor = Recorder()
    await bus_b.subscribe([topic], "crashy", survivor.handle)
    await doomed.kill()
    ids = {e.event_id for e in sent}
    await eventually(lambda: {e.event_id for e in survivor.events} >= ids, within_s=60)
    assert {e.event_id for e in received_by_a} <= {e.event_id for e in survivor.events}


async def test_a_poison_event_is_dead_lettered_with_its_reason_and_the_rest_flow(
    new_bus: BusFactory, topic: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="tradewind.bus.delivery")
    bus = await new_bus()
    handled: list[int] = []
    attempts_on_poison = 0

    async def fussy(batch: Sequence[Envelope]) -> None:
        nonlocal attempts_on_poison
        for env in batch:
            if seq_of(env) == 13:
                attempts_on_poison += 1
                raise ValueError("price 13 is unlucky")
        handled.extend(seq_of(e) for e in batch)

    letters = Recorder()
    await bus.subscribe([dead_letter_topic(topic)], "dlq-reader", letters.handle)
    options = ConsumerOptions(max_batch=10, max_attempts=3, retry_backoff_s=0.001)
    await bus.subscribe([topic], "fussy", fussy, options)
    await bus.publish_batch(topic, [tick("same-key", i) for i in range(30)])
    await eventually(lambda: bool(letters.events) and set(handled) >= set(range(30)) - {13})
    await asyncio.sleep(0.3)
    assert len(letters.events) == 1
    letter = letters.events[0].payload
    assert isinstance(letter, DeadLetter)
    assert letter.topic == topic and letter.group == "fussy"
    assert letter.attempts == 3 and attempts_on_poison == 3
    assert "ValueError: price 13 is unlucky" in letter.reason
    assert 13 not in handled
    # The consuming service's own log says so too (a retried handler is not silent).
    logged = [r.getMessage() for r in caplog.records if r.name == "tradewind.bus.delivery"]
    assert any("'fussy': handler failed on a batch" in line for line in logged)
    assert any(f"'fussy' gives up on event {letter.event_id!r}" in line for line in logged)


async def test_a_cancellation_nobody_asked_for_is_a_handler_failure_not_a_stop(
    new_bus: BusFactory, topic: str
) -> None:
    """A library raised CancelledError into a handler whose task nobody cancelled (ccxt,
    cancelling a task several callers shared): taken for a stop, it ended the consumer
    silently while the process ran on. It is retried like any failure, and the events
    after it flow."""
    bus = await new_bus()
    handled: list[int] = []
    raised = False

    async def unlucky(batch: Sequence[Envelope]) -> None:
        nonlocal raised
        if not raised:
            raised = True
            raise asyncio.CancelledError
        handled.extend(seq_of(e) for e in batch)

    options = ConsumerOptions(max_batch=10, max_attempts=3, retry_backoff_s=0.001)
    await bus.subscribe([topic], "unlucky", unlucky, options)
    await bus.publish_batch(topic, [tick("same-key", i) for i in range(5)])
    await eventually(lambda: set(handled) == set(range(5)))
    await bus.publish_batch(topic, [tick("same-key", 5)])
    await eventually(lambda: 5 in handled)


async def test_a_member_reports_no_failure_while_it_reads_nor_after_it_stopped(
    new_bus: BusFactory, topic: str
) -> None:
    """`failure` is what makes a process exit 1 to be restarted: it must never show for
    a member that reads, or one that was stopped."""
    bus = await new_bus()
    seen: list[Envelope] = []

    async def collect(batch: Sequence[Envelope]) -> None:
        seen.extend(batch)

    member = await bus.subscribe([topic], "reading", collect)
    await bus.publish_batch(topic, [tick("k", i) for i in range(3)])
    await eventually(lambda: len(seen) == 3)
    assert member.failure is None
    await member.stop()
    assert member.failure is None


async def test_a_batch_never_exceeds_max_batch(new_bus: BusFactory, topic: str) -> None:
    bus = await new_bus()
    r = Recorder()
    await bus.subscribe([topic], "bounded", r.handle, ConsumerOptions(max_batch=7))
    await bus.publish_batch(topic, [tick(f"k{i % 3}", i) for i in range(300)])
    await eventually(lambda: len(r.events) >= 300)
    assert max(r.batches) <= 7


async def test_stop_drains_the_batch_in_flight_and_acknowledges_it(
    new_bus: BusFactory, topic: str
) -> None:
    bus = await new_bus()
    started, finished = asyncio.Event(), asyncio.Event()
    seen: list[Envelope] = []

    async def slow(batch: Sequence[Envelope]) -> None:
        started.set()
        await asyncio.sleep(0.3)
        seen.extend(batch)
        finished.set()

    sub = await bus.subscribe([topic], "drainer", slow, ConsumerOptions(max_batch=1000))
    sent = [tick("one-key", i) for i in range(20)]
    await bus.publish_batch(topic, sent)
    async with asyncio.timeout(30):
        await started.wait()
    await sub.stop()
    assert finished.is_set(), "stop() returned before the batch in flight finished"
    after = Recorder()
    bus_later = await new_bus()
    await bus_later.subscribe([topic], "drainer", after.handle)
    await bus.publish(topic, tick("one-key", 999))
    await eventually(lambda: any(seq_of(e) == 999 for e in after.events))
    redelivered = {e.event_id for e in after.events} & {e.event_id for e in seen}
    assert not redelivered, "a drained batch was delivered again"


async def test_a_hundred_thousand_events_none_lost_none_duplicated_after_dedupe(
    new_bus: BusFactory, topic: str
) -> None:
    bus_a, bus_b = await new_bus(), await new_bus()
    seen: set[str] = set()
    deliveries = 0

    async def dedupe(batch: Sequence[Envelope]) -> None:
        nonlocal deliveries
        deliveries += len(batch)
        seen.update(e.event_id for e in batch)

    options = ConsumerOptions(max_batch=2000)
    await bus_a.subscribe([topic], "bulk", dedupe, options)
    await bus_b.subscribe([topic], "bulk", dedupe, options)
    total = 100_000
    sent: set[str] = set()
    for start in range(0, total, 1000):
        batch = [tick(f"account-{i % 100}", i) for i in range(start, start + 1000)]
        sent.update(e.event_id for e in batch)
        await bus_a.publish_batch(topic, batch)
    await eventually(lambda: len(seen) >= total, within_s=120)
    assert seen == sent
    assert deliveries >= total


@pytest.mark.parametrize(
    "url",
    ["redis://127.0.0.1:1/0", "kafka://127.0.0.1:1"],
    ids=["redis", "kafka"],
)
async def test_an_unreachable_broker_is_a_clear_error_not_a_silent_loss(url: str) -> None:
    from tradewind.errors import BusUnavailable

    bus = open_bus(url + ("?connect_timeout_s=2" if "?" not in url else ""))
    async with asyncio.timeout(30):
        with pytest.raises(BusUnavailable, match=r"127\.0\.0\.1:1"):
            await bus.start()


async def test_lag_grows_while_the_handler_is_blocked_and_falls_to_zero_after(
    new_bus: BusFactory, topic: str
) -> None:
    bus = await new_bus()
    gate = asyncio.Event()
    handled: list[Envelope] = []

    async def blocked(batch: Sequence[Envelope]) -> None:
        await gate.wait()
        handled.extend(batch)

    metrics = RuntimeMetrics()
    metrics.watch_bus(bus)
    sub = await bus.subscribe([topic], "laggy", blocked, ConsumerOptions(max_batch=5))
    await bus.publish_batch(topic, [tick(f"k{i % 3}", i) for i in range(20)])
    await eventually_async(lambda: lag_of(sub, topic), 20)
    await bus.publish_batch(topic, [tick(f"k{i % 3}", i) for i in range(20, 30)])
    # Grows; 30 exactly except on Tansu, whose ListOffsets answers the last record
    # batch's base offset + 1 (21 here) while the consumer has no fresher highwater.
    await eventually_async(lambda: lag_of(sub, topic), 30, accept=lambda lag: lag > 20)
    await metrics.sample_bus()
    labels = {"group": "laggy", "topic": topic}
    sampled = metrics.registry.get_sample_value("tradewind_bus_consumer_lag", labels)
    assert sampled is not None and 20 < sampled <= 30

    gate.set()
    await eventually_async(lambda: lag_of(sub, topic), 0)
    assert len({e.event_id for e in handled}) == 30
    age = sub.event_age_s()[topic]
    assert 0 <= age < 600  # created in this test, handled after the gate opened
    await metrics.sample_bus()
    assert metrics.registry.get_sample_value("tradewind_bus_consumer_lag", labels) == 0
    assert metrics.registry.get_sample_value("tradewind_bus_event_age_seconds", labels) == age


async def lag_of(sub: Subscription, topic: str) -> int:
    return (await sub.lag()).get(topic, 0)


async def eventually_async(
    measure: Callable[[], Awaitable[int]],
    expected: int,
    within_s: float = 60.0,
    accept: Callable[[int], bool] | None = None,
) -> None:
    """Wait until `await measure()` is `expected` (or `accept`s it); fail with the last
    value otherwise."""
    good = accept or (lambda value: value == expected)
    last = None
    try:
        async with asyncio.timeout(within_s):
            while not good(last := await measure()):  # noqa: ASYNC110
                await asyncio.sleep(0.05)
    except TimeoutError:
        raise AssertionError(f"expected {expected}, still {last} after {within_s} s") from None
