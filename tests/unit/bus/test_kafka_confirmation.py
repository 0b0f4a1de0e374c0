"""What counts as the group confirming a Kafka member's assignment (for
`KafkaSubscription.sole_partitions`): a heartbeat answered OK with no rejoin pending.
aiokafka answers True to "rebalance in progress" too, so that it keeps heartbeating; the
group may hand the partitions to another member once its join phase is over, so that
answer must not extend the member's claim."""

from __future__ import annotations

import asyncio
import time

from tradewind.bus.kafka_consumer import _heartbeat_noting_confirmation


class _Coordinator:
    def __init__(self, rejoin_pending: bool) -> None:
        self._rejoin_needed_fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        if rejoin_pending:
            self._rejoin_needed_fut.set_result(None)


async def _beat(answer: bool, rejoin_pending: bool) -> tuple[bool, list[float]]:
    confirmations: list[float] = []

    async def heartbeat() -> bool:
        return answer

    coordinator = _Coordinator(rejoin_pending)
    ok = await _heartbeat_noting_confirmation(coordinator, heartbeat, confirmations.append)
    return ok, confirmations


async def test_an_ok_heartbeat_confirms_the_member_as_of_its_sending() -> None:
    before = time.monotonic()
    ok, confirmations = await _beat(answer=True, rejoin_pending=False)
    assert ok is True
    assert len(confirmations) == 1 and before <= confirmations[0] <= time.monotonic()


async def test_a_heartbeat_during_a_rebalance_confirms_nothing_but_is_passed_on() -> None:
    assert await _beat(answer=True, rejoin_pending=True) == (True, [])


async def test_a_refused_heartbeat_confirms_nothing() -> None:
    assert await _beat(answer=False, rejoin_pending=False) == (False, [])
