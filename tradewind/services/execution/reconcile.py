"""Reconciliation: bring an account's tracked orders, its fills and the platform's view of
its balances back to what the venue says, at session start and every
`execution_reconcile_interval_s` (jittered), and after the order stream was lost.

1. `fetch_open_orders`, per symbol with tracked open orders (many venues want one): a
   tracked order the venue lists is updated from that report; one it does not list ended
   while nobody watched (or never arrived): its own lookup says how. An UNKNOWN order
   the venue has never heard of is rejected ("not placed"): its intent is past, so
   reconciliation never sends it again.
2. The fills those orders miss are fetched (`OrderTracker.collect_fills`), and the
   account's trade history is read for trades no tracked order explains
   (`TradeHistory.sweep`): every venue trade ends up booked.
3. `fetch_balances` becomes one `BalanceUpdate` per asset (zero for an asset that is
   gone since the last one), so that portfolio can set each holding to the venue's
   truth. They are published only if no report or fill arrived while the balances were
   fetched and no order misses fills: otherwise a fill could be counted twice, once in
   the balance and once as itself. At session start that is tried three times, then
   published regardless but marked unsettled (`BalanceUpdate.settled`): risk and books
   that have no starting point take it, books that have one ignore it (the fills that
   follow may be in it already), and the start is tried again soon until a reading is
   settled. Each carries the venue's time of its newest change where the venue gives
   it (`BalanceUpdate.as_of_ns`), so that books can tell a fill already in it from a
   new one whoever published it (a twin, an order that was in flight).

Orders being placed right now (and SENT ones) are their placement's business, skipped.
"""

from __future__ import annotations

import asyncio
import random
import time
from decimal import Decimal
from functools import partial

import structlog

from tradewind.domain.events import BalanceUpdate
from tradewind.domain.orders import OrderState, TrackedOrder
from tradewind.domain.time_units import NS_PER_MS
from tradewind.errors import TradewindError, UnknownOrder
from tradewind.services.execution.account_session import AccountSession
from tradewind.services.execution.gate import FETCH_BALANCES, FETCH_OPEN_ORDERS, FETCH_ORDER
from tradewind.services.execution.metrics import ExecutionMetrics
from tradewind.services.execution.outbox import EventOutbox
from tradewind.services.execution.tracking import OrderTracker
from tradewind.services.execution.trade_history import TradeHistory
from tradewind.venues.port import Balance, VenueOrder

_START_TRIES = 3
_START_RETRY_S = 5.0
_NOTHING = Balance("", Decimal(0), Decimal(0))


class Reconciler:
    """Brings each session's tracked orders, fills and balances back to what the venue says,
    at session start, periodically (jittered) and after the order stream was lost."""

    def __init__(
        self,
        tracker: OrderTracker,
        history: TradeHistory,
        outbox: EventOutbox,
        metrics: ExecutionMetrics,
        log: structlog.stdlib.BoundLogger,
        *,
        interval_s: float,
    ) -> None:
        self._tracker = tracker
        self._history = history
        self._outbox = outbox
        self._metrics = metrics
        self._log = log
        self._interval_s = interval_s

    async def reconcile(self, session: AccountSession, *, starting: bool = False) -> bool:
        """Reconcile one account now; True if it went through (`starting`: and its
        balances were published settled, else the next round, soon, starts again).
        Venue failures are logged and counted, not raised (the next round tries again)."""
        try:
            settled = await self._reconcile(session, starting=starting)
        except (TradewindError, TimeoutError, ConnectionError) as exc:
            self._metrics.reconciliations.labels(session.venue_name, "failed").inc()
            self._log.warning(
                "reconciliation failed",
                account_id=session.account_id,
                venue=session.venue_name,
                error=str(exc),
            )
            return False
        self._metrics.reconciliations.labels(session.venue_name, "ok").inc()
        return settled or not starting

    async def publish_balances(self, session: AccountSession) -> None:
        """Publish the account's balances now (risk asked: it knows none of them), without
        the rest of a reconciliation: one balances call, repeated while fills move them
        (as at a start). Venue failures are logged, not raised: risk asks again."""
        try:
            await self._publish_balances(session, starting=True)
            await self._outbox.flush()
        except (TradewindError, TimeoutError, ConnectionError) as exc:
            self._log.warning(
                "balances not published",
                account_id=session.account_id,
                venue=session.venue_name,
                error=str(exc),
            )

    async def run_periodically(self, session: AccountSession, *, started: bool) -> None:
        """Reconcile every interval, jittered ±20 % so accounts spread out. Until the
        session's first reconciliation went through (`started`), retry it sooner: the
        books wait for its balances."""
        while True:
            interval = self._interval_s if started else min(self._interval_s, _START_RETRY_S)
            await asyncio.sleep(interval * random.uniform(0.8, 1.2))
            started = await self.reconcile(session, starting=not started) or started

    async def _reconcile(self, session: AccountSession, *, starting: bool) -> bool:
        gate, venue = session.gate, session.venue
        # Orders on their way out (NEW, SENT) are the placement's to settle, not ours.
        mine = [
            order
            for order in session.open_orders()
            if order.client_order_id not in session.placing
            and (order.state.is_at_venue or order.state is OrderState.UNKNOWN)
        ]
        at_venue: dict[str, VenueOrder] = {}
        for symbol in sorted({order.instrument.symbol for order in mine}):
            listed = await gate.call(FETCH_OPEN_ORDERS, partial(venue.fetch_open_orders, symbol))
            at_venue.update((report.client_order_id, report) for report in listed)
        for order in mine:
            if order.state.is_terminal:  # the stream may have told us meanwhile
                continue
            report = at_venue.get(order.client_order_id)
            if report is not None:
                self._tracker.apply_report(session, order, report)
            else:
                await self._settle(session, order)
        await self._tracker.collect_fills(session)
        await self._history.sweep(session)
        settled = await self._publish_balances(session, starting=starting)
        session.retire_finished()
        await self._outbox.flush()
        return settled

    async def _settle(self, session: AccountSession, order: TrackedOrder) -> None:
        """Learn how an order the venue no longer lists as open ended."""
        if order.state in (OrderState.NEW, OrderState.SENT):
            return  # sent again meanwhile (after a lookup): the placement settles it
        fetch = partial(session.venue.fetch_order, order.instrument.symbol, order.client_order_id)
        try:
            report = await session.gate.call(FETCH_ORDER, fetch)
        except UnknownOrder:
            now = time.time_ns()
            if order.state is OrderState.UNKNOWN:
                order.mark_not_found(ts_ns=now)
                reason = "not placed: the venue never received it, and it is not sent again"
                order.mark_rejected(reason, ts_ns=now, rejected_by="execution")
                self._outbox.order_changed(order, session.traces.get(order.client_order_id))
            else:
                self._metrics.inconsistent_reports.labels(session.venue_name).inc()
                self._log.error(
                    "the venue does not know an order it acknowledged",
                    account_id=session.account_id,
                    client_order_id=order.client_order_id,
                    trace_id=session.traces.get(order.client_order_id),
                    state=order.state.value,
                )
            return
        self._tracker.apply_report(session, order, report)

    async def _publish_balances(self, session: AccountSession, *, starting: bool) -> bool:
        """Publish the account's balances if they were read while no order moved (or,
        `starting`, after a few tries regardless, marked unsettled); whether they were
        settled."""
        tries = _START_TRIES if starting else 1
        for attempt in range(1, tries + 1):
            activity = session.activity
            reading = await session.gate.call(FETCH_BALANCES, session.venue.fetch_balances)
            quiet = session.activity == activity and not any(
                order.missing_fill_quantity > 0 for order in session.orders.values()
            )
            if quiet:
                break
            if attempt < tries:
                await self._tracker.collect_fills(session)
            elif not starting:
                self._log.info(
                    "balances not published: orders moved meanwhile; next round",
                    account_id=session.account_id,
                )
                return False
        now = time.time_ns()
        balances = reading.assets
        as_of = None if reading.as_of_ms is None else reading.as_of_ms * NS_PER_MS
        gone = {asset: _NOTHING for asset in session.reported_assets - balances.keys()}
        for asset, balance in (balances | gone).items():
            self._outbox.balance(
                BalanceUpdate(
                    account_id=session.account_id,
                    venue=session.venue_name,
                    asset=asset,
                    free=balance.free,
                    locked=balance.locked,
                    ts_ns=now,
                    settled=quiet,
                    as_of_ns=as_of,
                )
            )
        session.reported_assets = set(balances)
        return quiet
