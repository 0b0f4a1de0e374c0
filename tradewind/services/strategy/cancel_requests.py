"""Asking execution to cancel a bot's open order: the `orders.cancel` topic.

Provisional: `OrderCancelRequest` belongs in `tradewind.domain.events` (and in its
`Event` union, so that the Redis and Kafka adapters can decode it) and `ORDERS_CANCEL` in
`tradewind.bus.topics`; it lives here until execution consumes it. Until then only the
in-process bus, which does not serialise, carries it end to end.
"""

from __future__ import annotations

from typing import cast

from tradewind.bus.envelope import Envelope, envelope
from tradewind.domain.events import BaseEvent, Event
from tradewind.domain.model import Instrument

#: OrderCancelRequest, keyed by account id, consumed by execution.
ORDERS_CANCEL = "orders.cancel"


class OrderCancelRequest(BaseEvent, frozen=True, kw_only=True, tag="order.cancel_request"):
    """Cancel the open order `client_order_id` (derived from `account_id`, `bot_id` and
    `intent_id`). Execution ignores a request for an order that is already finished;
    `reason` is for the user ("bot stopped", "canceled by the strategy")."""

    account_id: str
    bot_id: str
    intent_id: str
    client_order_id: str
    instrument: Instrument
    reason: str
    ts_ns: int


def cancel_envelope(request: OrderCancelRequest) -> Envelope:
    """`request` ready for `orders.cancel`, keyed by its account."""
    # Not yet a member of the domain's `Event` union (see the module docstring).
    return envelope(cast(Event, request), request.account_id)
