"""A bus member whose consumer task ends unasked is reported, so the runner exits 1."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from tradewind.app.runner import _first_consumer_failure
from tradewind.bus.envelope import Envelope
from tradewind.bus.memory import MemoryBus
from tradewind.bus.port import task_failure


async def test_task_failure_names_the_task_and_how_it_ended() -> None:
    async def fails() -> None:
        raise ValueError("a bug")

    async def returns() -> None:
        return None

    running = asyncio.create_task(asyncio.sleep(10), name="sleeper")
    failed = asyncio.create_task(fails(), name="consumer")
    ended = asyncio.create_task(returns(), name="heartbeat")
    await asyncio.wait([failed, ended])
    assert task_failure([running]) is None
    assert task_failure([running, failed]) == "consumer failed: ValueError('a bug')"
    assert task_failure([ended]) == "heartbeat ended"
    running.cancel()
    await asyncio.wait([running])
    assert task_failure([running]) == "sleeper was cancelled"


async def test_the_runner_learns_of_a_consumer_that_stopped_reading_on_its_own() -> None:
    bus = MemoryBus(partitions=2)
    await bus.start()

    async def ignore(batch: Sequence[Envelope]) -> None:
        pass

    member = await bus.subscribe(["orders.approved"], "execution", ignore)
    watching = asyncio.create_task(_first_consumer_failure(bus))
    await asyncio.sleep(0.05)
    assert not watching.done(), "a member that reads is no failure"
    member._task.cancel()  # type: ignore[attr-defined]  # as if it had died
    group, reason = await asyncio.wait_for(watching, 5)
    assert group == "execution" and "cancelled" in reason
    await bus.close()
