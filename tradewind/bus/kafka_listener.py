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
from collections.abc import Collection
from typing import TYPE_CHECKING, Any

from aiokafka.errors import KafkaError  # type: ignore[import-untyped]

from tradewind.bus.delivery import skip_dead_letter
from tradewind.bus.kafka_errors import UNREACHABLE
from tradewind.bus.kafka_reader import POLL_MS, KafkaReader
from tradewind.bus.kafka_settings import KafkaSettings
from tradewind.bus.port import BatchHandler, ConsumerOptions, Start

if TYPE_CHECKING:
    import ssl

    from tradewind.bus.kafka import KafkaBus


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


class KafkaListener(KafkaReader):
    """A listener on `partitions` (every TopicPartition of `topics`); `consumer` is its
    aiokafka consumer (`listener_kwargs`), not yet started."""

    kind = "listener"

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
        super().__init__(
            bus,
            settings,
            consumer,
            tuple(dict.fromkeys(tp.topic for tp in partitions)),
            name,
            handler,
            options,
            give_up=skip_dead_letter,
            # No group to leave: nothing to wait for beyond one request.
            close_budget_s=settings.request_timeout_ms / 1000,
        )
        self._assigned = partitions

    def _assignment(self) -> Collection[Any]:
        return self._assigned

    async def _acknowledge(self, offsets: dict[Any, int]) -> None:
        """Nothing: a listener's position lives in the process (`_unhandled_from` and the
        consumer's own)."""

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
            raise self._cannot_reach(exc) from exc
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
            await consumer.getmany(timeout_ms=POLL_MS)
        for tp, end in ends.items():
            consumer.seek(tp, max(end, consumer.highwater(tp)))
