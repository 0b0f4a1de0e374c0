"""The transactional outbox: a write and the events it implies commit together, and a
relay publishes them afterwards (at least once; consumers dedupe by event id).

`enqueue` runs inside the caller's transaction. `OutboxRelay` polls for unpublished
rows in id order, publishes them in batches per topic, then marks them published. On
PostgreSQL several relays may run: rows are claimed with `FOR UPDATE SKIP LOCKED`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tradewind.bus.envelope import Envelope, decode, encode
from tradewind.bus.port import Bus
from tradewind.store.database import Database
from tradewind.store.schema import outbox


async def enqueue(conn: AsyncConnection, topic: str, events: Sequence[Envelope]) -> None:
    """Stage `events` for `topic` in the caller's transaction."""
    if not events:
        return
    now = datetime.now(UTC)
    await conn.execute(
        insert(outbox),
        [
            {"topic": topic, "event_key": e.key, "envelope": encode(e), "created_at": now}
            for e in events
        ],
    )


class OutboxRelay:
    """Moves committed outbox rows onto the bus."""

    def __init__(self, db: Database, bus: Bus, *, batch: int = 500, poll_s: float = 0.05) -> None:
        self._db = db
        self._bus = bus
        self._batch = batch
        self._poll_s = poll_s
        self._task: asyncio.Task[None] | None = None
        self._wakeup = asyncio.Event()

    def poke(self) -> None:
        """Something was enqueued: relay it now instead of at the next poll."""
        self._wakeup.set()

    async def relay_once(self) -> int:
        """Publish one batch of unpublished rows; returns how many."""
        async with self._db.transaction() as conn:
            query = select(outbox.c.id, outbox.c.topic, outbox.c.envelope).where(
                outbox.c.published_at.is_(None)
            )
            query = query.order_by(outbox.c.id).limit(self._batch)
            if self._db.dialect == "postgresql":
                query = query.with_for_update(skip_locked=True)
            rows = (await conn.execute(query)).all()
            if not rows:
                return 0
            by_topic: dict[str, list[Envelope]] = defaultdict(list)
            for row in rows:
                by_topic[row.topic].append(decode(row.envelope))
            for topic, events in by_topic.items():
                await self._bus.publish_batch(topic, events)
            ids = [row.id for row in rows]
            await conn.execute(
                update(outbox).where(outbox.c.id.in_(ids)).values(published_at=datetime.now(UTC))
            )
            return len(rows)

    async def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="outbox-relay")

    async def stop(self) -> None:
        """Relay what is left, then stop."""
        if self._task is None:
            return
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None
        while await self.relay_once():
            pass

    async def _run(self) -> None:
        while True:
            if await self.relay_once() >= self._batch:
                continue
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._poll_s)
