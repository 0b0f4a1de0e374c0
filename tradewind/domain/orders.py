"""The order state machine the execution service keeps for every order it places.

    NEW ─mark_sent─► SENT ─report or fill─► ACCEPTED ─fill─► PARTIALLY_FILLED ─fill─► FILLED
     │ ▲               │                      │                    │
     │ │          mark_unknown                └──request_cancel────┤
     │ │               ▼                                           ▼
     │ └─mark_not_found─ UNKNOWN                 PENDING_CANCEL ─confirm_cancel─► CANCELED
     └─request_cancel─► CANCELED          NEW, SENT, UNKNOWN ─mark_rejected─► REJECTED
    any open state ─venue report─► FILLED / CANCELED / EXPIRED / REJECTED

`NEW` is approved but not sent; `SENT` has a request on the wire; `UNKNOWN` means a
timeout or 5xx left the outcome open: look the order up by its client order id and
apply what the venue says (`apply_venue_report`), or `mark_not_found` if it has none;
only then may it be sent again. FILLED, CANCELED, REJECTED and EXPIRED are terminal.

Two kinds of input, two policies:

* Our own steps (`mark_sent`, `mark_unknown`, `mark_not_found`, `request_cancel`,
  `confirm_cancel`, `mark_cancel_rejected`, `mark_rejected`) are strict: one that makes
  no sense in the current state raises `InvalidTransition`; repeating an
  acknowledgement (a second `mark_rejected`, `confirm_cancel` of a canceled order) is a
  no-op. `mark_sent` works only from NEW: sending twice is what this machine prevents.
* What the venue says (`apply_venue_report`, `apply_fill`) is fact, but it arrives late,
  twice and out of order (REST answers race WebSocket updates; trades and order
  updates come on separate streams). So: a terminal state never changes; an open
  state never moves back (a stale NEW report does not undo PARTIALLY_FILLED, nor end a
  PENDING_CANCEL); `filled_quantity` only grows; a fill is counted once per trade id,
  and is still counted when it arrives after the terminal report; a report or fill for
  an order we think NEW, SENT or UNKNOWN proves the venue has it. Only what no
  reordering can explain raises: fills beyond the quantity (`Overfill`) or a report
  about another order (`InvalidVenueReport`).

`filled_quantity` is the most the venue has said executed: the larger of its latest
cumulative figure and the sum of the distinct fills seen, which can lag behind it
(`missing_fill_quantity`). `average_price` is over the fills seen. Quantities are in the
base asset, prices in the quote asset, times in ns since the epoch.
"""

from __future__ import annotations

import enum
from decimal import Decimal, localcontext
from typing import Protocol

import msgspec

from tradewind.domain.client_order_ids import client_order_id_for
from tradewind.domain.commands import OrderIntent
from tradewind.domain.exact import EXACT, is_positive, quotient
from tradewind.domain.model import Instrument, OrderType, Side, TimeInForce
from tradewind.domain.order_errors import (
    InvalidTransition,
    InvalidVenueReport,
    OrderError,
    Overfill,
)

__all__ = [
    "InvalidTransition",
    "InvalidVenueReport",
    "OrderError",
    "OrderState",
    "Overfill",
    "TrackedOrder",
    "Transition",
    "VenueOrderReport",
    "client_order_id_for",
]

_ZERO = Decimal(0)


class OrderState(enum.StrEnum):
    NEW = "NEW"
    SENT = "SENT"
    UNKNOWN = "UNKNOWN"
    ACCEPTED = "ACCEPTED"
    PARTIALLY_FILLED = "PARTIALLY_FILLED"
    PENDING_CANCEL = "PENDING_CANCEL"
    FILLED = "FILLED"
    CANCELED = "CANCELED"
    REJECTED = "REJECTED"
    EXPIRED = "EXPIRED"

    @property
    def is_terminal(self) -> bool:
        return self in _TERMINAL

    @property
    def is_at_venue(self) -> bool:
        """Acknowledged by the venue and still open there: it may fill or be canceled."""
        return self in _AT_VENUE


_TERMINAL = frozenset(
    {OrderState.FILLED, OrderState.CANCELED, OrderState.REJECTED, OrderState.EXPIRED}
)
_AT_VENUE = frozenset({OrderState.ACCEPTED, OrderState.PARTIALLY_FILLED, OrderState.PENDING_CANCEL})
_BEFORE_VENUE = frozenset({OrderState.NEW, OrderState.SENT, OrderState.UNKNOWN})

# The venue port's order statuses (`tradewind.venues.port.VenueOrderStatus`: each adapter
# reads its venue's into them) -> what they end in; None for "open at the venue",
# settled from the filled quantity.
#: Causes (`Transition.cause`) of a terminal move that the venue's own word made: a
#: report, the fills reaching the quantity, the venue confirming our cancel.
_SETTLING_CAUSES = ("venue reports ", "fill ", "cancel confirmed")

_VENUE_STATUS: dict[str, OrderState | None] = {
    "NEW": None,
    "PARTIALLY_FILLED": None,
    "FILLED": OrderState.FILLED,
    "CANCELED": OrderState.CANCELED,
    "EXPIRED": OrderState.EXPIRED,
    "REJECTED": OrderState.REJECTED,
}


class VenueOrderReport(Protocol):
    """What `apply_venue_report` reads; `tradewind.venues.port.VenueOrder` is one.

    `status` is the venue port's (NEW, PARTIALLY_FILLED, FILLED, CANCELED, EXPIRED,
    REJECTED); `filled_quantity` is cumulative, base asset."""

    @property
    def client_order_id(self) -> str: ...
    @property
    def venue_order_id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def filled_quantity(self) -> Decimal: ...


class Transition(msgspec.Struct, frozen=True, array_like=True):
    """One change of state at `ts_ns`; `from_state` is None for the order's creation."""

    ts_ns: int
    from_state: OrderState | None
    to_state: OrderState
    cause: str


class TrackedOrder(msgspec.Struct, kw_only=True):
    """One order as execution knows it. A msgspec Struct so it persists as is; change it
    only through its methods, each of which returns True when the state or
    `filled_quantity` changed (for `apply_fill`: when the fill was new).

    `fills_quantity` and `fills_notional` (quote asset) sum the distinct fills whose ids
    are in `trade_ids`; `reason` is why it was rejected or canceled, if it was.
    """

    account_id: str
    bot_id: str
    client_order_id: str
    instrument: Instrument
    side: Side
    order_type: OrderType
    quantity: Decimal
    price: Decimal | None = None
    time_in_force: TimeInForce = TimeInForce.GTC
    state: OrderState = OrderState.NEW
    filled_quantity: Decimal = _ZERO
    fills_quantity: Decimal = _ZERO
    fills_notional: Decimal = _ZERO
    venue_order_id: str | None = None
    trade_ids: set[str] = msgspec.field(default_factory=set)
    history: list[Transition] = msgspec.field(default_factory=list)
    reason: str = ""
    rejected_by: str = ""

    @classmethod
    def from_intent(cls, intent: OrderIntent, *, ts_ns: int) -> TrackedOrder:
        """A NEW order for an approved intent, with its derived client order id."""
        client_order_id = client_order_id_for(intent.account_id, intent.bot_id, intent.intent_id)
        if not is_positive(intent.quantity):
            raise OrderError(
                client_order_id, f"intent {intent.intent_id} quantity {intent.quantity} is not > 0"
            )
        return cls(
            account_id=intent.account_id,
            bot_id=intent.bot_id,
            client_order_id=client_order_id,
            instrument=intent.instrument,
            side=intent.side,
            order_type=intent.order_type,
            quantity=intent.quantity,
            price=intent.price,
            time_in_force=intent.time_in_force,
            history=[Transition(ts_ns, None, OrderState.NEW, "intent approved")],
        )

    # -- reading ------------------------------------------------------------------------

    @property
    def venue(self) -> str:
        return self.instrument.venue

    @property
    def remaining_quantity(self) -> Decimal:
        """Base asset still to fill: zero once terminal, else quantity - filled."""
        if self.state.is_terminal:
            return _ZERO
        with localcontext(EXACT):
            return self.quantity - self.filled_quantity

    @property
    def missing_fill_quantity(self) -> Decimal:
        """Executed according to the venue's reports but not yet seen as fills (base
        asset); above zero means fetch the order's trades to learn their prices."""
        with localcontext(EXACT):
            return self.filled_quantity - self.fills_quantity

    @property
    def settled(self) -> bool:
        """Whether the venue's own word closed the order: terminal by a venue report
        (or its fills adding up to the quantity, or a venue-confirmed cancel), or refused
        by the venue's answer to the placement; never of unknown outcome; every execution
        the venue reported booked as a fill. The account's trade history cannot hold a
        trade of a settled order the platform lacks, so reconciliation need not read it
        for this order (`trade_history`). Anything else (open, missing fills, given up
        by execution after it was sent, once UNKNOWN, restored from storage) is not; one
        this process approved and never sent (rejected or canceled while NEW) is, as
        nothing of it reached the venue."""
        if not self.state.is_terminal or self.missing_fill_quantity or not self.history:
            return False
        if self.history[0].to_state is OrderState.NEW and all(
            step.to_state is not OrderState.SENT for step in self.history
        ):
            return True
        if any(step.to_state is OrderState.UNKNOWN for step in self.history):
            return False
        if self.state is OrderState.REJECTED:
            return self.rejected_by == "venue"
        return self.history[-1].cause.startswith(_SETTLING_CAUSES)

    @property
    def average_price(self) -> Decimal | None:
        """Quantity-weighted mean price of the fills seen (quote asset), None before any:
        exact notional over exact quantity, rounded once (see `exact.quotient`)."""
        if not self.fills_quantity:
            return None
        return quotient(self.fills_notional, self.fills_quantity)

    # -- our own steps ------------------------------------------------------------------

    def mark_sent(self, *, ts_ns: int) -> bool:
        """The order request is going on the wire."""
        if self.state is not OrderState.NEW:
            why = (
                "its outcome is unknown: look it up by client order id first"
                if self.state is OrderState.UNKNOWN
                else "it was sent already"
            )
            raise InvalidTransition(self.client_order_id, self.state, OrderState.SENT, why)
        return self._move(OrderState.SENT, ts_ns, "sent")

    def mark_unknown(self, *, ts_ns: int) -> bool:
        """The order request timed out or got a 5xx. A no-op once the venue has spoken
        (its word beats our timeout); a cancel that times out stays PENDING_CANCEL."""
        if self.state is OrderState.NEW:
            raise InvalidTransition(
                self.client_order_id, self.state, OrderState.UNKNOWN, "it was never sent"
            )
        if self.state is not OrderState.SENT:
            return False
        return self._move(OrderState.UNKNOWN, ts_ns, "outcome unknown")

    def mark_not_found(self, *, ts_ns: int) -> bool:
        """The lookup by client order id found no such order: it may be sent again."""
        if self.state is not OrderState.UNKNOWN:
            raise InvalidTransition(
                self.client_order_id,
                self.state,
                OrderState.NEW,
                "only an UNKNOWN order is looked up",
            )
        return self._move(OrderState.NEW, ts_ns, "not found at venue")

    def mark_rejected(self, reason: str, *, ts_ns: int, rejected_by: str = "venue") -> bool:
        """Refused before the venue acknowledged it, by the venue or by execution."""
        if self.state is OrderState.REJECTED:
            return False
        if self.state not in _BEFORE_VENUE:
            raise InvalidTransition(
                self.client_order_id, self.state, OrderState.REJECTED, "the venue accepted it"
            )
        self.reason, self.rejected_by = reason, rejected_by
        return self._move(OrderState.REJECTED, ts_ns, f"rejected by {rejected_by}: {reason}")

    def request_cancel(self, *, ts_ns: int, reason: str = "") -> bool:
        """Ask to cancel. An unsent order is CANCELED at once; an order at the venue
        becomes PENDING_CANCEL (send the cancel to the venue when it is); a terminal or
        already pending one is left as it is."""
        if self.state.is_terminal or self.state is OrderState.PENDING_CANCEL:
            return False
        if self.state is OrderState.NEW:
            self.reason = reason
            return self._move(OrderState.CANCELED, ts_ns, "canceled before sending")
        if self.state in _BEFORE_VENUE:
            raise InvalidTransition(
                self.client_order_id,
                self.state,
                OrderState.PENDING_CANCEL,
                "the venue has not acknowledged it: wait for the answer or look it up",
            )
        self.reason = reason
        return self._move(OrderState.PENDING_CANCEL, ts_ns, "cancel requested")

    def confirm_cancel(self, *, ts_ns: int, filled_quantity: Decimal | None = None) -> bool:
        """The venue confirmed our cancel, with its final cumulative filled quantity if
        it gave one. (A cancel the venue made on its own arrives as a report.)"""
        if self.state.is_terminal:
            return False
        if self.state is not OrderState.PENDING_CANCEL:
            raise InvalidTransition(
                self.client_order_id, self.state, OrderState.CANCELED, "no cancel was requested"
            )
        if filled_quantity is not None and not (
            filled_quantity.is_finite() and filled_quantity >= 0
        ):
            raise InvalidVenueReport(self.client_order_id, f"filled quantity {filled_quantity}")
        before = self.filled_quantity
        if filled_quantity is not None:
            self._grow_filled(filled_quantity)
        end = OrderState.FILLED if self.filled_quantity == self.quantity else OrderState.CANCELED
        moved = self._move(end, ts_ns, "cancel confirmed")
        return moved or self.filled_quantity != before

    def mark_cancel_rejected(self, *, ts_ns: int) -> bool:
        """The venue refused the cancel: back to the open state (a terminal state that
        arrived meanwhile, which is the usual reason, stays)."""
        if self.state.is_terminal:
            return False
        if self.state is not OrderState.PENDING_CANCEL:
            raise InvalidTransition(
                self.client_order_id, self.state, self._open_state(), "no cancel was requested"
            )
        return self._move(self._open_state(leaving_pending_cancel=True), ts_ns, "cancel refused")

    # -- what the venue says ------------------------------------------------------------

    def apply_venue_report(self, report: VenueOrderReport, *, ts_ns: int) -> bool:
        """Apply the venue's view of the order (a REST answer, a lookup, a stream update)."""
        if report.status not in _VENUE_STATUS:
            raise InvalidVenueReport(
                self.client_order_id, f"unknown venue order status {report.status!r}"
            )
        if report.client_order_id != self.client_order_id:
            raise InvalidVenueReport(
                self.client_order_id, f"report is about order {report.client_order_id}"
            )
        if self.venue_order_id not in (None, report.venue_order_id):
            raise InvalidVenueReport(
                self.client_order_id,
                f"venue order id {report.venue_order_id} differs from {self.venue_order_id}",
            )
        reported = report.filled_quantity
        if not (reported.is_finite() and reported >= 0):
            raise InvalidVenueReport(self.client_order_id, f"filled quantity {reported}")
        if reported > self.quantity:
            raise Overfill(
                self.client_order_id, f"venue reports {reported} filled of {self.quantity}"
            )
        self.venue_order_id = report.venue_order_id
        if self.state.is_terminal:
            return False
        before = (self.state, self.filled_quantity)
        end = _VENUE_STATUS[report.status]
        # A FILLED status is the stronger fact, whatever filled figure came with it.
        self._grow_filled(self.quantity if end is OrderState.FILLED else reported)
        cause = f"venue reports {report.status}"
        self._move(end if end is not None else self._open_state(), ts_ns, cause)
        return (self.state, self.filled_quantity) != before

    def apply_fill(self, trade_id: str, quantity: Decimal, price: Decimal, *, ts_ns: int) -> bool:
        """Count one execution (base-asset `quantity` at quote-asset `price`) once per
        trade id; True if it was new. Raises `Overfill` if the distinct fills would
        exceed the order's quantity."""
        if trade_id in self.trade_ids:
            return False
        if not (is_positive(quantity) and is_positive(price)):
            raise InvalidVenueReport(
                self.client_order_id, f"fill {trade_id}: quantity {quantity} at {price}"
            )
        with localcontext(EXACT):
            fills_quantity = self.fills_quantity + quantity
            if fills_quantity > self.quantity:
                raise Overfill(
                    self.client_order_id,
                    f"fill {trade_id} of {quantity} would make {fills_quantity} filled "
                    f"of {self.quantity}",
                )
            self.fills_notional += quantity * price
        self.fills_quantity = fills_quantity
        self.trade_ids.add(trade_id)
        self._grow_filled(fills_quantity)
        if not self.state.is_terminal:
            self._move(self._open_state(), ts_ns, f"fill {trade_id}")
        return True

    # -- internals ----------------------------------------------------------------------

    def _grow_filled(self, filled: Decimal) -> None:
        if filled > self.quantity:
            raise Overfill(
                self.client_order_id, f"venue reports {filled} filled of {self.quantity}"
            )
        if filled > self.filled_quantity:
            self.filled_quantity = filled

    def _open_state(self, *, leaving_pending_cancel: bool = False) -> OrderState:
        """Where news of an open order leaves it: FILLED once fully filled, else a
        pending cancel holds, else ACCEPTED or PARTIALLY_FILLED by the filled quantity."""
        if self.filled_quantity == self.quantity:
            return OrderState.FILLED
        if self.state is OrderState.PENDING_CANCEL and not leaving_pending_cancel:
            return OrderState.PENDING_CANCEL
        return OrderState.PARTIALLY_FILLED if self.filled_quantity else OrderState.ACCEPTED

    def _move(self, to_state: OrderState, ts_ns: int, cause: str) -> bool:
        if to_state is self.state:
            return False
        self.history.append(Transition(ts_ns, self.state, to_state, cause))
        self.state = to_state
        return True
