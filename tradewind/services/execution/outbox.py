"""Execution's events on their way out: collected as they happen, then written to the
orders and fills tables and the latest venue balances (when there is a database)
together with the events themselves in the outbox table, in one transaction; then
published on orders.events in one `publish_batch` and deleted from the outbox; all
under one lock so that flushes never overtake each other. A process killed between the
commit and the publish (or a publish that failed) leaves the events in the outbox, where
the service's relay finds them (`RELAY_MIN_AGE_S` later, at the next start, or on a
twin) and publishes them: no state is committed without its events.

Per flush, fills and balances go out in the order they were observed, then the events
of the orders that changed (their state as of the flush): a consumer sees an order's
fills before the `OrderFilled` they complete, and a balance snapshot before the fills
observed after it (portfolio applies those on top of it). All are keyed by account id;
order events and fills carry the trace id of the intent that started the order. A
flush that fails puts everything back for the next one; the writes are idempotent
(orders by client order id, fills by trade id), so a retry duplicates nothing in the
tables, and consumers dedupe the bus (a relayed event carries the event id it was
staged with).

`flush_soon` hands the flush to the outbox's one flusher task, so that the callers of
one moment (the placement workers of many accounts, and their order streams) share one
transaction and one publish instead of one each: per account and batch, that was one
SQLite transaction per account on top of the batch's own.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import cast

import structlog

from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.port import Bus
from tradewind.bus.topics import ORDERS_EVENTS
from tradewind.domain.events import BalanceUpdate, Event, Fill
from tradewind.domain.order_events import order_event
from tradewind.domain.orders import OrderState, TrackedOrder
from tradewind.store.database import Database
from tradewind.store.outbox import discard, enqueue_returning
from tradewind.store.tracked_orders import order_record
from tradewind.store.trades import insert_fills, upsert_orders
from tradewind.store.venue_balances import save_latest

#: How long a staged event may wait for its own publisher before a relay publishes it.
RELAY_MIN_AGE_S = 2.0

_PendingOrders = dict[str, tuple[TrackedOrder, str | None]]
_Ledger = list[tuple[Fill | BalanceUpdate, str | None]]


class EventOutbox:
    """Pending order changes, fills and balances: written with their events in one
    transaction, then published on orders.events, one flush at a time."""

    def __init__(
        self,
        bus: Bus,
        database: Database | None,
        log: structlog.stdlib.BoundLogger | None = None,
    ) -> None:
        self._bus = bus
        self._database = database
        self._log = log or structlog.stdlib.get_logger(__name__)
        self._lock = asyncio.Lock()
        self._orders: _PendingOrders = {}
        self._ledger: _Ledger = []
        self._flush_wanted = asyncio.Event()
        self._flusher: asyncio.Task[None] | None = None

    @property
    def pending(self) -> bool:
        return bool(self._orders or self._ledger)

    def order_changed(self, order: TrackedOrder, trace_id: str | None) -> None:
        """`order` changed: publish (and store) its state at the next flush."""
        self._orders[order.client_order_id] = (order, trace_id)

    def fill(self, fill: Fill, trace_id: str | None) -> None:
        self._ledger.append((fill, trace_id))

    def balance(self, update: BalanceUpdate) -> None:
        self._ledger.append((update, None))

    async def write_ahead(self, orders: Sequence[TrackedOrder]) -> None:
        """Store `orders` as SENT before they are sent, in one transaction: a process that
        dies mid-send leaves a row saying "look it up", never one saying "not sent"."""
        if self._database is None or not orders:
            return
        now = time.time_ns()
        records = [order_record(o, updated_ns=now, state=OrderState.SENT) for o in orders]
        async with self._database.transaction() as conn:
            await upsert_orders(conn, records)

    async def flush(self) -> None:
        """Store and publish everything pending; on failure it stays pending and this
        raises."""
        if not self.pending:
            return
        async with self._lock:
            orders, self._orders = self._orders, {}
            ledger, self._ledger = self._ledger, []
            if not (orders or ledger):
                return
            events = _envelopes(orders, ledger)
            staged: list[int] = []
            try:
                if self._database is not None:
                    staged = await self._store(orders, ledger, events)
            except BaseException:
                self._orders = orders | self._orders
                self._ledger = ledger + self._ledger
                raise
            if not events:
                return
            if self._database is None:
                try:
                    await self._bus.publish_batch(ORDERS_EVENTS, events)
                except BaseException:
                    self._orders = orders | self._orders
                    self._ledger = ledger + self._ledger
                    raise
                return
            # Committed: from here the outbox holds the events; a failure leaves them
            # to the relay instead of putting them back (they would be staged twice).
            await self._bus.publish_batch(ORDERS_EVENTS, events)
            await discard(self._database, staged)

    def flush_soon(self) -> None:
        """Have everything pending flushed by the one flusher task, with whatever else
        is pending by the time it runs; a flush that fails is logged and its events
        stay pending for the next."""
        self._flush_wanted.set()
        if self._flusher is None or self._flusher.done():
            self._flusher = asyncio.create_task(self._flush_when_wanted())

    async def _flush_when_wanted(self) -> None:
        while True:
            await self._flush_wanted.wait()
            self._flush_wanted.clear()
            try:
                await self.flush()
            except Exception as exc:  # pending stays; the next flush carries it
                self._log.warning("flush failed", error=str(exc) or type(exc).__name__)

    async def close(self) -> None:
        """Stop the flusher (what is pending stays, for a last `flush`)."""
        flusher, self._flusher = self._flusher, None
        if flusher is not None:
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)

    async def _store(
        self, orders: _PendingOrders, ledger: _Ledger, events: Sequence[Envelope]
    ) -> list[int]:
        """Orders, fills, the latest venue balances (`store.venue_balances`) and the
        events they make, in one transaction; the events' outbox row ids."""
        assert self._database is not None
        now = time.time_ns()
        records = [order_record(order, updated_ns=now) for order, _ in orders.values()]
        new_fills = [item for item, _ in ledger if isinstance(item, Fill)]
        balances = [item for item, _ in ledger if isinstance(item, BalanceUpdate)]
        async with self._database.transaction() as conn:
            await upsert_orders(conn, records)
            await insert_fills(conn, new_fills)
            await save_latest(conn, balances)
            return await enqueue_returning(conn, ORDERS_EVENTS, events)


def _envelopes(orders: _PendingOrders, ledger: _Ledger) -> list[Envelope]:
    events = [envelope(item, item.account_id, trace_id) for item, trace_id in ledger]
    for order, trace_id in orders.values():
        event = order_event(order, ts_ns=order.history[-1].ts_ns)
        if event is not None:
            events.append(envelope(cast(Event, event), order.account_id, trace_id))
    return events
