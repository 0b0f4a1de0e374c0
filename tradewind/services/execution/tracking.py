"""Applying what a venue says to the tracked orders: order reports (REST answers, lookups,
the order stream) and fills.

A report that carries its fills (a placement's answer, an order-stream update of an
execution, where the venue sends them) has them booked at once. A report that shows more
executed than the fills seen so far makes the order miss fills
(`TrackedOrder.missing_fill_quantity`); `collect_fills` then asks the venue for the
account's fills on that symbol since the order's watermark (its first report, then its
latest fill seen, minus `fill_lookback_ms` unless the venue is in this process) with one
call per symbol, however many orders wait, and turns each new one into a `Fill` for the
outbox. A fetch that fails is tried again after a backoff, so an order that was reported
filled and then goes quiet still gets its fills.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterable
from functools import partial

import structlog

from tradewind.domain.backoff import Backoff
from tradewind.domain.events import Fill
from tradewind.domain.orders import OrderError, TrackedOrder
from tradewind.domain.time_units import NS_PER_MS
from tradewind.errors import TradewindError
from tradewind.services.execution.account_session import AccountSession
from tradewind.services.execution.gate import FETCH_FILLS
from tradewind.services.execution.metrics import ExecutionMetrics
from tradewind.services.execution.outbox import EventOutbox
from tradewind.venues.port import VenueFill, VenueOrder


class OrderTracker:
    """Applies venue order reports and fills to one service's tracked orders, and fetches
    the fills an order is missing (`collect_fills`)."""

    def __init__(
        self,
        outbox: EventOutbox,
        metrics: ExecutionMetrics,
        log: structlog.stdlib.BoundLogger,
        *,
        fill_lookback_ms: int,
        retry: Backoff,
    ) -> None:
        self._outbox = outbox
        self._metrics = metrics
        self._log = log
        self._lookback_ms = fill_lookback_ms
        self._retry = retry
        self._retrying: dict[str, asyncio.Task[None]] = {}

    def apply_report(
        self, session: AccountSession, order: TrackedOrder, report: VenueOrder
    ) -> bool:
        """Apply one report about `order`; True if the order now misses fills."""
        try:
            changed = order.apply_venue_report(report, ts_ns=time.time_ns())
        except OrderError as exc:
            self._inconsistent(session, exc)
            return False
        session.activity += 1
        if changed:
            self._outbox.order_changed(order, session.traces.get(order.client_order_id))
        if report.fills:  # the answer carried its executions: nothing to read apart
            self.apply_fills(session, list(report.fills))
        if order.missing_fill_quantity > 0:
            session.fills_since_ms.setdefault(order.client_order_id, report.updated_ms)
            return True
        return False

    def apply_reports(self, session: AccountSession, reports: Iterable[VenueOrder]) -> bool:
        """Apply reports about any of the session's orders (others are not ours, or are
        finished); True if some order now misses fills."""
        missing = False
        orders = session.orders
        for report in reports:
            order = orders.get(report.client_order_id)
            if order is not None:
                missing |= self.apply_report(session, order, report)
        return missing

    async def collect_fills(self, session: AccountSession) -> None:
        """Fetch and apply the fills the session's orders miss, then retire the orders
        that are finished. A failed fetch is retried later (and logged), not raised."""
        async with session.fills_lock:
            wanted: dict[str, int] = {}
            for cid, order in session.orders.items():
                if order.missing_fill_quantity > 0:
                    symbol = order.instrument.symbol
                    since = session.fills_since_ms.get(cid, 0)
                    wanted[symbol] = min(wanted.get(symbol, since), since)
            # A venue in this process stamps orders and trades with one clock.
            lookback_ms = 0 if session.gate.local else self._lookback_ms
            try:
                for symbol, since in wanted.items():
                    since_ms = max(0, since - lookback_ms)
                    fetch = partial(session.venue.fetch_my_fills, symbol, since_ms)
                    self.apply_fills(session, await session.gate.call(FETCH_FILLS, fetch))
            except (TradewindError, TimeoutError, ConnectionError) as exc:
                self._log.warning(
                    "fills not fetched; retrying later",
                    account_id=session.account_id,
                    venue=session.venue_name,
                    error=str(exc),
                )
                self._retry_later(session)
            session.retire_finished()

    def apply_fills(self, session: AccountSession, fills: list[VenueFill]) -> None:
        """Book `fills` on the session's tracked orders they belong to (each trade once);
        fills of other orders are ignored."""
        orders = session.orders
        # Built only if a fill lacks a client order id we track: a placement's answer
        # carries its own fills, and indexing every tracked order for each of them made
        # an order's cost grow with the account's orders in flight.
        by_venue_id: dict[str, TrackedOrder] | None = None
        counter = self._metrics.fills.labels(session.venue_name)
        for fill in fills:
            order = orders.get(fill.client_order_id)
            if order is None and fill.venue_order_id:
                if by_venue_id is None:
                    by_venue_id = {o.venue_order_id: o for o in orders.values() if o.venue_order_id}
                order = by_venue_id.get(fill.venue_order_id)
            if order is None or fill.trade_id in order.trade_ids:
                continue
            before = (order.state, order.filled_quantity)
            cid = order.client_order_id
            try:
                order.apply_fill(fill.trade_id, fill.quantity, fill.price, ts_ns=time.time_ns())
            except OrderError as exc:
                self._inconsistent(session, exc)
                continue
            session.activity += 1
            if fill.ts_ms > session.fills_since_ms.get(cid, 0):
                session.fills_since_ms[cid] = fill.ts_ms
            trace_id = session.traces.get(cid)
            self._outbox.fill(_fill_event(session.account_id, order, fill), trace_id)
            counter.inc()
            if (order.state, order.filled_quantity) != before:
                self._outbox.order_changed(order, trace_id)

    def _retry_later(self, session: AccountSession) -> None:
        running = self._retrying.get(session.account_id)
        if running is not None and not running.done():
            return
        task = asyncio.create_task(self._collect_after_delay(session))
        self._retrying[session.account_id] = task
        session.tasks = [t for t in session.tasks if not t.done()]
        session.tasks.append(task)

    async def _collect_after_delay(self, session: AccountSession) -> None:
        await asyncio.sleep(self._retry.delay_s(self._retry.max_retries or 1))
        self._retrying.pop(session.account_id, None)
        await self.collect_fills(session)
        try:
            await self._outbox.flush()
        except Exception as exc:  # the next flush, from anywhere, carries it
            self._log.warning("flush failed", account_id=session.account_id, error=str(exc))

    def _inconsistent(self, session: AccountSession, exc: OrderError) -> None:
        self._metrics.inconsistent_reports.labels(session.venue_name).inc()
        self._log.error(
            "inconsistent venue report dropped",
            account_id=session.account_id,
            venue=session.venue_name,
            client_order_id=exc.client_order_id,
            trace_id=session.traces.get(exc.client_order_id),
            error=str(exc),
        )


def _fill_event(account_id: str, order: TrackedOrder, fill: VenueFill) -> Fill:
    return Fill(
        account_id=account_id,
        client_order_id=order.client_order_id,
        venue_order_id=fill.venue_order_id or order.venue_order_id or "",
        trade_id=fill.trade_id,
        instrument=order.instrument,
        side=fill.side,
        price=fill.price,
        quantity=fill.quantity,
        fee=fill.fee,
        fee_asset=fill.fee_asset,
        liquidity=fill.liquidity,
        ts_ns=fill.ts_ms * NS_PER_MS,
        quote_quantity=fill.quote_quantity,
    )
