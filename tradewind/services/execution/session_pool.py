"""The account sessions of one execution service: opened for every stored account whose
partition of the account topics this instance reads (`follow`; or on an account's first
request), each with two tasks, the order stream and the periodic reconciliation, and
closed when the partition moves to another instance or the service stops.

Opening a session reads the credentials (`CredentialsSource`), builds the venue session
from them (`VenueDirectory.session`), tracks again the account's open orders from the
orders table, starts the order stream and reconciles once, which publishes the
account's balances. An account that cannot be opened (no such account, unreadable keys,
keys the venue refuses at once) is refused for `REFUSAL_TTL_S` without trying again, so
a burst of its intents costs one attempt.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from functools import partial

import structlog

from tradewind.bus.ownership import OwnedPartitions
from tradewind.bus.port import cancel_requested
from tradewind.domain.backoff import Backoff
from tradewind.errors import VenueError
from tradewind.services.execution.account_session import AccountSession
from tradewind.services.execution.credentials import AccountUnavailable, CredentialsSource
from tradewind.services.execution.gate import VenueGates
from tradewind.services.execution.metrics import ExecutionMetrics
from tradewind.services.execution.outbox import EventOutbox
from tradewind.services.execution.reconcile import Reconciler
from tradewind.services.execution.tracking import OrderTracker
from tradewind.store.accounts import list_accounts
from tradewind.store.database import Database
from tradewind.store.tracked_orders import RestoredOrder, load_open_orders
from tradewind.venues.egress import egress_for
from tradewind.venues.port import VenueDirectory, VenueOrder
from tradewind.venues.profile import Call

REFUSAL_TTL_S = 30.0
#: Sessions opened concurrently at start. Opening one mostly waits (the venue's balances
#: and open orders, the database), and the outbox stores what concurrent openings stage
#: in one transaction: at 1,000 accounts in one busy process 8 at a time opened 554 in
#: 90 s, 64 at a time 799 in 60 s. The venue's gate still paces their calls.
_OPENING_AT_ONCE = 64
_PLACING_GRACE_S = 5.0  # at stop, for the sessions' queued orders to be placed
_FOLLOW_S = 0.5  # how often the partitions this instance reads are looked at
#: How long an account's partition must be another instance's before its session here
#: closes. Leases can lapse for a heartbeat or two without moving, and meanwhile the
#: session's order stream goes on recording fills (each once: fills are keyed by trade,
#: and no order is sent, `fence`) while the new owner opens its own sessions (~100 at 8
#: at a time after a Kafka rebalance: fills waited seconds for them with a 3 s grace).
_LOSS_GRACE_S = 10.0
_PAGE = 1000


class SessionPool:
    """The account sessions of one execution service: opened for the accounts whose
    partition it reads (or on first request), closed when the partition moves away."""

    def __init__(
        self,
        directory: VenueDirectory,
        credentials: CredentialsSource,
        gates: VenueGates,
        tracker: OrderTracker,
        reconciler: Reconciler,
        outbox: EventOutbox,
        database: Database | None,
        metrics: ExecutionMetrics,
        log: structlog.stdlib.BoundLogger,
        *,
        remembered_orders: int,
        stream_backoff: Backoff,
        egress: tuple[str, ...] = (),
    ) -> None:
        """`egress`: the source addresses accounts' calls leave from, each account always
        from the same one (`venues.egress.egress_for`); empty: the default route."""
        self._directory = directory
        self._egress = egress
        self._credentials = credentials
        self._gates = gates
        self._tracker = tracker
        self._reconciler = reconciler
        self._outbox = outbox
        self._database = database
        self._metrics = metrics
        self._log = log
        self._remembered = remembered_orders
        self._backoff = stream_backoff
        #: Given the orders restored UNKNOWN as a session opens (the desk queues the young
        #: ones to be looked up and, if the venue never got them, sent).
        self.resume: Callable[[AccountSession, Sequence[RestoredOrder]], None] | None = None
        self._sessions: dict[str, AccountSession] = {}
        self._owned: Callable[[], frozenset[int]] | None = None
        self._partition_of: Callable[[str], int] | None = None
        self._locks: dict[str, asyncio.Lock] = {}
        self._refused: dict[str, tuple[float, str]] = {}

    def fence(
        self, owned: Callable[[], frozenset[int]], partition_of: Callable[[str], int]
    ) -> None:
        """Send orders only for accounts whose partition `owned()` holds (asked before
        every send, by every session)."""
        self._owned = owned
        self._partition_of = partition_of

    def holds(self, account_id: str) -> bool:
        """Whether the account is this instance's now (always, until `fence`)."""
        if self._owned is None or self._partition_of is None:
            return True
        return self._partition_of(account_id) in self._owned()

    def peek(self, account_id: str) -> AccountSession | None:
        """The account's session if it is open."""
        return self._sessions.get(account_id)

    def sessions(self) -> list[AccountSession]:
        return list(self._sessions.values())

    async def get(self, account_id: str) -> AccountSession:
        """The account's session, opened if need be; `AccountUnavailable` if it cannot be."""
        session = self._sessions.get(account_id)
        if session is not None:
            return session
        lock = self._locks.setdefault(account_id, asyncio.Lock())
        async with lock:
            session = self._sessions.get(account_id)
            if session is not None:
                return session
            refused = self._refused.get(account_id)
            if refused is not None and refused[0] > time.monotonic():
                raise AccountUnavailable(account_id, refused[1])
            try:
                session = await self._open(account_id)
            except AccountUnavailable as exc:
                self._refused[account_id] = (time.monotonic() + REFUSAL_TTL_S, exc.reason)
                self._log.warning("account unavailable", account_id=account_id, reason=exc.reason)
                raise
            self._refused.pop(account_id, None)
            self._sessions[account_id] = session
        self._locks.pop(account_id, None)
        return session

    async def publish_balances(self, account_id: str) -> None:
        """Have the account's balances published soon: a session this call opens
        publishes them with its first reconciliation; an open one, or one that was
        already opening (it may have published them before the request), fetches and
        publishes them now, in the background (its venue calls must not hold up the
        batch that asked)."""
        session = self._sessions.get(account_id)
        if session is None:
            opening_elsewhere = account_id in self._locks
            try:
                session = await self.get(account_id)
            except AccountUnavailable:  # logged by `get`
                return
            if not opening_elsewhere:
                return
        session.tasks = [task for task in session.tasks if not task.done()]
        session.tasks.append(asyncio.create_task(self._reconciler.publish_balances(session)))

    async def follow(
        self,
        owned: Callable[[], frozenset[int]],
        partition_of: Callable[[str], int],
        database: Database | None,
        *,
        open_stored: bool,
    ) -> None:
        """Keep the sessions where the account requests go: every stored account whose
        partition this instance reads (`owned()`, polled) gets its session opened, which
        restores its open orders from the orders table, so a twin taking over partitions
        adopts the orders its dead twin placed; a session whose partition went to another
        instance for `_LOSS_GRACE_S` is closed (its orders are that instance's now).
        Without `open_stored` (or a database) sessions open on an account's first
        request only, and are still closed when their partition goes."""
        partitions = OwnedPartitions(owned, partition_of, grace_s=_LOSS_GRACE_S)
        while True:
            try:
                await self._follow_once(partitions, partition_of, database, open_stored)
            except asyncio.CancelledError:
                if cancel_requested():
                    raise  # the service stops
                # Not asked of this task (a library's, see `CcxtVenue._markets_loaded`):
                # it used to end the following silently, and with it the opening of
                # the sessions of every partition gained later.
                self._log.error("sessions not followed this round", exc_info=True)
            except Exception as exc:
                self._log.error("sessions not followed this round", error=str(exc),
                                exc_info=True)  # fmt: skip
            await asyncio.sleep(_FOLLOW_S)

    async def _follow_once(
        self,
        partitions: OwnedPartitions,
        partition_of: Callable[[str], int],
        database: Database | None,
        open_stored: bool,
    ) -> None:
        gained, lost = partitions.changes(time.monotonic())
        if gained and open_stored and database is not None:
            accounts = await self._stored_accounts(database)
            await self._open_all(a for a in accounts if partition_of(a) in gained)
        partitions.followed |= gained
        partitions.followed -= lost
        regained = partitions.take_regained()
        if regained and database is not None:
            back = [s for a, s in self._sessions.items() if partition_of(a) in regained]
            await asyncio.gather(*(self._adopt(session) for session in back))
        # All at once: closing one waits on its venue connections (~0.25 s through
        # ccxt), and 100 one after the other held the next partitions' sessions up
        # for 25 s (seen when a paused twin came back and the halves swapped).
        moved = [a for a in self._sessions if partition_of(a) in lost]
        await asyncio.gather(*(self.close(account_id) for account_id in moved))

    async def _stored_accounts(self, database: Database) -> list[str]:
        offset, account_ids = 0, []
        while True:
            async with database.read() as conn:
                page = await list_accounts(conn, offset=offset, limit=_PAGE)
            account_ids += [account.id for account in page]
            if len(page) < _PAGE:
                return account_ids
            offset += _PAGE

    async def _open_all(self, account_ids: Iterable[str]) -> None:
        """Open these accounts' sessions, a few at a time."""
        slots = asyncio.Semaphore(_OPENING_AT_ONCE)

        async def open_one(account_id: str) -> None:
            async with slots:
                try:
                    await self.get(account_id)
                except AccountUnavailable:
                    pass  # logged by get
                except Exception as exc:
                    self._log.warning("session not opened", account_id=account_id, error=str(exc))

        await asyncio.gather(*(open_one(account_id) for account_id in account_ids))

    async def close(self, account_id: str) -> None:
        """Close one account's session (its partition moved to another instance)."""
        session = self._sessions.pop(account_id, None)
        if session is None:
            return
        session.closing = True
        if session.worker is not None and not session.worker.done():
            await asyncio.wait([session.worker], timeout=_PLACING_GRACE_S)
        self._metrics.sessions.labels(session.venue_name).dec()
        try:
            await session.close()
        except Exception as exc:
            self._log.warning("session not closed cleanly", account_id=account_id, error=str(exc))
        self._log.info("session handed over", account_id=account_id, venue=session.venue_name)

    async def close_all(self, placing_grace_s: float = _PLACING_GRACE_S) -> None:
        """Close every session at once: closing one waits on its venue connections
        (~0.25 s through ccxt), which one after the other took minutes at 1,000
        accounts and overran the drain. Placements under way get `placing_grace_s` to
        end first; what is cut short stays SENT and is looked up at the next start."""
        for session in self._sessions.values():
            session.closing = True
        workers = [s.worker for s in self._sessions.values() if s.worker and not s.worker.done()]
        if workers:
            _, cut = await asyncio.wait(workers, timeout=placing_grace_s)
            if cut:
                self._log.warning("placements cut short by the stop", sessions=len(cut))
        sessions, self._sessions = self._sessions, {}
        results = await asyncio.gather(
            *(session.close() for session in sessions.values()), return_exceptions=True
        )
        for session, result in zip(sessions.values(), results, strict=True):
            self._metrics.sessions.labels(session.venue_name).dec()
            if isinstance(result, Exception):
                self._log.warning(
                    "session not closed cleanly", account_id=session.account_id,
                    error=str(result) or type(result).__name__,
                )  # fmt: skip

    async def _open(self, account_id: str) -> AccountSession:
        keys = await self._credentials.credentials(account_id)
        egress = egress_for(account_id, self._egress)
        try:
            venue = self._directory.session(keys.venue, keys.api_key, keys.secret, egress=egress)
        except VenueError as exc:
            raise AccountUnavailable(account_id, str(exc)) from None
        gate = self._gates.gate(keys.venue, egress)
        session = AccountSession(account_id, venue, gate, remembered=self._remembered)
        session.held = partial(self.holds, account_id)
        try:
            restored = await self._restore(session)
            session.tasks.append(asyncio.create_task(self._follow_orders(session)))
            started = await self._reconciler.reconcile(session, starting=True)
        except BaseException:
            await session.close()
            raise
        periodic = self._reconciler.run_periodically(session, started=started)
        session.tasks.append(asyncio.create_task(periodic))
        self._metrics.sessions.labels(session.venue_name).inc()
        self._log.info(
            "session opened", account_id=account_id, venue=session.venue_name, restored=restored
        )
        return session

    async def _adopt(self, session: AccountSession) -> None:
        """The account was another instance's for a moment and came back with its session
        kept: track the open orders that instance placed meanwhile (stored, unknown
        here), so their updates and fills are not ignored, and reconcile if there were
        any (they may have filled while nobody watched)."""
        try:
            adopted = await self._restore(session)
        except Exception as exc:  # the next regain or the periodic sweep catches up
            self._log.warning("orders not adopted", account_id=session.account_id, error=str(exc))
            return
        if adopted:
            self._log.info("orders adopted", account_id=session.account_id, orders=adopted)
            await self._reconciler.reconcile(session)

    async def _restore(self, session: AccountSession) -> int:
        """Track the account's open orders from the orders table that the session does
        not know yet (all of them as it opens); how many."""
        if self._database is None:
            return 0
        async with self._database.read() as conn:
            found = await load_open_orders(conn, session.account_id)
        new = [r for r in found if session.state_of(r.order.client_order_id) is None]
        for restored in new:
            session.track(restored.order, None)
            session.fills_since_ms[restored.order.client_order_id] = restored.fills_since_ms
        if self.resume is not None and new:
            self.resume(session, new)
        return len(new)

    async def _follow_orders(self, session: AccountSession) -> None:
        """Apply the venue's order stream for as long as the session lives; after a lost
        stream, back off, reconcile until that goes through (the gap may hide updates)
        and follow it again.

        A reader task only queues what the stream yields, so it is back waiting on the
        stream at once: ccxt hands an update only to a waiting watcher (one that comes
        between two watches waits for the account's next update)."""
        failures = 0
        while True:
            await session.gate.pace(Call.WATCH_ORDERS)  # the subscription costs weight too
            queue: asyncio.Queue[list[VenueOrder] | BaseException] = asyncio.Queue()
            reader = asyncio.create_task(_read(session.venue.watch_orders(), queue))
            try:
                while True:
                    reports = await _next_reports(queue)
                    failures = 0
                    await self._apply(session, reports)
            except Exception as exc:
                self._log.warning(
                    "order stream lost",
                    account_id=session.account_id,
                    venue=session.venue_name,
                    error=str(exc) or type(exc).__name__,
                )
            finally:
                reader.cancel()
                await asyncio.gather(reader, return_exceptions=True)
            failures += 1
            await asyncio.sleep(self._backoff.delay_s(min(failures, 8)))
            # The gap may hide fills: the reconciliation covering it must go through
            # before the stream is followed again. (One that failed, the venue still
            # down, used to leave them to the next periodic round, minutes later: the
            # chaos suite's venue outage left a fill unrecorded that way.)
            while not await self._reconciler.reconcile(session):
                failures += 1
                await asyncio.sleep(self._backoff.delay_s(min(failures, 8)))

    async def _apply(self, session: AccountSession, reports: list[VenueOrder]) -> None:
        if self._tracker.apply_reports(session, reports):
            await self._tracker.collect_fills(session)
        else:  # the updates carried their fills (or none were due): nothing to read
            session.retire_finished()
        if self._outbox.pending:
            # Not flushed here: the streams of many accounts wake together after a
            # batch, and each flushing on its own cost a transaction per account.
            self._outbox.flush_soon()


class _StreamEnded(Exception):
    """The venue's order stream ended without an error."""


async def _read(
    stream: AsyncIterator[list[VenueOrder]], queue: asyncio.Queue[list[VenueOrder] | BaseException]
) -> None:
    try:
        async for reports in stream:
            queue.put_nowait(reports)
        queue.put_nowait(_StreamEnded("the order stream ended"))
    except Exception as exc:
        queue.put_nowait(exc)
    finally:
        aclose = getattr(stream, "aclose", None)
        if aclose is not None:
            await aclose()


async def _next_reports(queue: asyncio.Queue[list[VenueOrder] | BaseException]) -> list[VenueOrder]:
    """Everything queued (waiting for at least one batch); raises what ended the stream
    once the reports before it are taken."""
    item = await queue.get()
    if isinstance(item, BaseException):
        raise item
    reports = list(item)
    while not queue.empty():
        more = queue.get_nowait()
        if isinstance(more, BaseException):
            queue.put_nowait(more)  # after these reports
            break
        reports += more
    return reports
