"""Asking execution to cancel a bot's open order: `OrderCancelRequest` on the
`orders.cancel` topic, keyed by account."""

from __future__ import annotations

from tradewind.bus.envelope import Envelope, envelope
from tradewind.bus.topics import ORDERS_CANCEL
from tradewind.domain.commands import OrderCancelRequest

__all__ = ["ORDERS_CANCEL", "OrderCancelRequest", "cancel_envelope"]


def cancel_envelope(request: OrderCancelRequest) -> Envelope:
    """`request` ready for `orders.cancel`, keyed by its account."""
    return envelope(request, request.account_id)
