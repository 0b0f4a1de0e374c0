"""A listener on the Redis Streams bus (`Bus.listen`): plain XREAD over every partition
stream of its topics, in no consumer group, so it leaves nothing in Redis.

It keeps, per stream, the id of the last entry it handled (in memory only) and reads on
from there; `start="latest"` begins at the stream's last generated id as `listen` found
it (a stream that does not exist yet: at 0, so everything it will hold is new),
`start="oldest"` at 0. Entries trimmed (`MAXLEN ~`) before the listener got to them are
simply not seen. A lost connection is retried with backoff, from the same ids.

Lag comes from each stream's `entries-added` counter (XINFO STREAM, Redis 7): the
entries added since the listener's start minus those it handled, at most the stream's
length (so entries trimmed unread stop counting once they are gone).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import redis.asyncio as aioredis
from redis.asyncio.connection import Connection
from redis.exceptions import RedisError, ResponseError

from tradewind.bus.delivery import deliver, skip_dead_letter
from tradewind.bus.envelope import Envelope, UnreadableEvent
from tradewind.bus.port import BatchHandler, ConsumerOptions, Start, task_failure
from tradewind.bus.redis_leases import Unit
from tradewind.bus.redis_reading import (
    cancel_until_done,
    entry_envelope,
    read_window,
    unreadable_entry,
)

if TYPE_CHECKING:
    from tradewind.bus.redis_streams import RedisStreamsBus

log = logging.getLogger(__name__)

_MAX_RETRY_PAUSE_S = 2.0  # longest pause between reads while Redis is failing


class RedisStreamsListener:
    """A listener on `topics`: one consumer task reading on connection `conn` (its own,
    where reads block for up to `block_ms`); `client` (the bus's pool) answers `lag`."""

    def __init__(
        self,
        bus: RedisStreamsBus,
        client: aioredis.Redis,
        conn: Connection,
        topics: tuple[str, ...],
        name: str,
        handler: BatchHandler,
        options: ConsumerOptions,
    ) -> None:
        self._bus = bus
        self._client = client
        self._conn = conn
        self._name = name
        self._handler = handler
        self._options = options
        self._block_ms = bus.settings.block_ms
        self._units: list[Unit] = [
            (t, p) for t in sorted(set(topics)) for p in range(bus.partitions)
        ]
        self._stream = {u: bus._stream_keys(u[0])[u[1]] for u in self._units}
        self._unit_of = {key: unit for unit, key in self._stream.items()}
        self._ids: dict[Unit, bytes] = {}  # the last entry id handled (or the start)
        self._counted: dict[Unit, int] = {}  # `entries-added` at that entry
        self._stopping = False
        self._task: asyncio.Task[None] | None = None
        self._rotation = 0
        self._ages_s: dict[str, float] = {}

    @property
    def failure(self) -> str | None:
        return task_failure([self._task])

    @property
    def group(self) -> str:
        return self._name

    def partitions(self) -> frozenset[int]:
        if self._task is None:
            return frozenset()
        return frozenset(partition for _, partition in self._units)

    def sole_partitions(self) -> frozenset[int]:
        return self.partitions()  # a listener reads every partition: no group to share them

    async def lag(self) -> dict[str, int]:
        """Per topic, the entries added to its streams since the listener's position,
        at most each stream's length (one round trip on the shared pool)."""
        lag = {topic: 0 for topic, _ in self._units}
        if self._task is None:
            return lag
        for unit, info in zip(self._units, await self._stream_infos(), strict=True):
            if info is None:
                continue
            added, length = _entries_added(info), int(info["length"])
            lag[unit[0]] += max(0, min(added - self._counted[unit], length))
        return lag

    def event_age_s(self) -> Mapping[str, float]:
        return self._ages_s

    async def begin(self, start: Start) -> None:
        """Fix the starting position of every stream, then start reading."""
        for unit, info in zip(self._units, await self._stream_infos(), strict=True):
            if info is None:  # no stream yet: all it will hold comes after the start
                self._ids[unit], self._counted[unit] = b"0-0", 0
            elif start == "latest":
                self._ids[unit] = info["last-generated-id"]
                self._counted[unit] = _entries_added(info)
            else:
                self._ids[unit] = b"0-0"
                self._counted[unit] = _entries_added(info) - int(info["length"])
        self._task = asyncio.get_running_loop().create_task(
            self._consume(), name=f"bus-listener:{self._name}"
        )

    async def stop(self) -> None:
        """Finish the batch in flight, then disconnect."""
        task, self._task = self._task, None
        self._stopping = True
        try:
            if task is not None:
                await task
        finally:
            await self._conn.disconnect()
            self._bus._forget(self)

    async def kill(self) -> None:
        """Die like a crashed process: abandon the batch in flight."""
        task, self._task = self._task, None
        self._stopping = True
        if task is not None:
            await cancel_until_done(task)
        await self._conn.disconnect()
        self._bus._forget(self)

    async def _stream_infos(self) -> list[dict[str, Any] | None]:
        """XINFO STREAM of every stream read, in `_units` order; None where missing."""
        pipe = self._client.pipeline(transaction=False)
        for unit in self._units:
            pipe.xinfo_stream(self._stream[unit])
        infos: list[dict[str, Any] | None] = []
        for reply in await pipe.execute(raise_on_error=False):
            if isinstance(reply, ResponseError) and "no such key" in str(reply):
                infos.append(None)
            elif isinstance(reply, Exception):
                raise reply
            else:
                infos.append(reply)
        return infos

    async def _consume(self) -> None:
        """Read and deliver until stopped; ride out Redis outages."""
        failures = 0
        while not self._stopping:
            try:
                reply = await self._read()
                failures = 0
            except (RedisError, OSError) as exc:
                failures += 1
                if failures == 1:  # one line per outage, not one per retry
                    log.warning("listener %r: reading from Redis failed: %s", self._name, exc)
                await asyncio.sleep(min(_MAX_RETRY_PAUSE_S, 0.05 * 2**failures))
                continue
            except Exception:
                log.exception("listener %r stopped on an unexpected error", self._name)
                raise
            if reply:
                await self._hand_over(reply)

    async def _read(self) -> Any:
        """One XREAD of at most max_batch entries after the ids handled."""
        units, count, self._rotation = read_window(
            self._units, self._options.max_batch, self._rotation
        )
        streams = [self._stream[u] for u in units]
        ids = [self._ids[u] for u in units]
        read: tuple[Any, ...] = (
            "XREAD",
            "COUNT",
            count,
            "BLOCK",
            self._block_ms,
            "STREAMS",
            *streams,
            *ids,
        )
        conn = self._conn
        await conn.send_packed_command(conn.pack_command(*read), False)
        return await conn.read_response()

    async def _hand_over(self, reply: Any) -> None:
        """Decode a read's entries, skip the unreadable, hand the rest to the handler,
        then move the ids on."""
        batch: list[Envelope] = []
        topics: list[str] = []
        read: list[tuple[Unit, bytes, int]] = []
        for stream, entries in reply.items() if isinstance(reply, dict) else reply:
            if not entries:
                continue
            unit = self._unit_of[stream]
            topic = unit[0]
            read.append((unit, entries[-1][0], len(entries)))
            for entry_id, fields in entries:
                try:
                    env = entry_envelope(fields)
                except UnreadableEvent as exc:
                    await skip_dead_letter(
                        *unreadable_entry(unit, entry_id, fields, self._name, exc.reason)
                    )
                    continue
                batch.append(env)
                topics.append(topic)
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
        for unit, last_id, count in read:
            self._ids[unit] = last_id
            self._counted[unit] += count


def _entries_added(info: Mapping[str, Any]) -> int:
    """A stream's `entries-added` (Redis 7); before 7, its length, which makes `lag`
    a rough guess."""
    added = info.get("entries-added")
    return int(info["length"] if added is None else added)
