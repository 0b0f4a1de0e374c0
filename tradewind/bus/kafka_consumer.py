"""One member of a Kafka consumer group, as a `Subscription` of the Kafka bus: one
aiokafka consumer, committing by hand.

Loop: take at most `max_batch` records, decode them, hand them to the handler as one
batch through `tradewind.bus.delivery.deliver` (retries, dead letters), then commit
exactly the offsets handled (`offset + 1` per partition). Records that cannot be decoded
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
from collections.abc import Awaitable, Callable, Mapping
from typing import TYPE_CHECKING, Any

from aiokafka import ConsumerRebalanceListener  # type: ignore[import-untyped]
from aiokafka.errors import CommitFailedError, KafkaError  # type: ignore[import-untyped]
from aiokafka.protocol.group import (  # type: ignore[import-untyped]
    HeartbeatRequest,
    LeaveGroupRequest,
)

from tradewind.bus.delivery import dead_letter, deliver
from tradewind.bus.envelope import Envelope, UnreadableEvent, decode
from tradewind.bus.kafka_errors import UNREACHABLE, bus_error, failure_reason
from tradewind.bus.kafka_settings import KafkaSettings
from tradewind.bus.port import BatchHandler, ConsumerOptions, cancel_requested, task_failure

if TYPE_CHECKING:
    from tradewind.bus.kafka import KafkaBus

log = logging.getLogger(__name__)

_POLL_MS = 1_000  # getmany's wait for records; stop() cancels it, so only a bound
_ERROR_PAUSE_S = 1.0  # before fetching again after a failure (broker gone, DLQ down)


class KafkaSubscription:
    """A running member of consumer group `group` on `topics`; see the module doc.
    `consumer` is the bus's aiokafka consumer for it, not yet started."""

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
        self._bus = bus
        self._settings = settings
        self._topics = topics
        self._group = group
        self._handler = handler
        self._options = options
        self._consumer: Any = consumer
        self._idle = asyncio.Event()  # set while no batch is in flight
        self._idle.set()
        self._joined = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._ages_s: dict[str, float] = {}
        # Per TopicPartition, the first offset not yet handled, as far as this member
        # knows (from the batches it fetched and handled since it got the partition).
        self._unhandled_from: dict[Any, int] = {}
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

    @property
    def group(self) -> str:
        return self._group

    async def lag(self) -> dict[str, int]:
        """The partitions' end offsets (one request to the broker, or the highwater of
        the last fetch if higher) minus the first offset not yet handled (the batch in
        flight's first, else the consumer's position)."""
        lag = dict.fromkeys(self._topics, 0)
        if self._task is None:
            return lag
        consumer = self._consumer
        assigned = consumer.assignment()
        for tp in [tp for tp in self._unhandled_from if tp not in assigned]:
            del self._unhandled_from[tp]  # given away; its offset is stale if it comes back
        if not assigned:
            return lag
        ends = await consumer.end_offsets(list(assigned))
        for tp, end in ends.items():
            # The highwater of the last fetch as well: Tansu 0.6 answers ListOffsets with
            # the last record batch's base offset + 1, short of the true end.
            end = max(end, consumer.highwater(tp) or 0)
            start = self._unhandled_from.get(tp)
            if start is None:
                start = await consumer.position(tp)
            lag[tp.topic] += max(0, end - start)
        return lag

    def event_age_s(self) -> Mapping[str, float]:
        return self._ages_s

    @property
    def topics(self) -> tuple[str, ...]:
        return self._topics

    def partitions(self) -> frozenset[int]:
        if self._task is None:
            return frozenset()
        return frozenset(tp.partition for tp in self._consumer.assignment())

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

    @property
    def kafka_client(self) -> Any:
        """The consumer's aiokafka client (its view of the cluster's metadata)."""
        return self._consumer._client

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
            if isinstance(exc, TimeoutError):
                exc = TimeoutError(f"no answer within {settings.connect_timeout_s:g} s")
            raise bus_error(
                f"cannot reach Kafka at {settings.servers_text} for group {self._group!r}", exc
            ) from exc
        coordinator = consumer._coordinator
        coordinator._coordination_task.set_name(f"kafka-group-membership:{self._group}")
        coordinator._maybe_leave_group = functools.partial(_leave_group_if_settled, coordinator)
        coordinator._do_heartbeat = functools.partial(
            _heartbeat_noting_confirmation, coordinator, coordinator._do_heartbeat, self._confirmed
        )
        consumer.subscribe(list(self._topics), listener=_RebalanceListener(self))
        self._task = asyncio.get_running_loop().create_task(
            self._consume(), name=f"bus-consumer:{self._group}"
        )
        try:
            async with asyncio.timeout(settings.join_timeout_s):
                await self._joined.wait()
        except TimeoutError:
            pass  # a slow rebalance is not a failure; consumption starts when it is done
        except BaseException:  # cancelled while joining: leave nothing running behind
            await self.kill()
            raise

    async def stop(self) -> None:
        """Drain: finish and commit the batch in flight, then leave the group. A batch
        still unfinished after `max_poll_interval_ms` is abandoned as by `kill` (the
        group has given its partitions to the others by then anyway); a commit the
        broker has not taken within `revoke_wait_ms` is given up (the events come
        again). Raises nothing for a broker that cannot be reached."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        if self._idle.is_set():
            task.cancel()  # it waits for records; nothing is in flight
        await asyncio.wait({task}, timeout=self._settings.max_poll_interval_ms / 1000)
        if not task.done():
            log.warning("group %r: the handler did not finish; abandoning it", self._group)
            task.cancel()
            await asyncio.wait({task})
        await self._leave(task)

    async def kill(self) -> None:
        """Die like a crashed instance: abandon the batch in flight uncommitted, then
        close the connection so that the group hands the partitions to the others."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True  # a cancel swallowed inside aiokafka must not loop on
        task.cancel()
        await asyncio.wait({task}, timeout=self._settings.revoke_wait_ms / 1000)
        if not task.done():
            log.warning("group %r: the consume loop ignored its cancel; abandoning it", self._group)
        await self._leave(task)

    async def _leave(self, task: asyncio.Task[None]) -> None:
        """Close the consumer, which tells the group this member left (LeaveGroup)."""
        self._bus.forget(self)
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error("group %r: the consume loop failed", self._group, exc_info=task.exception())
        budget_s = (self._settings.request_timeout_ms + self._settings.session_timeout_ms) / 1000
        try:
            async with asyncio.timeout(budget_s):
                await self._consumer.stop()
        except (KafkaError, *UNREACHABLE) as exc:
            log.warning("group %r: leaving uncleanly: %s", self._group, failure_reason(exc))
        except asyncio.CancelledError:
            if cancel_requested():
                raise  # this stop itself is being cancelled
            # aiokafka's Fetcher.close cancels a fetch that was waiting to retry (the
            # broker gone) and lets that cancellation out of consumer.stop (aiokafka#647),
            # before it closed the connections.
            log.warning("group %r: leaving uncleanly: the broker cannot be reached", self._group)
            await self._consumer._client.close()

    # -- the consume loop -------------------------------------------------------------

    async def _consume(self) -> None:
        consumer = self._consumer
        max_batch = self._options.max_batch
        while not self._stopping:
            try:
                records = await consumer.getmany(timeout_ms=_POLL_MS, max_records=max_batch)
            except Exception as exc:  # broker gone, group errors: keep trying, loudly
                log.warning("group %r: fetch failed: %s", self._group, failure_reason(exc))
                await asyncio.sleep(_ERROR_PAUSE_S)
                continue
            if not records:
                continue
            for tp, partition_records in records.items():
                self._unhandled_from.setdefault(tp, partition_records[0].offset)
            self._idle.clear()
            try:
                await self._handle(records)
            except Exception as exc:
                # Not acknowledged: fetch the batch again, or let the next owner have it.
                log.error(
                    "group %r: batch not handled, retrying: %s", self._group, failure_reason(exc)
                )
                self._rewind(records)
                await asyncio.sleep(_ERROR_PAUSE_S)
            finally:
                self._idle.set()

    async def _handle(self, records: dict[Any, list[Any]]) -> None:
        """Decode, deliver and commit one fetched batch (records per TopicPartition)."""
        batch: list[Envelope] = []
        topics: list[str] = []
        unreadable: list[tuple[str, Any, str]] = []
        offsets: dict[Any, int] = {}
        for tp, partition_records in records.items():
            before = len(batch)
            for record in partition_records:
                try:
                    batch.append(decode(record.value))
                except UnreadableEvent as exc:
                    unreadable.append((tp.topic, record, exc.reason))
                except TypeError:  # no value at all (a tombstone)
                    unreadable.append((tp.topic, record, "cannot decode event: no value"))
            topics += [tp.topic] * (len(batch) - before)
            offsets[tp] = partition_records[-1].offset + 1
        for topic, record, reason in unreadable:
            await self._dead_letter_unreadable(topic, record, reason)
        if batch:
            await deliver(
                batch,
                topics,
                self._group,
                self._handler,
                self._options,
                self._bus.publish,
                self._ages_s,
            )
        self._unhandled_from.update(offsets)
        await self._commit(offsets)

    async def _dead_letter_unreadable(self, topic: str, record: Any, reason: str) -> None:
        """`attempts` is 0: the handler never saw it. The key keeps its partition."""
        key = record.key.decode("utf-8", "replace") if record.key else ""
        raw = record.value or b""
        await self._bus.publish(*dead_letter(topic, self._group, reason, 0, raw, "", key))

    async def _commit(self, offsets: dict[Any, int]) -> None:
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
            log.info("group %r rebalanced before a commit; its events come again", self._group)
        except (KafkaError, *UNREACHABLE) as exc:
            log.warning("group %r: commit failed: %s", self._group, failure_reason(exc))

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
