"""The execution service's two handlers: approved intents in, kill switches in.

`on_approved` takes a batch of `orders.approved` and, per account, in order:

1. drops intents whose order is known already, in memory or in the orders table (past
   NEW: never sent again; SENT or UNKNOWN there means a process died mid-send, so it is
   looked up before anything else);
2. rejects what may not trade: the account cannot be opened, the intent is for another
   venue than the account's, or a kill switch halts it;
3. stores the rest as SENT (one transaction for the batch) and queues them on their
   account's session;
4. flushes the outbox (the rejections: rows written, events published in one batch) and
   returns, so the batch is acknowledged once its orders are stored, not once the venue
   answered: a venue that hangs on one account's calls holds up that account's queue
   only, never the next batch or the other accounts (issue: one hung call stalled every
   account for 30 s, and the breaker, starved of calls, never opened).

Each session's placement worker sends its queue in order: the kill switches are asked
again (one may have been engaged while the order waited), the order is placed (see
`order_placement.py`; its deadline counts from admission, so waiting in the queue uses it
up), canceled at once if a switch wants it so, its fills fetched, and the outbox
flushed. A process that stops with orders queued leaves them SENT in the orders table;
the next start restores them UNKNOWN and hands those still within their deadline back
to the worker (`resume`), which looks each up and sends it only if the venue never got
it; older ones reconciliation settles (not sent again).

`on_controls` keeps the kill switches (`domain.kill_switches`) and, for a switch
engaged with `cancel_open_orders` that is still engaged once the batch is read (a
replay of old switches leaves only the live ones), cancels the open orders it covers:
the tracked ones, and for scopes wider than a bot every open order at the venue
carrying the platform's client order id prefix, so that orders this process lost track
of stop too. An order still being placed at that moment is canceled once the venue has
acknowledged it.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Sequence
from functools import partial

import structlog

from tradewind.bus.envelope import Envelope
from tradewind.domain.bot_lifecycle import BotAction
from tradewind.domain.client_order_ids import CLIENT_ORDER_ID_PREFIX
from tradewind.domain.commands import BalancesRequested, BotCommand, OrderCancelRequest, OrderIntent
from tradewind.domain.events import KillSwitchChanged
from tradewind.domain.kill_switches import KillSwitch, KillSwitches, KillSwitchScope
from tradewind.domain.orders import OrderError, OrderState, TrackedOrder
from tradewind.domain.time_units import NS_PER_MS, ns_from_seconds
from tradewind.errors import TradewindError
from tradewind.services.execution.account_session import AccountSession
from tradewind.services.execution.credentials import AccountUnavailable
from tradewind.services.execution.gate import CANCEL_ORDER, FETCH_ALL_OPEN_ORDERS
from tradewind.services.execution.metrics import ExecutionMetrics
from tradewind.services.execution.order_placement import OrderPlacement
from tradewind.services.execution.outbox import EventOutbox
from tradewind.services.execution.session_pool import SessionPool
from tradewind.services.execution.tracking import OrderTracker
from tradewind.store.database import Database
from tradewind.store.tracked_orders import RestoredOrder
from tradewind.store.trades import stored_states

_NOT_PAST_NEW = frozenset({OrderState.NEW.value, OrderState.SENT.value, OrderState.UNKNOWN.value})
_MID_SEND = frozenset({OrderState.SENT.value, OrderState.UNKNOWN.value})

_Items = list[tuple[TrackedOrder, str]]


class ExecutionDesk:
    """Execution's two handlers: admits approved intents into their sessions' queues
    (`on_approved`) and keeps the kill switches, sweeping open orders (`on_controls`)."""

    def __init__(
        self,
        pool: SessionPool,
        placement: OrderPlacement,
        tracker: OrderTracker,
        outbox: EventOutbox,
        switches: KillSwitches,
        database: Database | None,
        metrics: ExecutionMetrics,
        log: structlog.stdlib.BoundLogger,
        *,
        deadline_s: float,
    ) -> None:
        self._deadline_s = deadline_s
        self._pool = pool
        self._placement = placement
        self._tracker = tracker
        self._outbox = outbox
        self._switches = switches
        self._database = database
        self._metrics = metrics
        self._log = log

    # -- orders.approved --------------------------------------------------------------

    async def on_account_requests(self, batch: Sequence[Envelope]) -> None:
        """orders.approved and orders.cancel: intents to place, then cancel requests;
        bot.commands: a bot starting on an account opens that account's session, whose
        first reconciliation publishes its balances (the bot needs them to decide); and
        account.balances: risk asks for an account's balances (it has none after a
        restart), which are published at once."""
        for account_id in {
            e.payload.account_id
            for e in batch
            if isinstance(e.payload, BotCommand) and e.payload.action is BotAction.START
        }:
            with contextlib.suppress(AccountUnavailable):  # logged by the pool
                await self._pool.get(account_id)
        for account_id in {
            e.payload.account_id for e in batch if isinstance(e.payload, BalancesRequested)
        }:
            await self._pool.publish_balances(account_id)
        batch = [e for e in batch if not isinstance(e.payload, BotCommand | BalancesRequested)]
        intents = [e for e in batch if not isinstance(e.payload, OrderCancelRequest)]
        if intents:
            await self.on_approved(intents)
        cancels = [e.payload for e in batch if isinstance(e.payload, OrderCancelRequest)]
        if cancels:
            await self.on_cancel_requests(cancels)

    async def on_cancel_requests(self, requests: Sequence[OrderCancelRequest]) -> None:
        """Cancel the open orders asked for; finished or unknown ones are left alone."""
        for request in requests:
            session = self._pool.peek(request.account_id)
            order = session.orders.get(request.client_order_id) if session else None
            if session is None or order is None or order.state.is_terminal:
                continue
            await self._placement.cancel(session, order, request.reason)
        await self._outbox.flush()

    async def on_approved(self, batch: Sequence[Envelope]) -> None:
        now = time.time_ns()
        by_account: dict[str, _Items] = {}
        for event in batch:
            intent = event.payload
            if not isinstance(intent, OrderIntent):
                self._log.warning("not an intent on orders.approved", type=event.type)
                continue
            try:
                order = TrackedOrder.from_intent(intent, ts_ns=now)
            except OrderError as exc:  # risk lets no such intent through; nothing to place
                self._log.error("intent cannot become an order", error=str(exc))
                continue
            by_account.setdefault(intent.account_id, []).append((order, event.trace_id))
        if not by_account:
            return
        stored = await self._stored_states(by_account)
        opened = await self._sessions(by_account)
        plans: list[tuple[AccountSession, list[TrackedOrder]]] = []
        fresh: list[TrackedOrder] = []
        for items, session in zip(by_account.values(), opened, strict=True):
            if isinstance(session, AccountUnavailable):
                for order, trace_id in items:
                    self._reject(order, trace_id, session.reason, "execution")
            else:
                orders = self._admit(session, items, stored)
                plans.append((session, orders))
                fresh += [order for order in orders if order.state is OrderState.NEW]
        await self._outbox.write_ahead(fresh)
        for session, orders in plans:
            self._enqueue(session, [(order, order.history[0].ts_ns) for order in orders])
        await self._outbox.flush()

    def resume(self, session: AccountSession, restored: Sequence[RestoredOrder]) -> None:
        """Queue the orders a stopped process had admitted but maybe not sent (restored
        UNKNOWN) that are still within their deadline: each is looked up, and sent if
        the venue never got it. The session pool calls this as it opens a session;
        older ones are left to reconciliation (looked up, never sent again)."""
        now_ns = time.time_ns()
        budget_ns = ns_from_seconds(self._deadline_s)
        young = [
            (r.order, r.created_ms * NS_PER_MS)
            for r in restored
            if r.order.state is OrderState.UNKNOWN and now_ns - r.created_ms * NS_PER_MS < budget_ns
        ]
        self._enqueue(session, young)

    def _enqueue(self, session: AccountSession, orders: Sequence[tuple[TrackedOrder, int]]) -> None:
        """Queue (order, admitted ns) pairs on the session, starting its worker if idle."""
        if not orders:
            return
        for order, admitted_ns in orders:
            session.placing.add(order.client_order_id)
            session.queue.append((order, admitted_ns))
        if session.worker is None or session.worker.done():
            session.tasks = [task for task in session.tasks if not task.done()]
            session.worker = asyncio.create_task(self._work(session))
            session.tasks.append(session.worker)

    async def _work(self, session: AccountSession) -> None:
        """Place the session's queue, in order, until it is empty: what is queued when
        the worker comes round is placed as one batch (fills fetched and the outbox
        flushed once for it, not once per order)."""
        queue = session.queue
        while queue:
            batch = list(queue)
            queue.clear()
            try:
                for order, admitted_ns in batch:
                    await self._place(session, order, admitted_ns)
                if any(order.missing_fill_quantity > 0 for order, _ in batch):
                    await self._tracker.collect_fills(session)
                else:
                    session.retire_finished()
                self._outbox.flush_soon()  # with the other sessions' batches
            except Exception as exc:  # e.g. the venue session failing: logged, not lost
                self._log.error(
                    "placement failed", account_id=session.account_id,
                    orders=len(batch), error=str(exc) or type(exc).__name__,
                )  # fmt: skip
            finally:
                for order, _ in batch:
                    session.placing.discard(order.client_order_id)

    async def _sessions(
        self, by_account: dict[str, _Items]
    ) -> list[AccountSession | AccountUnavailable]:
        """Each account's session (opened, concurrently, where need be), or why not."""
        peek = self._pool.peek
        sessions: list[AccountSession | BaseException | None] = [peek(a) for a in by_account]
        closed = [a for a, s in zip(by_account, sessions, strict=True) if s is None]
        if closed:
            opened = iter(
                await asyncio.gather(*(self._pool.get(a) for a in closed), return_exceptions=True)
            )
            sessions = [next(opened) if s is None else s for s in sessions]
        result: list[AccountSession | AccountUnavailable] = []
        for session in sessions:  # before anything is tracked: the retry starts afresh
            if isinstance(session, AccountSession | AccountUnavailable):
                result.append(session)
            else:
                assert session is not None
                raise session
        return result

    async def _stored_states(self, by_account: dict[str, _Items]) -> dict[str, str]:
        """Stored states of the intents' orders that no open session remembers."""
        if self._database is None:
            return {}
        unknown = []
        for account_id, items in by_account.items():
            session = self._pool.peek(account_id)
            for order, _ in items:
                cid = order.client_order_id
                if session is None or session.state_of(cid) is None:
                    unknown.append(cid)
        if not unknown:
            return {}
        async with self._database.read() as conn:
            return await stored_states(conn, unknown)

    def _admit(
        self, session: AccountSession, items: _Items, stored: dict[str, str]
    ) -> list[TrackedOrder]:
        """The orders to place; see steps 1 and 2 of the module docstring."""
        orders = []
        admitted: set[str] = set()
        for order, trace_id in items:
            cid = order.client_order_id
            known = session.orders.get(cid)
            if known is not None and known.state is OrderState.NEW and cid not in session.placing:
                if cid in admitted:
                    self._metrics.orders.labels(session.venue_name, "duplicate").inc()
                else:  # an earlier attempt stopped before sending it
                    admitted.add(cid)
                    orders.append(known)
                continue
            stored_state = stored.get(cid)
            if session.state_of(cid) is not None or (
                stored_state is not None and stored_state not in _NOT_PAST_NEW
            ):
                if stored_state is not None and session.state_of(cid) is None:
                    session.remember_finished(cid, OrderState(stored_state))
                self._metrics.orders.labels(session.venue_name, "duplicate").inc()
                continue
            session.track(order, trace_id)
            admitted.add(cid)
            if stored_state in _MID_SEND:
                order.mark_sent(ts_ns=order.history[-1].ts_ns)
                order.mark_unknown(ts_ns=order.history[-1].ts_ns)
                orders.append(order)
            elif order.venue != session.venue_name:
                reason = f"the account trades on {session.venue_name}, not on {order.venue}"
                self._reject(order, trace_id, reason, "execution")
            elif (blocked := self._blocked(order)) is not None:
                self._reject(order, trace_id, blocked, "risk", outcome="blocked")
            else:
                orders.append(order)
        return orders

    async def _place(self, session: AccountSession, order: TrackedOrder, admitted_ns: int) -> None:
        blocked = self._blocked(order) if order.state is OrderState.NEW else None
        if blocked is not None:  # engaged while the order waited in the queue
            trace_id = session.traces.get(order.client_order_id)
            self._reject(order, trace_id, blocked, "risk", outcome="blocked")
            return
        await self._placement.submit(session, order, admitted_ns=admitted_ns)
        if order.state.is_at_venue and (switch := self._cancelling(order)) is not None:
            await self._placement.cancel(session, order, switch.describe(order.account_id))

    def _blocked(self, order: TrackedOrder) -> str | None:
        """Why a kill switch halts `order`, as its user reads it; None if none does."""
        return self._switches.blocked(
            venue=order.venue, account_id=order.account_id, bot_id=order.bot_id
        )

    def _cancelling(self, order: TrackedOrder) -> KillSwitch | None:
        """The switch that wants `order` canceled at once, if one does."""
        return self._switches.cancelling(
            venue=order.venue, account_id=order.account_id, bot_id=order.bot_id
        )

    def _reject(
        self,
        order: TrackedOrder,
        trace_id: str | None,
        reason: str,
        by: str,
        outcome: str = "rejected",
    ) -> None:
        order.mark_rejected(reason, ts_ns=time.time_ns(), rejected_by=by)
        self._outbox.order_changed(order, trace_id)
        self._metrics.orders.labels(order.venue, outcome).inc()

    # -- risk.controls ----------------------------------------------------------------

    async def on_controls(self, batch: Sequence[Envelope]) -> None:
        sweeps: list[KillSwitch] = []
        for event in batch:
            change = event.payload
            if isinstance(change, KillSwitchChanged):
                switch = self._switches.apply(change)
                if switch is not None and switch.cancel_open_orders:
                    sweeps.append(switch)
        live = [s for s in sweeps if s is self._switches.current(s.scope, s.target)]
        for switch in live:
            sessions = [
                session
                for session in self._pool.sessions()
                if switch.scope is KillSwitchScope.BOT
                or switch.covers(
                    venue=session.venue_name, account_id=session.account_id, bot_id=None
                )
            ]
            await asyncio.gather(*(self._sweep(session, switch) for session in sessions))
        await self._outbox.flush()

    async def _sweep(self, session: AccountSession, switch: KillSwitch) -> None:
        reason = switch.describe(session.account_id)
        for order in session.open_orders():
            if switch.covers(venue=order.venue, account_id=order.account_id, bot_id=order.bot_id):
                await self._placement.cancel(session, order, reason)
        if switch.scope is not KillSwitchScope.BOT:
            try:
                await self._cancel_untracked(session)
            except (TradewindError, TimeoutError, ConnectionError) as exc:
                self._log.warning(
                    "untracked open orders not canceled",
                    account_id=session.account_id,
                    error=str(exc),
                )
        await self._tracker.collect_fills(session)

    async def _cancel_untracked(self, session: AccountSession) -> None:
        listed = await session.gate.call(FETCH_ALL_OPEN_ORDERS, session.venue.fetch_open_orders)
        for report in listed:
            cid = report.client_order_id
            if cid.startswith(CLIENT_ORDER_ID_PREFIX) and cid not in session.orders:
                cancel = partial(session.venue.cancel_order, report.symbol, cid)
                await session.gate.call(CANCEL_ORDER, cancel)
                self._log.info("untracked order canceled", account_id=session.account_id,
                               client_order_id=cid)  # fmt: skip
