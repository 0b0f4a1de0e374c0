"""Every venue trade of the account recorded: reconciliation reads the account's trade
history on each symbol it trades, from where the last reading ended, and books any trade
the platform does not have, whatever it believes about the order.

Tracked orders miss fills only in ways `OrderTracker` already sees (a report with more
executed than its fills). This catches the rest: an order stored finished whose fills
were never recorded (a process that died between the two), an order retired too early,
an order the platform gave up on that the venue executed after all. Each such trade is
booked on its order (read back from the orders table, with the fills recorded for it)
and leaves as a `Fill` like any other. Trades of orders the platform never placed (the
user trading by hand) are counted and left to the balances.

Which symbols are read: at a session's first reading, every symbol with an order
changed in the last `HISTORY_WINDOW` (the orders table says which), as after a restart
anything may be missing. Later, only the symbols where some order the session tracks is
not settled (`TrackedOrder.settled`: still open, missing fills, once of unknown outcome,
given up or rejected by execution after it was sent, restored from storage, terminal
without the venue's word), and those where such an order stopped being tracked
(`AccountSession.retire_finished` keeps them in `unsettled_symbols`), read at every
reading until the next full one: an order given up can still execute later (a request
delayed on its way). A settled order (the venue reported it terminal, or refused it, and
every execution it reported is booked; or it never left this process) leaves no trade
the platform lacks, so a symbol whose orders are all settled is not read: a DCA
account's market orders, filled in their placement answers, cost no reading. Every
`FULL_READING_EVERY` readings, every symbol read before is read again, catching what no
order announced (hand trades); a full reading the venue failed (the first one above all,
after a restart during an outage) is the next reading again, not a skipped one. No order
of the platform can have traded elsewhere. All
this keeps the venue's request weight low. Where a reading starts: per symbol, the
newest trade seen so far, minus the fill lookback; at first, the oldest such order (a
symbol skipped for a while reads from where it was last read).
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from functools import partial

import structlog

from tradewind.domain.time_units import NS_PER_MS
from tradewind.services.execution.account_session import AccountSession
from tradewind.services.execution.gate import FETCH_FILLS
from tradewind.services.execution.metrics import ExecutionMetrics
from tradewind.services.execution.outbox import EventOutbox
from tradewind.services.execution.tracking import OrderTracker
from tradewind.store.database import Database
from tradewind.store.tracked_orders import load_orders, recorded_trade_ids, traded_symbols_since
from tradewind.venues.port import VenueFill

HISTORY_WINDOW = timedelta(days=1)

#: Every this many readings of a session (about an hour at the default 300 s
#: reconciliation interval), one reads every symbol the session has read before, settled
#: or not: the safety net for trades no order of this session announced (the user
#: trading by hand on a symbol the platform trades, a fault no rule foresaw).
FULL_READING_EVERY = 12


class TradeHistory:
    """Reads each session's venue trade history from where the last reading ended and
    books every trade the platform does not have."""

    def __init__(
        self,
        tracker: OrderTracker,
        outbox: EventOutbox,
        database: Database | None,
        metrics: ExecutionMetrics,
        log: structlog.stdlib.BoundLogger,
        *,
        lookback_ms: int,
    ) -> None:
        self._tracker = tracker
        self._outbox = outbox
        self._database = database
        self._metrics = metrics
        self._log = log
        self._lookback_ms = lookback_ms

    async def sweep(self, session: AccountSession) -> None:
        """Book the trades of `session`'s account the platform lacks; raises the venue's
        errors (the reconciliation that called it counts the round as failed)."""
        if self._database is None:
            return
        cursors = session.trade_cursors
        full = cursors is None or session.readings_since_full + 1 >= FULL_READING_EVERY
        if cursors is None:  # the session's first reading: every symbol traded lately
            cursors = session.trade_cursors = await self._starting_cursors(session)
        reading: set[str] = set()
        for order in session.orders.values():
            symbol = order.instrument.symbol
            cursors.setdefault(symbol, _ms(order.history[0].ts_ns))
            if not order.settled:
                reading.add(symbol)
        traded, session.traded_symbols = session.traded_symbols, {}
        unsettled, session.unsettled_symbols = session.unsettled_symbols, {}
        for symbol, first_ms in (traded | unsettled).items():
            cursors.setdefault(symbol, first_ms or _ms(0))
        reading.update(unsettled)
        if full:
            reading.update(cursors)
        lookback = 0 if session.gate.local else self._lookback_ms
        try:
            for symbol in sorted(reading):
                since_ms = cursors[symbol]
                fetch = partial(session.venue.fetch_my_fills, symbol, max(0, since_ms - lookback))
                fills = await session.gate.call(FETCH_FILLS, fetch)
                if not fills:
                    continue
                async with session.fills_lock:
                    await self._book_unknown(session, symbol, fills)
                cursors[symbol] = max(since_ms, max(fill.ts_ms for fill in fills))
        except BaseException:  # read them again next time
            _keep(session.traded_symbols, traded)
            _keep(session.unsettled_symbols, unsettled)
            if full:  # a full reading that failed is due again: above all the first, which
                # after a restart is all that finds the fills of orders stored finished
                session.readings_since_full = FULL_READING_EVERY
            raise
        if full:
            session.readings_since_full = 0
        else:  # read at every reading until a full one went through
            session.readings_since_full += 1
            _keep(session.unsettled_symbols, unsettled)

    async def _starting_cursors(self, session: AccountSession) -> dict[str, int]:
        assert self._database is not None
        since = datetime.now(UTC) - HISTORY_WINDOW
        async with self._database.read() as conn:
            return await traded_symbols_since(conn, session.account_id, since)

    async def _book_unknown(
        self, session: AccountSession, symbol: str, fills: list[VenueFill]
    ) -> None:
        tracked = session.orders
        by_venue_id = {o.venue_order_id: o for o in tracked.values() if o.venue_order_id}
        elsewhere: dict[str, list[VenueFill]] = defaultdict(list)
        for fill in fills:
            order = tracked.get(fill.client_order_id) or by_venue_id.get(fill.venue_order_id)
            if order is None:
                elsewhere[fill.client_order_id].append(fill)
            elif fill.trade_id not in order.trade_ids:
                # A tracked order: its fills are `OrderTracker`'s business, and this one
                # may simply be newer than its last collection.
                self._tracker.apply_fills(session, [fill])
        if not elsewhere:
            return
        assert self._database is not None
        # Fills booked but not yet written (a collection that has not flushed) must be in
        # the table before it is asked what it lacks.
        await self._outbox.flush()
        trade_ids = [f.trade_id for found in elsewhere.values() for f in found]
        async with self._database.read() as conn:
            recorded = await recorded_trade_ids(conn, session.account_id, symbol, trade_ids)
            missing = {
                cid: [f for f in found if f.trade_id not in recorded]
                for cid, found in elsewhere.items()
            }
            missing = {cid: found for cid, found in missing.items() if found}
            restored = await load_orders(conn, session.account_id, missing) if missing else []
        for restoring in restored:
            order = restoring.order
            session.track(order, None)
            session.fills_since_ms[order.client_order_id] = restoring.fills_since_ms
            found = missing.pop(order.client_order_id)
            self._recovered(session, symbol, found)
            self._tracker.apply_fills(session, found)
        foreign = sum(len(found) for found in missing.values())
        if foreign:
            self._metrics.foreign_trades.labels(session.venue_name).inc(foreign)
        session.retire_finished()

    def _recovered(self, session: AccountSession, symbol: str, fills: list[VenueFill]) -> None:
        self._metrics.trades_recovered.labels(session.venue_name).inc(len(fills))
        self._log.warning(
            "venue trades the platform had not recorded, booked now",
            account_id=session.account_id,
            symbol=symbol,
            trade_ids=[f.trade_id for f in fills],
        )


def _keep(kept: dict[str, int], taken: dict[str, int]) -> None:
    """Put the symbols `taken` (each with the earliest creation, ms) back into `kept`."""
    for symbol, first_ms in taken.items():
        kept[symbol] = min(first_ms, kept.get(symbol, first_ms))


def _ms(ts_ns: int) -> int:
    return ts_ns // NS_PER_MS if ts_ns else int(time.time() * 1000)
