"""The in-process bus beyond the shared contract: its publishers' backpressure
(`max_lag`) and inline delivery (`ConsumerOptions.inline`), which only it has."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence

from tests.contract.test_bus_contract import seq_of, tick
from tests.waiting import wait_until
from tradewind.bus.envelope import Envelope
from tradewind.bus.memory import MemoryBus
from tradewind.bus.port import ConsumerOptions, dead_letter_topic
from tradewind.domain.events import DeadLetter

INLINE = ConsumerOptions(inline=True, retry_backoff_s=0.0)


async def test_a_publisher_waits_while_the_group_lags_max_lag_and_goes_on_once_it_caught_up() -> (
    None
):
    bus = MemoryBus(partitions=1, max_lag=3)
    await bus.start()
    release = asyncio.Event()
    handled: list[int] = []

    async def handler(batch: Sequence[Envelope]) -> None:
        await release.wait()
        handled.extend(seq_of(env) for env in batch)

    await bus.subscribe(["t"], "g", handler, ConsumerOptions(max_batch=1))
    for seq in range(3):  # a lag of 3: the publisher goes on
        await bus.publish("t", tick("k", seq))
    fourth = asyncio.create_task(bus.publish("t", tick("k", 3)))
    await asyncio.sleep(0.05)
    assert not fourth.done()  # a lag of 4 until the group handled one
    release.set()
    await fourth
    await wait_until(lambda: handled == [0, 1, 2, 3])
    await bus.close()


async def test_a_group_that_joins_holds_back_publishers_from_its_start() -> None:
    bus = MemoryBus(partitions=1, max_lag=2)
    await bus.start()
    for seq in range(5):  # no group yet: the newest two are kept, the publisher never waits
        await bus.publish("t", tick("k", seq))
    blocked = asyncio.Event()
    handled: list[int] = []

    async def handler(batch: Sequence[Envelope]) -> None:
        await blocked.wait()
        handled.extend(seq_of(env) for env in batch)

    await bus.subscribe(["t"], "g", handler, ConsumerOptions(max_batch=1))
    publishing = asyncio.create_task(bus.publish("t", tick("k", 5)))
    await asyncio.sleep(0.05)
    assert not publishing.done()  # the new group has 3 to handle, more than max_lag
    blocked.set()
    await publishing
    await wait_until(lambda: handled == [3, 4, 5])
    await bus.close()


async def test_an_inline_member_has_handled_the_event_when_publish_returns() -> None:
    bus = MemoryBus(partitions=4)
    await bus.start()
    handled: list[int] = []
    queued: list[int] = []

    async def inline_handler(batch: Sequence[Envelope]) -> None:
        handled.extend(seq_of(env) for env in batch)

    async def queued_handler(batch: Sequence[Envelope]) -> None:
        queued.extend(seq_of(env) for env in batch)

    await bus.subscribe(["t"], "hot", inline_handler, INLINE)
    await bus.subscribe(["t"], "other", queued_handler)
    await asyncio.sleep(0)  # both members parked
    for seq in range(3):
        await bus.publish("t", tick("k", seq))
        assert handled == list(range(seq + 1))
    await bus.publish_batch("t", [tick("k", 3), tick("k", 4)])
    assert handled == [0, 1, 2, 3, 4]
    assert queued == []  # a member without `inline` is handed its events by its task
    await wait_until(lambda: queued == [0, 1, 2, 3, 4])
    assert bus.idle()
    await bus.close()


async def test_inline_delivery_keeps_each_keys_order_with_publishers_racing() -> None:
    bus = MemoryBus(partitions=4)
    await bus.start()
    seen: dict[str, list[int]] = defaultdict(list)
    calls = 0

    async def handler(batch: Sequence[Envelope]) -> None:
        nonlocal calls
        calls += 1
        if calls % 3 == 0:
            await asyncio.sleep(0)  # let the other publishers in while this batch is out
        for env in batch:
            seen[env.key].append(seq_of(env))

    await bus.subscribe(["t"], "hot", handler, INLINE)
    await bus.subscribe(["t"], "hot", handler, INLINE)  # two members share the partitions
    keys = [f"key-{k}" for k in range(6)]

    async def publisher(key: str) -> None:
        for seq in range(200):
            await bus.publish("t", tick(key, seq))

    await asyncio.gather(*(publisher(key) for key in keys))
    await wait_until(lambda: all(len(seen[key]) >= 200 for key in keys))
    for key in keys:
        assert seen[key] == list(range(200)), key
    await bus.close()


async def test_a_raising_inline_handler_is_retried_by_its_member_and_dead_lettered() -> None:
    bus = MemoryBus(partitions=1)
    await bus.start()
    tries: list[int] = []
    handled: list[int] = []
    letters: list[DeadLetter] = []

    async def handler(batch: Sequence[Envelope]) -> None:
        for env in batch:
            tries.append(seq_of(env))
            if seq_of(env) == 1:
                raise ValueError("poison")
            handled.append(seq_of(env))

    async def collect(batch: Sequence[Envelope]) -> None:
        letters.extend(env.payload for env in batch if isinstance(env.payload, DeadLetter))

    await bus.subscribe([dead_letter_topic("t")], "dlq", collect)
    await bus.subscribe(["t"], "hot", handler, INLINE)
    await asyncio.sleep(0)
    await bus.publish("t", tick("k", 0))
    await bus.publish("t", tick("k", 1))
    assert tries == [0, 1]  # one try in the publisher's task; the retries are the member's
    await bus.publish("t", tick("k", 2))  # the member is busy retrying: queued behind
    await wait_until(lambda: len(letters) == 1 and handled == [0, 2])
    assert tries.count(1) == INLINE.max_attempts  # the inline try counts as the first
    assert letters[0].reason == f"handler failed {INLINE.max_attempts} times: ValueError: poison"
    assert letters[0].group == "hot"
    await bus.close()


async def test_a_slow_inline_handler_holds_its_publisher_and_the_others_queue_behind_it() -> None:
    bus = MemoryBus(partitions=1)
    await bus.start()
    release = asyncio.Event()
    batches: list[list[int]] = []

    async def handler(batch: Sequence[Envelope]) -> None:
        if not batches:
            await release.wait()
        batches.append([seq_of(env) for env in batch])

    await bus.subscribe(["t"], "hot", handler, INLINE)
    await asyncio.sleep(0)
    first = asyncio.create_task(bus.publish("t", tick("k", 0)))
    await asyncio.sleep(0.01)
    await bus.publish("t", tick("k", 1))  # returns: one batch is in flight, this one queues
    await bus.publish("t", tick("k", 2))
    assert not first.done()
    assert batches == []
    release.set()
    await first
    await wait_until(lambda: [seq for batch in batches for seq in batch] == [0, 1, 2])
    assert batches[0] == [0]
    await bus.close()


async def test_a_cancelled_inline_publisher_leaves_its_event_to_the_member() -> None:
    bus = MemoryBus(partitions=1)
    await bus.start()
    handled: list[int] = []
    started = asyncio.Event()
    tries = 0

    async def handler(batch: Sequence[Envelope]) -> None:
        nonlocal tries
        tries += 1
        if tries == 1:
            started.set()
            await asyncio.Event().wait()  # until the publisher is cancelled
        handled.extend(seq_of(env) for env in batch)

    await bus.subscribe(["t"], "hot", handler, INLINE)
    await asyncio.sleep(0)
    publishing = asyncio.create_task(bus.publish("t", tick("k", 0)))
    await started.wait()
    publishing.cancel()
    await asyncio.gather(publishing, return_exceptions=True)
    await wait_until(lambda: handled == [0])  # delivered again, by the member's task
    assert bus.idle()
    await bus.close()


async def test_stop_drains_an_inline_batch_in_flight_and_acknowledges_it() -> None:
    bus = MemoryBus(partitions=1)
    await bus.start()
    release = asyncio.Event()
    handled: list[int] = []

    async def handler(batch: Sequence[Envelope]) -> None:
        await release.wait()
        handled.extend(seq_of(env) for env in batch)

    sub = await bus.subscribe(["t"], "hot", handler, INLINE)
    await asyncio.sleep(0)
    publishing = asyncio.create_task(bus.publish("t", tick("k", 0)))
    await asyncio.sleep(0.01)
    stopping = asyncio.create_task(sub.stop())
    await asyncio.sleep(0.01)
    assert not stopping.done()  # waits for the batch in flight
    release.set()
    await asyncio.gather(publishing, stopping)
    assert handled == [0]
    after: list[int] = []

    async def next_member(batch: Sequence[Envelope]) -> None:
        after.extend(seq_of(env) for env in batch)

    await bus.subscribe(["t"], "hot", next_member)
    await bus.publish("t", tick("k", 1))
    await wait_until(lambda: after == [1])  # 0 was committed before the member left
    await bus.close()
