"""Placing an approved order, and canceling one, without ever sending an order twice.

    NEW ──admit (rate limits, breaker)──► mark_sent ──place_order──► the venue's answer
                      │ NotSent: wait, retry                │ 5xx / timeout / 429:
                      ▼                                     ▼ mark_unknown
                 still NEW                     UNKNOWN ──(wait)── fetch_order by client id
                                                  found: apply it │ UnknownOrder: mark_not_found
                                                                  ▼ → NEW → sent again

Every send is fenced: right before the call, the session must still be this instance's
(`AccountSession.held`: the bus still confirms the account's partition as ours). One
that is not (the process was paused or cut off long enough for a twin to take the
account over, or the service is stopping) sends nothing: it waits for the account to
come back, and then looks the order up first (the twin may have placed it meanwhile);
otherwise the order stays stored SENT for the account's owner, which restores it and
looks it up before it sends it (a paused execution that resumed once placed orders its
twin had already placed).

A resend only follows a lookup that found nothing, and carries the same client order id,
so the venue refuses it if the first did arrive after all (`DuplicateClientOrderId`,
which leads to one more lookup). Transient failures are retried with jittered backoff
(`Backoff`, honouring `Retry-After`); a refusal (`OrderRejectedByVenue`, bad keys) rejects the
order with the venue's reason. Past the retry budget or the deadline, an order that
never left is rejected by execution, and one whose outcome is still unknown stays
UNKNOWN (stored so) for reconciliation to settle.
"""

from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import Any

import structlog

from tradewind.domain.backoff import Backoff
from tradewind.domain.orders import OrderState, TrackedOrder
from tradewind.domain.time_units import NS_PER_S
from tradewind.errors import (
    DuplicateClientOrderId,
    RateLimited,
    UnknownOrder,
    VenueError,
    VenueUnavailable,
)
from tradewind.runtime.service_settings import ExecutionSettings
from tradewind.services.execution.account_session import AccountSession
from tradewind.services.execution.gate import CANCEL_ORDER, FETCH_ORDER, PLACE_ORDER, NotSent
from tradewind.services.execution.metrics import ExecutionMetrics
from tradewind.services.execution.outbox import EventOutbox
from tradewind.services.execution.tracking import OrderTracker
from tradewind.venues.port import OrderRequest

_RETRYABLE = (NotSent, VenueError, TimeoutError, ConnectionError)
_SETTLE_MAX_WAIT_S = 30.0  # between lookups of an order of unknown outcome
_UNKNOWN_OUTCOME = (VenueUnavailable, RateLimited, TimeoutError, ConnectionError)
_HELD_POLL_S = 0.1  # while a session waits for its account to be this instance's again


class _LookUpNow(Exception):
    """The venue says it has the order already: look it up without waiting."""


class _NotHeld(Exception):
    """The account is not this instance's now: nothing may be sent for it."""


class OrderPlacement:
    """Sends and cancels orders for the sessions of one service."""

    def __init__(
        self,
        settings: ExecutionSettings,
        tracker: OrderTracker,
        outbox: EventOutbox,
        metrics: ExecutionMetrics,
        log: structlog.stdlib.BoundLogger,
    ) -> None:
        self._settings = settings
        self._tracker = tracker
        self._outbox = outbox
        self._metrics = metrics
        self._log = log
        self._backoff = settings.backoff()  # stateless but for its random source
        self._outcomes: dict[tuple[str, str], Any] = {}

    async def submit(
        self, session: AccountSession, order: TrackedOrder, *, admitted_ns: int | None = None
    ) -> None:
        """Bring a NEW (or recovered UNKNOWN) order to the venue; returns once the venue
        has acknowledged or refused it, or the budget ran out (see the module). The
        budget counts from `admitted_ns` (default: the order's first transition)."""
        cid = order.client_order_id
        session.placing.add(cid)
        if admitted_ns is None:
            admitted_ns = order.history[0].ts_ns if order.history else time.time_ns()
        try:
            handed_over = await self._submit(session, order, admitted_ns)
        finally:
            session.placing.discard(cid)
        key = (session.venue_name, "handed_over" if handed_over else _outcome(order))
        counter = self._outcomes.get(key)
        if counter is None:
            counter = self._outcomes[key] = self._metrics.orders.labels(*key)
        counter.inc()

    async def _submit(self, session: AccountSession, order: TrackedOrder, admitted_ns: int) -> bool:
        """Whether the order was left to the account's new owner (nothing sent or
        recorded for it here)."""
        backoff = self._backoff
        budget_s = self._settings.execution_order_deadline_s
        waited_s = max(0.0, (time.time_ns() - admitted_ns) / NS_PER_S)
        deadline = time.monotonic() + budget_s - waited_s  # counted from its admission
        if order.state is OrderState.NEW and time.monotonic() >= deadline:
            reason = (
                f"not placed: its deadline ({budget_s:g} s) passed while it waited behind "
                "the account's earlier orders"
            )
            self._reject(session, order, reason, "execution")
            return False
        retry = 0
        look_up = order.state is OrderState.UNKNOWN
        while True:
            try:
                if look_up and not order.state.is_terminal:
                    # Even when the order stream spoke meanwhile: it may have said only
                    # the first of several things (NEW of a filled market order).
                    await self._look_up(session, order, deadline)
                look_up = False
                if order.state is OrderState.NEW:
                    await self._send(session, order, deadline)
                return False
            except _NotHeld:
                if not await self._held_again(session, deadline):
                    self._log.warning(
                        "order not sent: its account is another instance's now",
                        account_id=session.account_id, venue=session.venue_name,
                        client_order_id=order.client_order_id,
                    )  # fmt: skip
                    return True
                look_up = True  # the account may have been a twin's meanwhile
            except _LookUpNow as exc:
                look_up = True
                retry += 1
                if retry > backoff.max_retries:  # it exists, says the venue, yet is not found
                    self._give_up(session, order, exc)
                    return False
            except _RETRYABLE as exc:
                if isinstance(exc, _UNKNOWN_OUTCOME) or order.state is OrderState.UNKNOWN:
                    look_up = True
                if not look_up and order.state is not OrderState.NEW:
                    return False
                retry += 1
                delay = self._retry_delay(backoff, exc, retry, order)
                if delay is None or time.monotonic() + delay > deadline:
                    self._give_up(session, order, exc)
                    return False
                self._metrics.retries.labels(session.venue_name).inc()
                await asyncio.sleep(delay)

    @staticmethod
    async def _held_again(session: AccountSession, deadline: float) -> bool:
        """Wait until the account is this instance's again; False if the order's
        deadline comes first or the session closes (as it does once the account has
        been another instance's for a while, and when the service stops)."""
        while time.monotonic() < deadline and not session.closing:
            if session.held():
                return True
            await asyncio.sleep(_HELD_POLL_S)
        return False

    async def _send(self, session: AccountSession, order: TrackedOrder, deadline: float) -> None:
        gate = session.gate
        limiter = session.order_limiter
        await gate.admit(PLACE_ORDER, limiter, max_wait_s=max(0.0, deadline - time.monotonic()))
        if not session.held():  # the last step before the call; see the module doc
            raise _NotHeld
        order.mark_sent(ts_ns=time.time_ns())
        request = OrderRequest(
            client_order_id=order.client_order_id,
            symbol=order.instrument.symbol,
            side=order.side,
            order_type=order.order_type,
            quantity=order.quantity,
            price=order.price,
            time_in_force=order.time_in_force,
        )
        try:
            place = partial(session.venue.place_order, request)
            report = await gate.run(PLACE_ORDER, place, limiter)
        except (VenueUnavailable, RateLimited):
            # A 429 executed nothing, but only a lookup can take an order back to NEW.
            self._unknown(session, order)
            raise
        except DuplicateClientOrderId as exc:
            self._unknown(session, order)
            raise _LookUpNow(str(exc)) from None
        except VenueError as exc:  # refused, or AuthenticationFailed: the venue answered
            self._reject(session, order, str(exc), "venue")
            return
        self._tracker.apply_report(session, order, report)

    async def _look_up(self, session: AccountSession, order: TrackedOrder, deadline: float) -> None:
        gate = session.gate
        await gate.admit(FETCH_ORDER, max_wait_s=max(0.0, deadline - time.monotonic()))
        fetch = partial(session.venue.fetch_order, order.instrument.symbol, order.client_order_id)
        try:
            report = await gate.run(FETCH_ORDER, fetch)
        except UnknownOrder:
            if order.state is OrderState.UNKNOWN:
                order.mark_not_found(ts_ns=time.time_ns())
            return  # else the stream has it: the lookup lags behind
        self._tracker.apply_report(session, order, report)

    def _retry_delay(
        self, backoff: Backoff, exc: BaseException, retry: int, order: TrackedOrder
    ) -> float | None:
        if retry > backoff.max_retries:
            return None
        if isinstance(exc, NotSent):
            return max(exc.retry_after_s, backoff.delay_s(retry))
        if isinstance(exc, RateLimited):
            delay: float | None = 0.0  # the gate holds every call until Retry-After passed
        else:
            delay = backoff.retry_delay_s(exc, retry)
        if delay is not None and order.state is not OrderState.NEW:
            delay = max(delay, self._settings.execution_lookup_delay_s)
        return delay

    def _give_up(self, session: AccountSession, order: TrackedOrder, exc: BaseException) -> None:
        if order.state is OrderState.NEW:
            self._reject(session, order, f"not placed: {exc}", "execution")
            return
        if order.state is not OrderState.UNKNOWN:
            return  # the venue has it; its stream and reconciliation keep it current
        self._log.warning(
            "order outcome still unknown; looking it up until the venue answers",
            account_id=session.account_id,
            venue=session.venue_name,
            client_order_id=order.client_order_id,
            trace_id=session.traces.get(order.client_order_id),
            state=order.state.value,
            error=str(exc),
        )
        session.tasks = [task for task in session.tasks if not task.done()]
        session.tasks.append(asyncio.create_task(self._settle_unknown(session, order)))

    async def _settle_unknown(self, session: AccountSession, order: TrackedOrder) -> None:
        """Look an order of unknown outcome up until the venue answers: apply what it
        says, or, if it never received the order, reject it as not placed (its intent
        is past its deadline: it is not sent again). Waits grow to `_SETTLE_MAX_WAIT_S`
        between tries, so a venue that is down is not hammered; the session's end stops
        it (a restart restores the order UNKNOWN and settles it the same way)."""
        cid, symbol = order.client_order_id, order.instrument.symbol
        retry = 0
        while order.state is OrderState.UNKNOWN:
            retry += 1
            delay = self._backoff.delay_s(min(retry, self._backoff.max_retries or 1))
            await asyncio.sleep(
                max(self._settings.execution_lookup_delay_s, min(delay, _SETTLE_MAX_WAIT_S))
            )
            if order.state is not OrderState.UNKNOWN or cid in session.placing:
                return  # the stream, reconciliation or a new placement settled it
            try:
                report = await session.gate.call(
                    FETCH_ORDER, partial(session.venue.fetch_order, symbol, cid)
                )
            except UnknownOrder:
                now = time.time_ns()
                order.mark_not_found(ts_ns=now)
                reason = "not placed: the venue never received it, and it is not sent again"
                self._reject(session, order, reason, "execution")
                break
            except _RETRYABLE:
                continue
            self._tracker.apply_report(session, order, report)
            if order.missing_fill_quantity > 0:
                await self._tracker.collect_fills(session)
        try:
            await self._outbox.flush()
        except Exception as exc:  # pending stays; the next flush carries it
            self._log.warning("flush failed", account_id=session.account_id, error=str(exc))

    async def cancel(self, session: AccountSession, order: TrackedOrder, reason: str) -> bool:
        """Cancel an order (kill switch); True if it ends canceled or filled. An order
        being placed or of unknown outcome is skipped (its placement checks the switches
        once it knows); one that cannot be canceled now stays PENDING_CANCEL."""
        if order.client_order_id in session.placing or order.state in (
            OrderState.SENT,
            OrderState.UNKNOWN,
        ):
            return False
        trace_id = session.traces.get(order.client_order_id)
        if order.request_cancel(ts_ns=time.time_ns(), reason=reason):
            self._outbox.order_changed(order, trace_id)
        if order.state is not OrderState.PENDING_CANCEL:
            return order.state.is_terminal
        backoff = self._backoff
        symbol, cid = order.instrument.symbol, order.client_order_id
        for retry in range(1, backoff.max_retries + 2):
            try:
                try:
                    report = await session.gate.call(
                        CANCEL_ORDER, partial(session.venue.cancel_order, symbol, cid)
                    )
                except UnknownOrder:  # not open there any more: learn how it ended
                    report = await session.gate.call(
                        FETCH_ORDER, partial(session.venue.fetch_order, symbol, cid)
                    )
                self._tracker.apply_report(session, order, report)
                if not order.state.is_terminal and order.mark_cancel_rejected(ts_ns=time.time_ns()):
                    self._outbox.order_changed(order, trace_id)
                break
            except _RETRYABLE as exc:
                delay = (
                    exc.retry_after_s
                    if isinstance(exc, NotSent)
                    else backoff.retry_delay_s(exc, retry)
                )
                if delay is None or retry > backoff.max_retries:
                    self._log.warning(
                        "cancel failed", account_id=session.account_id, client_order_id=cid,
                        trace_id=session.traces.get(cid), error=str(exc),
                    )  # fmt: skip
                    break
                await asyncio.sleep(delay)
        done = order.state.is_terminal
        self._metrics.cancels.labels(session.venue_name, "canceled" if done else "failed").inc()
        return done

    def _unknown(self, session: AccountSession, order: TrackedOrder) -> None:
        if order.mark_unknown(ts_ns=time.time_ns()):
            self._outbox.order_changed(order, session.traces.get(order.client_order_id))

    def _reject(self, session: AccountSession, order: TrackedOrder, reason: str, by: str) -> None:
        if order.mark_rejected(reason, ts_ns=time.time_ns(), rejected_by=by):
            self._outbox.order_changed(order, session.traces.get(order.client_order_id))


def _outcome(order: TrackedOrder) -> str:
    """How a placement ended, for `tradewind_execution_orders_total`."""
    state = order.state
    if state is OrderState.REJECTED:
        return "rejected"
    if state in (OrderState.UNKNOWN, OrderState.NEW):
        return "unknown"
    if order.venue_order_id is None:
        return "canceled"  # by a kill switch before it was sent
    return "placed"
