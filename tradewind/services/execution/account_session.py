"""One account's trading session: its venue session (holding the decrypted keys), its
order-count limiter, and the orders execution tracks for it.

`orders` holds the orders that may still change (or still miss fills); finished ones
move to `finished`, a bounded memory of client order ids, so a redelivered intent is
recognised without a database read. `queue` holds the orders admitted (stored SENT) and
waiting for the session's placement worker, which sends them one after the other;
`placing` names the orders queued or being placed right now: reconciliation and the
kill switch leave those to the placement.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Mapping

from tradewind.domain.bounded import BoundedLru
from tradewind.domain.orders import OrderState, TrackedOrder
from tradewind.domain.rate_limits import WeightLimiter
from tradewind.domain.time_units import NS_PER_MS
from tradewind.services.execution.gate import VenueGate
from tradewind.venues.port import Venue


class AccountSession:
    """One account's trading session: its venue session, its order-count limiter, and the
    orders execution tracks for it. Times are ms since the epoch on the venue's clock."""

    def __init__(self, account_id: str, venue: Venue, gate: VenueGate, *, remembered: int) -> None:
        self.account_id = account_id
        self.venue = venue
        self.gate = gate
        self.order_limiter: WeightLimiter | None = gate.account_limiter()
        venue.on_usage(self._observe_usage)
        self.orders: dict[str, TrackedOrder] = {}
        self.traces: dict[str, str] = {}
        self.fills_since_ms: dict[str, int] = {}
        self.placing: set[str] = set()
        self.queue: deque[tuple[TrackedOrder, int]] = deque()  # with admission, ns
        self.worker: asyncio.Task[None] | None = None
        self.finished: BoundedLru[str, OrderState] = BoundedLru(remembered, refresh=True)
        self.reported_assets: set[str] = set()
        self.activity = 0  # bumped by every report or fill applied
        self.fills_lock = asyncio.Lock()
        self.tasks: list[asyncio.Task[None]] = []
        #: Per symbol, the venue time (ms) up to which the trade history was read; None
        #: until the first reading (see `trade_history`).
        self.trade_cursors: dict[str, int] | None = None
        #: Symbols with orders tracked since the trade history was last read, each with
        #: the creation (ms) of the first such order.
        self.traded_symbols: dict[str, int] = {}
        #: Symbols where an order that was not `settled` stopped being tracked, each with
        #: the creation (ms) of the first such order: read at every reading of the
        #: trade history until a full one (see `trade_history`).
        self.unsettled_symbols: dict[str, int] = {}
        #: Readings of the trade history since the last one that read every symbol.
        self.readings_since_full = 0
        #: Whether the account is this instance's now (its partition confirmed by the
        #: bus); orders are sent only while it is. The pool sets it as it opens the
        #: session.
        self.held: Callable[[], bool] = _always
        #: Set as the session starts closing: an order waiting for the account to be
        #: this instance's again stops waiting.
        self.closing = False

    def _observe_usage(self, headers: Mapping[str, str]) -> None:
        self.gate.observe_usage(headers, self.order_limiter)

    @property
    def venue_name(self) -> str:
        return self.gate.venue

    def state_of(self, client_order_id: str) -> OrderState | None:
        """The order's state if this session knows it (tracked or recently finished)."""
        order = self.orders.get(client_order_id)
        if order is not None:
            return order.state
        return self.finished.get(client_order_id)

    def track(self, order: TrackedOrder, trace_id: str | None) -> None:
        self.orders[order.client_order_id] = order
        created_ms = order.history[0].ts_ns // NS_PER_MS if order.history else 0
        self.traded_symbols.setdefault(order.instrument.symbol, created_ms)
        if trace_id is not None:
            self.traces[order.client_order_id] = trace_id

    def remember_finished(self, client_order_id: str, state: OrderState) -> None:
        self.finished[client_order_id] = state

    def retire_finished(self) -> None:
        """Stop tracking terminal orders that have all their fills."""
        done = [
            cid
            for cid, order in self.orders.items()
            if order.state.is_terminal
            and not order.missing_fill_quantity
            and cid not in self.placing
        ]
        for cid in done:
            order = self.orders.pop(cid)
            if not order.settled:
                created_ms = order.history[0].ts_ns // NS_PER_MS if order.history else 0
                self.unsettled_symbols.setdefault(order.instrument.symbol, created_ms)
            self.traces.pop(cid, None)
            self.fills_since_ms.pop(cid, None)
            self.remember_finished(cid, order.state)

    def open_orders(self) -> list[TrackedOrder]:
        """Tracked orders that are not terminal."""
        return [order for order in self.orders.values() if not order.state.is_terminal]

    async def close(self) -> None:
        """Stop the session's tasks and close the venue session."""
        tasks, self.tasks = self.tasks, []
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.venue.close()


def _always() -> bool:
    return True
