"""The `orders.events` event that tells a tracked order's current state.

Execution publishes `order_event(order, ts_ns=...)` after a `TrackedOrder` method
returned True (and the venue's fills as `Fill` events of their own).
"""

from __future__ import annotations

from typing import TypedDict

from tradewind.domain.events import (
    OrderAccepted,
    OrderCanceled,
    OrderEventBase,
    OrderExpired,
    OrderFilled,
    OrderPartiallyFilled,
    OrderRejected,
)
from tradewind.domain.model import Instrument
from tradewind.domain.orders import OrderState, TrackedOrder


class _OrderFields(TypedDict):
    account_id: str
    client_order_id: str
    instrument: Instrument
    ts_ns: int


def order_event(order: TrackedOrder, *, ts_ns: int) -> OrderEventBase | None:
    """The event for `order`'s state at `ts_ns` (ns since the epoch); None for the states
    only execution sees (NEW, SENT, UNKNOWN, PENDING_CANCEL). The venue order id is ""
    when the venue never gave one (an order canceled or rejected before it got there)."""
    fields = _OrderFields(
        account_id=order.account_id,
        client_order_id=order.client_order_id,
        instrument=order.instrument,
        ts_ns=ts_ns,
    )
    venue_order_id = order.venue_order_id or ""
    filled = order.filled_quantity
    match order.state:
        case OrderState.ACCEPTED:
            return OrderAccepted(
                **fields,
                venue_order_id=venue_order_id,
                side=order.side,
                order_type=order.order_type,
                quantity=order.quantity,
                price=order.price,
            )
        case OrderState.PARTIALLY_FILLED:
            return OrderPartiallyFilled(
                **fields,
                venue_order_id=venue_order_id,
                filled_quantity=filled,
                remaining_quantity=order.remaining_quantity,
            )
        case OrderState.FILLED:
            return OrderFilled(**fields, venue_order_id=venue_order_id, filled_quantity=filled)
        case OrderState.CANCELED:
            return OrderCanceled(
                **fields, venue_order_id=venue_order_id, filled_quantity=filled, reason=order.reason
            )
        case OrderState.EXPIRED:
            return OrderExpired(**fields, venue_order_id=venue_order_id, filled_quantity=filled)
        case OrderState.REJECTED:
            return OrderRejected(**fields, reason=order.reason, source=order.rejected_by)
        case _:
            return None
