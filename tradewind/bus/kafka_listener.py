"""A listener on the Kafka bus (`Bus.listen`): an aiokafka consumer with no group
(`group_id=None`) assigned every partition of its topics by hand, so it joins nothing,
commits nothing and leaves nothing on the broker.

`start="oldest"` seeks to the beginning. `start="latest"` seeks to the end that
ListOffsets reports, then, because Tansu 0.6 answers ListOffsets with the last record
batch's base offset + 1 (short of the true end), fetches once to learn each partition's
high watermark and seeks there if it is further: events published before `listen`
returned are never delivered. An offset the broker no longer has (trimmed) resets to the
oldest it has. A topic missing when `listen` starts is created first, as `subscribe`
does.

Known gap: a broker that loses its data while a listener runs (Tansu restarted, a lost
volume) starts its logs again at offset 0, and the listener goes on from its own
offsets: the new log's first events below them are not seen, unless the listener
fetches before the log grew past them (then it starts from the oldest). A group, whose
committed offsets the broker lost too, starts again from the oldest instead.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from aiokafka.errors import KafkaError  # type: ignore[import-untyped]

from tradewind.bus.delivery import dead_letter, deliver, skip_dead_letter
from tradewind.bus.envelope import Envelope, UnreadableEvent, decode
from tradewind.bus.kafka_errors import UNREACHABLE, bus_error, failure_reason
from tradewind.bus.kafka_settings import KafkaSettings
from tradewind.bus.port import BatchHandler, ConsumerOptions, Start, cancel_requested, task_failure

if TYPE_CHECKING:
    import ssl

    from tradewind.bus.kafka import KafkaBus

log = logging.getLogger(__name__)

_POLL_MS = 1_000  # getmany's wait for records; stop() cancels it, so only a bound
_ERROR_PAUSE_S = 1.0  # before fetching again after a failure (broker gone)


def listener_kwargs(settings: KafkaSettings, ssl_context: ssl.SSLContext | None) -> dict[str, Any]:
    """aiokafka consumer arguments for a listener: no group, nothing committed."""
    return {
        **settings.connection_kwargs(ssl_context),
        "group_id": None,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "fetch_max_wait_ms": settings.fetch_max_wait_ms,
        "fetch_min_bytes": settings.fetch_min_bytes,
    }


class KafkaListener:
    """A listener on `partitions` (every TopicPartition of `topics`); `consumer` is its
    aiokafka consumer (`listener_kwargs`), not yet started."""

    def __init__(
        self,
        bus: KafkaBus,
        settings: KafkaSettings,
        consumer: Any,
        partitions: tuple[Any, ...],
        name: str,
        handler: BatchHandler,
        options: ConsumerOptions,
    ) -> None:
        self._bus = bus
        self._settings = settings
        self._consumer: Any = consumer
        self._assigned = partitions
        self._topics = tuple(dict.fromkeys(tp.topic for tp in partitions))
        self._name = name
        self._handler = handler
        self._options = options
        self._idle = asyncio.Event()  # set while no batch is in flight
        self._idle.set()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._ages_s: dict[str, float] = {}
        # Per TopicPartition, the first offset not yet handled once a batch was fetched.
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
        return frozenset(tp.partition for tp in self._assigned)

    def sole_partitions(self) -> frozenset[int]:
        return self.partitions()  # a listener reads every partition: no group to share them

    async def lag(self) -> dict[str, int]:
        """The partitions' end offsets (one request, or the highwater of the last fetch
        if higher) minus the first offset not yet handled."""
        lag = dict.fromkeys(self._topics, 0)
        if self._task is None:
            return lag
        consumer = self._consumer
        ends = await consumer.end_offsets(list(self._assigned))
        for tp, end in ends.items():
            end = max(end, consumer.highwater(tp) or 0)  # Tansu: see the module doc
            start = self._unhandled_from.get(tp)
            if start is None:
                start = await consumer.position(tp)
            lag[tp.topic] += max(0, end - start)
        return lag

    def event_age_s(self) -> Mapping[str, float]:
        return self._ages_s

    async def begin(self, start: Start) -> None:
        """Connect, take every partition and seek to `start`; raises `BusUnavailable`
        (or `BusError`) if Kafka cannot be reached or refuses."""
        settings = self._settings
        consumer = self._consumer
        try:
            async with asyncio.timeout(settings.connect_timeout_s):
                await consumer.start()
                consumer.assign(list(self._assigned))
                if start == "oldest":
                    await consumer.seek_to_beginning(*self._assigned)
                else:
                    await self._seek_to_end()
        except (KafkaError, *UNREACHABLE) as exc:
            await self._close_consumer()
            if isinstance(exc, TimeoutError):
                exc = TimeoutError(f"no answer within {settings.connect_timeout_s:g} s")
            raise bus_error(
                f"cannot reach Kafka at {settings.servers_text} for listener {self._name!r}", exc
            ) from exc
        except BaseException:
            await self._close_consumer()
            raise
        self._task = asyncio.get_running_loop().create_task(
            self._consume(), name=f"bus-listener:{self._name}"
        )

    async def _seek_to_end(self) -> None:
        """Seek past every event published so far (see the module doc for Tansu)."""
        consumer = self._consumer
        await consumer.seek_to_end(*self._assigned)
        ends = {tp: await consumer.position(tp) for tp in self._assigned}
        # A fetch answers each partition's high watermark; what it returns was
        # published before `listen` returned, so it is dropped by the seek below.
        while any(consumer.highwater(tp) is None for tp in self._assigned):
            await consumer.getmany(timeout_ms=_POLL_MS)
        for tp, end in ends.items():
            consumer.seek(tp, max(end, consumer.highwater(tp)))

    async def stop(self) -> None:
        """Finish the batch in flight (at most `max_poll_interval_ms`), then disconnect."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        if self._idle.is_set():
            task.cancel()  # it waits for records; nothing is in flight
        await asyncio.wait({task}, timeout=self._settings.max_poll_interval_ms / 1000)
        if not task.done():
            log.warning("listener %r: the handler did not finish; abandoning it", self._name)
            task.cancel()
            await asyncio.wait({task})
        await self._leave(task)

    async def kill(self) -> None:
        """Die like a crashed instance: abandon the batch in flight."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        task.cancel()
        await asyncio.wait({task}, timeout=self._settings.revoke_wait_ms / 1000)
        if not task.done():
            log.warning("listener %r: the loop ignored its cancel; abandoning it", self._name)
        await self._leave(task)

    async def _leave(self, task: asyncio.Task[None]) -> None:
        self._bus.forget(self)
        if task.done() and not task.cancelled() and task.exception() is not None:
            log.error("listener %r: the loop failed", self._name, exc_info=task.exception())
        await self._close_consumer()

    async def _close_consumer(self) -> None:
        """Close the connections; there is no group to leave, so nothing to wait for
        beyond one request."""
        try:
            async with asyncio.timeout(self._settings.request_timeout_ms / 1000):
                await self._consumer.stop()
        except (KafkaError, *UNREACHABLE) as exc:
            log.warning("listener %r: closing uncleanly: %s", self._name, failure_reason(exc))
        except asyncio.CancelledError:
            if cancel_requested():
                raise  # this stop itself is being cancelled
            # aiokafka#647: Fetcher.close lets a cancelled retry out of consumer.stop.
            await self._consumer._client.close()

    async def _consume(self) -> None:
        consumer = self._consumer
        max_batch = self._options.max_batch
        while not self._stopping:
            try:
                records = await consumer.getmany(timeout_ms=_POLL_MS, max_records=max_batch)
            except Exception as exc:  # broker gone: keep trying, loudly
                log.warning("listener %r: fetch failed: %s", self._name, failure_reason(exc))
                await asyncio.sleep(_ERROR_PAUSE_S)
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
        """Decode and deliver one fetched batch (records per TopicPartition)."""
        batch: list[Envelope] = []
        topics: list[str] = []
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
                    await skip_dead_letter(
                        *dead_letter(tp.topic, self._name, reason, 0, raw, "", key)
                    )
            topics += [tp.topic] * (len(batch) - before)
        if batch:
            await deliver(
                batch,
                topics,
                self._name,
                self._handler,
                self._options,
                skip_dead_letter,
                self._ages_s,
            )
        for tp, partition_records in records.items():
            self._unhandled_from[tp] = partition_records[-1].offset + 1
