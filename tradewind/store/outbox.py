"""The transactional outbox: a write and the events it implies commit together, and a
relay publishes them afterwards (at least once; consumers dedupe by event id).

`enqueue` runs inside the caller's transaction. `OutboxRelay` polls for unpublished
rows in id order, publishes them in batches per topic, then marks them published. On
PostgreSQL several relays may run: rows are claimed with `FOR UPDATE SKIP LOCKED`.

A service on the hot path (execution) publishes its rows itself right after the commit
and then `discard`s them (`enqueue(..., returning=True)` gives their ids); its relay,
with `min_age_s`, only takes rows left behind longer than that (a crash between commit
and publish, a bus that failed meanwhile), so it never races the publisher.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from tradewind.bus.envelope import Envelope, decode, encode
from tradewind.bus.port import Bus
from tradewind.store.database import Database
from tradewind.store.schema import outbox

log = logging.getLogger(__name__)

_FINISH_S = 5.0  # at stop, for the batch under way to be published and committed


async def enqueue(conn: AsyncConnection, topic: str, events: Sequence[Envelope]) -> None:
    """Stage `events` for `topic` in the caller's transaction."""
    if not events:
        return
    await conn.execute(insert(outbox), _rows(topic, events))


async def enqueue_returning(
    conn: AsyncConnection, topic: str, events: Sequence[Envelope]
) -> list[int]:
    """`enqueue`, returning the rows' ids (for `discard` once published)."""
    if not events:
        return []
    inserted = await conn.execute(insert(outbox).returning(outbox.c.id), _rows(topic, events))
    return [row.id for row in inserted]


async def discard(db: Database, ids: Sequence[int]) -> None:
    """Delete rows their writer published itself."""
    if ids:
        async with db.transaction() as conn:
            await conn.execute(delete(outbox).where(outbox.c.id.in_(ids)))


def _rows(topic: str, events: Sequence[Envelope]) -> list[dict[str, object]]:
    now = datetime.now(UTC)
    return [
        {"topic": topic, "event_key": e.key, "envelope": encode(e), "created_at": now}
        for e in events
    ]


class OutboxRelay:
    """Moves committed outbox rows onto the bus."""

    def __init__(
        self,
        db: Database,
        bus: Bus,
        *,
        batch: int = 500,
        poll_s: float = 0.05,
        min_age_s: float = 0.0,
    ) -> None:
        """`min_age_s`: take only rows staged at least that long ago."""
        self._db = db
        self._bus = bus
        self._batch = batch
        self._poll_s = poll_s
        self._min_age = timedelta(seconds=min_age_s)
        self._task: asyncio.Task[None] | None = None
        self._wakeup = asyncio.Event()
        self._stopping = False

    def poke(self) -> None:
        """Something was enqueued: relay it now instead of at the next poll."""
        self._wakeup.set()

    async def relay_once(self) -> int:
        """Publish one batch of unpublished rows; returns how many."""
        async with self._db.transaction() as conn:
            query = select(outbox.c.id, outbox.c.topic, outbox.c.envelope).where(
                outbox.c.published_at.is_(None)
            )
            if self._min_age:
                query = query.where(outbox.c.created_at <= datetime.now(UTC) - self._min_age)
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

    async def stop(self, *, finish_s: float = _FINISH_S) -> None:
        """Let the batch under way finish (cut between its publish and its commit, it
        would be published again), relay what is left (what cannot be, the next relay
        will), then stop. A batch still hanging after `finish_s` (the bus or the
        database not answering) is cut: its rows stay staged."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wakeup.set()
        _, hanging = await asyncio.wait([task], timeout=finish_s)
        if hanging:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        try:
            while await self.relay_once():
                pass
        except Exception as exc:  # the bus or the database is down: rows stay staged
            log.warning("outbox rows left for the next relay: %s", exc)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                if await self.relay_once() >= self._batch:
                    continue
            except Exception as exc:  # a bus or database outage must not end the relay
                log.warning("outbox relay failed, retrying: %s", exc)
            self._wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wakeup.wait(), self._poll_s)
