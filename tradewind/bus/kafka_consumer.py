"""One member of a Kafka consumer group, as a `Subscription` of the Kafka bus: one
aiokafka consumer, committing by hand.

Loop (`kafka_reader`, shared with the listener): take at most `max_batch` records,
decode them, hand them to the handler as one batch through
`tradewind.bus.delivery.deliver` (retries, dead letters), then commit exactly the
offsets handled (`offset + 1` per partition). Records that cannot be decoded
go straight to `<topic>.dlq`. Nothing is committed that the handler has not returned from;
a batch that could not be delivered (dead-letter topic unreachable) is fetched again.
Besides the batch in flight, aiokafka prefetches up to 1 MiB per partition into memory;
that is never acknowledged either, and the partition's next owner simply reads it again.

Rebalances: before this member gives up its partitions it waits (aiokafka's revoke
callback, at most `revoke_wait_ms`) until the batch in flight has been handled and
committed, so that normally two members never work on one partition at once and a
rebalance redelivers nothing. The wait is short because the whole group waits with it: a
slower batch is given up on (its commit then fails and the next owner handles it again),
and a member stuck in a handler still rejoins in the background, so a stuck or dying
instance never holds up the rest of the group for long.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import time
from collections.abc import Awaitable, Callable, Collection
from typing import TYPE_CHECKING, Any

from aiokafka import ConsumerRebalanceListener  # type: ignore[import-untyped]
from aiokafka.errors import CommitFailedError, KafkaError  # type: ignore[import-untyped]
from aiokafka.protocol.group import (  # type: ignore[import-untyped]
    HeartbeatRequest,
    LeaveGroupRequest,
)

from tradewind.bus.kafka_errors import UNREACHABLE, failure_reason
from tradewind.bus.kafka_reader import ERROR_PAUSE_S, KafkaReader
from tradewind.bus.kafka_settings import KafkaSettings
from tradewind.bus.port import BatchHandler, ConsumerOptions, task_failure

if TYPE_CHECKING:
    from tradewind.bus.kafka import KafkaBus

log = logging.getLogger(__name__)


class KafkaSubscription(KafkaReader):
    """A running member of consumer group `group` on `topics`; see the module doc.
    `consumer` is the bus's aiokafka consumer for it, not yet started."""

    kind = "group"

    def __init__(
        self,
        bus: KafkaBus,
        settings: KafkaSettings,
        consumer: Any,
        topics: tuple[str, ...],
        group: str,
        handler: BatchHandler,
        options: ConsumerOptions,
    ) -> None:
        # Leaving the group: LeaveGroup is one request, but the group may be rebalancing.
        close_budget_s = (settings.request_timeout_ms + settings.session_timeout_ms) / 1000
        super().__init__(
            bus,
            settings,
            consumer,
            topics,
            group,
            handler,
            options,
            give_up=bus.publish,
            close_budget_s=close_budget_s,
        )
        self._joined = asyncio.Event()
        # When (monotonic) the group last confirmed this member's assignment: the sending
        # of a heartbeat answered OK while no rejoin was pending, or the assignment
        # itself. See `sole_partitions`.
        self._confirmed_at = 0.0
        self._confirmation_s = (settings.session_timeout_ms - settings.heartbeat_interval_ms) / 1000

    @property
    def failure(self) -> str | None:
        """Our consume loop's end, or that of aiokafka's group membership (its coordinator
        task: join, sync, heartbeats), which an unexpected error ends for good: the member
        would then never rejoin after the next rebalance, reading nothing while it runs."""
        if self._task is None:
            return None
        membership = getattr(self._consumer._coordinator, "_coordination_task", None)
        return task_failure([self._task, membership])

    def _assignment(self) -> Collection[Any]:
        assigned: Collection[Any] = self._consumer.assignment()
        return assigned

    def sole_partitions(self) -> frozenset[int]:
        """The assignment while the group's confirmation of it is fresh: none once
        `session_timeout_ms - heartbeat_interval_ms` passed since the sending of the last
        heartbeat the broker answered OK with no rebalance pending. The broker drops a
        silent member `session_timeout_ms` after it received that heartbeat, so a member
        that was paused (SIGSTOP, a stalled loop, a cut link) stops claiming its
        partitions here before a twin can be given them, instead of when its next
        heartbeat comes back refused. Only this changes; `partitions()` (what the member
        reads) stays aiokafka's assignment."""
        if time.monotonic() - self._confirmed_at >= self._confirmation_s:
            return frozenset()
        return self.partitions()

    def _confirmed(self, since: float) -> None:
        self._confirmed_at = max(self._confirmed_at, since)

    async def begin(self) -> None:
        """Connect, join the group and start consuming; returns once the group assigned
        this member its partitions (or after `join_timeout_s`: consumption then starts
        whenever the group settles). Raises `BusUnavailable` if Kafka cannot be reached."""
        settings = self._settings
        consumer = self._consumer
        try:
            async with asyncio.timeout(settings.connect_timeout_s):
                await consumer.start()
        except (KafkaError, *UNREACHABLE) as exc:
            with contextlib.suppress(Exception):
                await consumer.stop()
            raise self._cannot_reach(exc) from exc
        coordinator = consumer._coordinator
        coordinator._coordination_task.set_name(f"kafka-group-membership:{self._name}")
        coordinator._maybe_leave_group = functools.partial(_leave_group_if_settled, coordinator)
        coordinator._do_heartbeat = functools.partial(
            _heartbeat_noting_confirmation, coordinator, coordinator._do_heartbeat, self._confirmed
        )
        consumer.subscribe(list(self._topics), listener=_RebalanceListener(self))
        self._task = asyncio.get_running_loop().create_task(
            self._consume(), name=f"bus-consumer:{self._name}"
        )
        try:
            async with asyncio.timeout(settings.join_timeout_s):
                await self._joined.wait()
        except TimeoutError:
            pass  # a slow rebalance is not a failure; consumption starts when it is done
        except BaseException:  # cancelled while joining: leave nothing running behind
            await self.kill()
            raise

    async def _handle(self, records: dict[Any, list[Any]]) -> None:
        """A batch that could not be handled (its dead letters could not be published)
        is fetched again after a pause, from its first record."""
        try:
            await super()._handle(records)
        except Exception as exc:
            # Not acknowledged: fetch the batch again, or let the next owner have it.
            log.error("group %r: batch not handled, retrying: %s", self._name, failure_reason(exc))
            self._rewind(records)
            await asyncio.sleep(ERROR_PAUSE_S)

    async def _acknowledge(self, offsets: dict[Any, int]) -> None:
        """Commit `offsets` (next offset to read, per TopicPartition) for the partitions
        this member still owns. A failure is logged, not raised: the events were handled,
        and at worst they are delivered again. aiokafka retries a commit for as long as
        the broker is unreachable or lacks the topic, so it is bounded here: by
        `request_timeout_ms`, and for a stopping member by `revoke_wait_ms` as well."""
        assigned = self._consumer.assignment()
        owned = {tp: offset for tp, offset in offsets.items() if tp in assigned}
        if not owned:
            return
        settings = self._settings
        budget_ms = settings.request_timeout_ms
        if self._stopping:
            budget_ms = min(budget_ms, settings.revoke_wait_ms)
        try:
            async with asyncio.timeout(budget_ms / 1000):
                await self._consumer.commit(owned)
        except CommitFailedError:
            log.info("group %r rebalanced before a commit; its events come again", self._name)
        except (KafkaError, *UNREACHABLE) as exc:
            log.warning("group %r: commit failed: %s", self._name, failure_reason(exc))

    def _rewind(self, records: dict[Any, list[Any]]) -> None:
        """Move back to the first record of an unacknowledged batch."""
        assigned = self._consumer.assignment()
        for tp, partition_records in records.items():
            if tp in assigned:
                self._consumer.seek(tp, partition_records[0].offset)

    async def _finish_batch_in_flight(self) -> None:
        """Before a rebalance: wait (at most `revoke_wait_ms`) until the batch in flight
        has been handled and committed."""
        if self._idle.is_set():
            return
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(self._settings.revoke_wait_ms / 1000):
                await self._idle.wait()


async def _leave_group_if_settled(coordinator: Any) -> None:
    """Stands in for aiokafka's `GroupCoordinator._maybe_leave_group` (called when the
    consumer stops) to work around two Tansu 0.6 behaviours:

    - Tansu numbers a group's first generation 0, which aiokafka (like Kafka, which
      starts at 1) takes for "never joined" and so sends no LeaveGroup: the group would
      wait `session_timeout_ms` for the member. Here generation 0 leaves too.
    - A leader that leaves while the group is rebalancing stays the group's leader in
      Tansu for good, and no member can join again until the broker restarts. So a
      member leaves only when a heartbeat says the group is settled; otherwise it just
      goes quiet and the group drops it after `session_timeout_ms`.
    """
    group, generation, member_id = (
        coordinator.group_id,
        coordinator.generation,
        coordinator.member_id,
    )
    if generation >= 0 and member_id:
        try:
            beat = await coordinator._send_req(HeartbeatRequest(group, generation, member_id))
            if beat.error_code == 0:
                await coordinator._send_req(LeaveGroupRequest(group, member_id))
            else:
                log.info("group %r is rebalancing; leaving it by going quiet", group)
        except KafkaError as exc:
            log.info("group %r: no LeaveGroup sent: %s", group, failure_reason(exc))
    coordinator.reset_generation()


async def _heartbeat_noting_confirmation(
    coordinator: Any, heartbeat: Callable[[], Awaitable[bool]], confirmed: Callable[[float], None]
) -> bool:
    """Wraps aiokafka's `GroupCoordinator._do_heartbeat` (which keeps the time of the last
    good heartbeat to itself) and changes nothing of what it does: an OK answer with no
    rejoin pending confirms the assignment as of the sending. aiokafka also answers True
    to "rebalance in progress" (to keep heartbeating), which confirms nothing: the group
    may give the partitions away once its join phase is over."""
    sent = time.monotonic()
    ok = await heartbeat()
    if ok and not coordinator._rejoin_needed_fut.done():
        confirmed(sent)
    return ok


class _RebalanceListener(ConsumerRebalanceListener):  # type: ignore[misc]
    """aiokafka's hooks around a rebalance of the group."""

    def __init__(self, subscription: KafkaSubscription) -> None:
        self._subscription = subscription

    async def on_partitions_revoked(self, revoked: object) -> None:
        await self._subscription._finish_batch_in_flight()

    async def on_partitions_assigned(self, assigned: object) -> None:
        # The group just assigned them (SyncGroup answered): as good as a heartbeat's
        # confirmation, give or take the request's round trip, which the heartbeat
        # interval subtracted from the session timeout leaves room for.
        self._subscription._confirmed(time.monotonic())
        self._subscription._joined.set()
