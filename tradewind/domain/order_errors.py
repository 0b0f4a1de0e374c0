"""Errors of the order state machine; each names the order and leaves it unchanged."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tradewind.errors import TradewindError

if TYPE_CHECKING:
    from tradewind.domain.orders import OrderState


class OrderError(TradewindError):
    """Something about one order was impossible; `client_order_id` names it."""

    def __init__(self, client_order_id: str, message: str) -> None:
        self.client_order_id = client_order_id
        super().__init__(f"order {client_order_id}: {message}")


class InvalidTransition(OrderError):
    """A step that makes no sense from the order's current state; nothing changed."""

    def __init__(
        self, client_order_id: str, from_state: OrderState, to_state: OrderState, why: str
    ) -> None:
        self.from_state = from_state
        self.to_state = to_state
        super().__init__(client_order_id, f"cannot go from {from_state} to {to_state}: {why}")


class Overfill(OrderError):
    """A fill or report would take the filled quantity past the order's quantity."""


class InvalidVenueReport(OrderError):
    """A report or fill that cannot be about this order (another id, an unknown status,
    a quantity or price that is not positive); nothing changed."""
