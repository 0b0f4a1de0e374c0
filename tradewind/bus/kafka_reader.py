"""What a member of a Kafka consumer group (`kafka_consumer`) and a Kafka listener
(`kafka_listener`) do alike, each with one aiokafka consumer of its own: fetch at most
`max_batch` records, decode them, give the unreadable up, hand the rest to the handler
as one batch through `tradewind.bus.delivery.deliver`, then acknowledge; count lag from
the first offset not yet handled; stop (drain the batch in flight) or die (abandon it).

What differs is the subclass's: which partitions it reads (`_assignment`: the group's
assignment, or every partition), where a given-up event goes (`give_up`: the
dead-letter topic, or a logged skip), how a handled batch is acknowledged
(`_acknowledge`: a commit, or nothing), and how long closing may take (`close_budget_s`:
a member leaves its group, a listener only disconnects).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Mapping
from typing import TYPE_CHECKING, Any, ClassVar

from aiokafka.errors import KafkaError  # type: ignore[import-untyped]

from tradewind.bus.delivery import PublishDeadLetter, dead_letter, deliver
from tradewind.bus.envelope import Envelope, UnreadableEvent, decode
from tradewind.bus.kafka_errors import UNREACHABLE, bus_error, failure_reason
from tradewind.bus.kafka_settings import KafkaSettings
from tradewind.bus.port import (
    BatchHandler,
    ConsumerOptions,
    cancel_requested,
    task_failure,
)
from tradewind.errors import BusError

if TYPE_CHECKING:
    from tradewind.bus.kafka import KafkaBus

log = logging.getLogger(__name__)

POLL_MS = 1_000  # getmany's wait for records; stop() cancels it, so only a bound
ERROR_PAUSE_S = 1.0  # before fetching again after a failure (broker gone, DLQ down)


class KafkaReader:
    """A running reader of `topics` named `name` (a group's name, a listener's), on
    `consumer`, the bus's aiokafka consumer for it, not yet started."""

    #: How logs name a reader of the kind, before its name: "group", "listener".
    kind: ClassVar[str]

    def __init__(
        self,
        bus: KafkaBus,
        settings: KafkaSettings,
        consumer: Any,
        topics: tuple[str, ...],
        name: str,
        handler: BatchHandler,
        options: ConsumerOptions,
        *,
        give_up: PublishDeadLetter,
        close_budget_s: float,
    ) -> None:
        self._bus = bus
        self._settings = settings
        self._consumer: Any = consumer
        self._topics = topics
        self._name = name
        self._handler = handler
        self._options = options
        self._give_up = give_up
        self._close_budget_s = close_budget_s
        self._idle = asyncio.Event()  # set while no batch is in flight
        self._idle.set()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._ages_s: dict[str, float] = {}
        # Per TopicPartition, the first offset not yet handled, as far as this reader
        # knows (from the batches it fetched and handled since it got the partition).
        self._unhandled_from: dict[Any, int] = {}

    @property
    def failure(self) -> str | None:
        return task_failure([self._task])

    @property
    def group(self) -> str:
        return self._name

    @property
    def topics(self) -> tuple[str, ...]:
        return self._topics

    @property
    def kafka_client(self) -> Any:
        """The consumer's aiokafka client (its view of the cluster's metadata)."""
        return self._consumer._client

    def partitions(self) -> frozenset[int]:
        if self._task is None:
            return frozenset()
        return frozenset(tp.partition for tp in self._assignment())

    def sole_partitions(self) -> frozenset[int]:
        """`partitions()`: a listener reads every partition, with no group to share them
        (a group member says otherwise)."""
        return self.partitions()

    def event_age_s(self) -> Mapping[str, float]:
        return self._ages_s

    async def lag(self) -> dict[str, int]:
        """The partitions' end offsets (one request to the broker, or the highwater of
        the last fetch if higher) minus the first offset not yet handled (the batch in
        flight's first, else the consumer's position)."""
        lag = dict.fromkeys(self._topics, 0)
        if self._task is None:
            return lag
        consumer = self._consumer
        assigned = self._assignment()
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

    async def stop(self) -> None:
        """Drain: finish and acknowledge the batch in flight, then close (a member leaves
        its group). A batch still unfinished after `max_poll_interval_ms` is abandoned
        as by `kill` (a group has given its partitions to the others by then anyway); a
        commit the broker has not taken within `revoke_wait_ms` is given up (the events
        come again). Raises nothing for a broker that cannot be reached."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        if self._idle.is_set():
            task.cancel()  # it waits for records; nothing is in flight
        await asyncio.wait({task}, timeout=self._settings.max_poll_interval_ms / 1000)
        if not task.done():
            log.warning("%s %r: the handler did not finish; abandoning it", self.kind, self._name)
            task.cancel()
            await asyncio.wait({task})
        await self._leave(task)

    async def kill(self) -> None:
        """Die like a crashed instance: abandon the batch in flight unacknowledged, then
        close the connection (a group hands the partitions to the others)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True  # a cancel swallowed inside aiokafka must not loop on
        task.cancel()
        await asyncio.wait({task}, timeout=self._settings.revoke_wait_ms / 1000)
        if not task.done():
            log.warning(
                "%s %r: the consume loop ignored its cancel; abandoning it", self.kind, self._name
            )
        await self._leave(task)

    def _cannot_reach(self, exc: BaseException) -> BusError:
        """The error for a consumer that could not start: `BusUnavailable` for Kafka out
        of reach (a timeout says how long it waited), else `BusError`."""
        if isinstance(exc, TimeoutError):
            exc = TimeoutError(f"no answer within {self._settings.connect_timeout_s:g} s")
        return bus_error(
            f"cannot reach Kafka at {self._settings.servers_text} for {self.kind} {self._name!r}",
            exc,
        )

    async def _leave(self, task: asyncio.Task[None]) -> None:
        """Close the consumer (a group member's tells the group it left: LeaveGroup)."""
        self._bus.forget(self)
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error(
                "%s %r: the consume loop failed", self.kind, self._name, exc_info=task.exception()
            )
        await self._close_consumer()

    async def _close_consumer(self) -> None:
        """Stop the consumer within `close_budget_s`. Raises nothing for a broker that
        cannot be reached."""
        try:
            async with asyncio.timeout(self._close_budget_s):
                await self._consumer.stop()
        except (KafkaError, *UNREACHABLE) as exc:
            log.warning("%s %r: closing uncleanly: %s", self.kind, self._name, failure_reason(exc))
        except asyncio.CancelledError:
            if cancel_requested():
                raise  # this stop itself is being cancelled
            # aiokafka's Fetcher.close cancels a fetch that was waiting to retry (the
            # broker gone) and lets that cancellation out of consumer.stop (aiokafka#647),
            # before it closed the connections.
            log.warning(
                "%s %r: closing uncleanly: the broker cannot be reached", self.kind, self._name
            )
            await self._consumer._client.close()

    async def _consume(self) -> None:
        consumer = self._consumer
        max_batch = self._options.max_batch
        while not self._stopping:
            try:
                records = await consumer.getmany(timeout_ms=POLL_MS, max_records=max_batch)
            except Exception as exc:  # broker gone, group errors: keep trying, loudly
                log.warning("%s %r: fetch failed: %s", self.kind, self._name, failure_reason(exc))
                await asyncio.sleep(ERROR_PAUSE_S)
                continue
            if not records:
                continue
            for tp, partition_records in records.items():
                self._unhandled_from.setdefault(tp, partition_records[0].offset)
            self._idle.clear()
            try:
                await self._handle(records)
            finally:
                self._idle.set()

    async def _handle(self, records: dict[Any, list[Any]]) -> None:
        """Decode, deliver and acknowledge one fetched batch (records per TopicPartition).
        Records that cannot be decoded go to `give_up` first, with 0 attempts (the handler
        never saw them) and their key, which keeps their partition."""
        batch: list[Envelope] = []
        topics: list[str] = []
        letters: list[tuple[str, Envelope]] = []
        for tp, partition_records in records.items():
            before = len(batch)
            for record in partition_records:
                try:
                    batch.append(decode(record.value))
                except (UnreadableEvent, TypeError) as exc:  # TypeError: no value at all
                    reason = (
                        exc.reason
                        if isinstance(exc, UnreadableEvent)
                        else "cannot decode event: no value"
                    )
                    key = record.key.decode("utf-8", "replace") if record.key else ""
                    raw = record.value or b""
                    letters.append(dead_letter(tp.topic, self._name, reason, 0, raw, "", key))
            topics += [tp.topic] * (len(batch) - before)
        for letter in letters:
            await self._give_up(*letter)
        if batch:
            await deliver(
                batch,
                topics,
                self._name,
                self._handler,
                self._options,
                self._give_up,
                self._ages_s,
            )
        offsets = {
            tp: partition_records[-1].offset + 1 for tp, partition_records in records.items()
        }
        self._unhandled_from.update(offsets)
        await self._acknowledge(offsets)

    def _assignment(self) -> Collection[Any]:
        """The TopicPartitions this reader reads now."""
        raise NotImplementedError

    async def _acknowledge(self, offsets: dict[Any, int]) -> None:
        """Acknowledge a handled batch: `offsets`, per TopicPartition, the next to read."""
        raise NotImplementedError
