"""A bot's open orders as its strategy sees them, and the rules of `ctx.cancel` and of
handing a rejection back. Kept alike by every host (the live `BotHost`,
`services/strategy/host.py`, and the backtest's context, `backtest_context.py`), so a
strategy meets the same book in both.

- An order is open from the `ctx.submit` that made it until it is filled whole,
  canceled, expired or rejected. `open_orders()` lists the open ones, oldest first, each
  with what has filled of it so far (`filled_quantity`).
- An order leaves the book *before* its strategy hears why (`on_fill` of its last fill,
  `on_order_rejected`): a hook never finds, in `open_orders()`, the order whose end it is
  being told of.
- Canceling asks; it does not end the order. `ctx.cancel` of an open order sends one
  cancel request (asking again before the order ends does nothing) and the order stays
  open, and may still fill, until the cancel takes effect: live when execution reports
  it canceled, in a backtest once the hook that asked returns.
- `ctx.cancel` of an id the bot issued whose order is no longer open does nothing: the
  order may have filled while the strategy decided. An id the bot never issued (not what
  `submit` returned: a client order id, another bot's id, not a str) is a bug in the
  strategy and raises, as a malformed `submit` does (`submission.next_order`).
- A rejection reaches `on_order_rejected` once, and only while its order is open: a
  repeat, or one arriving after the order ended, is dropped.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from tradewind.domain.client_order_ids import client_order_id_for
from tradewind.domain.events import Fill, OrderRejected
from tradewind.strategies.api import OpenOrder, Strategy


class OpenOrders(dict[str, OpenOrder]):
    """One bot's open orders by client order id, oldest first, and which of them have a
    cancel requested. A plain dict to read (the host's hot paths iterate it); change it
    through the methods, which keep the rules above."""

    __slots__ = ("_canceling",)

    def __init__(self, orders: Iterable[OpenOrder] = ()) -> None:
        super().__init__((order.client_order_id, order) for order in orders)
        self._canceling: set[str] = set()

    def add(self, order: OpenOrder) -> None:
        """A submitted order is open from now on (`submission.next_order` made it)."""
        self[order.client_order_id] = order

    def to_cancel(
        self, strategy: Strategy, *, account_id: str, bot_id: str, intent_id: str
    ) -> OpenOrder | None:
        """Check a `ctx.cancel(intent_id)` call of `strategy`'s bot: the open order whose
        cancel the host must now request (it is marked as being canceled), or None when
        there is nothing to do (the order ended, or its cancel was requested already).
        Raises TypeError (`intent_id` not a str) or ValueError (an id the bot never
        issued), naming it."""
        if not isinstance(intent_id, str):
            raise TypeError(
                f"cancel takes the intent id `submit` returned (a str), not {intent_id!r}"
            )
        client_order_id = client_order_id_for(account_id, bot_id, intent_id)
        order = self.get(client_order_id)
        if order is None:
            if not _issued(strategy, bot_id, intent_id):
                raise ValueError(_never_issued(strategy, bot_id, intent_id))
            return None
        if client_order_id in self._canceling:
            return None
        self._canceling.add(client_order_id)
        return order

    def cancel_withdrawn(self, client_order_id: str) -> None:
        """The cancel request of this order was dropped unsent (the hook that asked
        raised): the strategy may ask again."""
        self._canceling.discard(client_order_id)

    def apply_fill(self, fill: Fill) -> bool:
        """Count `fill` against its order; True if it was the order's last (the order
        left the book). A fill of an order that is not open changes nothing."""
        client_order_id = fill.client_order_id
        order = self.get(client_order_id)
        if order is None:
            return False
        filled = order.filled_quantity + fill.quantity
        if filled >= order.quantity:
            self.close(client_order_id)
            return True
        self[client_order_id] = msgspec.structs.replace(order, filled_quantity=filled)
        return False

    def apply_rejection(self, rejected: OrderRejected) -> OpenOrder | None:
        """The rejected order leaves the book. Hand `rejected` to `on_order_rejected`
        only if this returns the order: None means it was not open (a repeated or late
        rejection) and the strategy must not hear of it again."""
        return self.close(rejected.client_order_id)

    def close(self, client_order_id: str) -> OpenOrder | None:
        """The order ended (filled, canceled, expired): it leaves the book. Returns it,
        or None if it was not open."""
        self._canceling.discard(client_order_id)
        return self.pop(client_order_id, None)


def _issued(strategy: Strategy, bot_id: str, intent_id: str) -> bool:
    """Whether `intent_id` is one of `f"{bot_id}:{n}"`, 1 <= n <= the strategy's count."""
    prefix, _, number = intent_id.rpartition(":")
    return (
        prefix == bot_id
        and number.isascii()
        and number.isdecimal()
        and not number.startswith("0")
        and int(number) <= strategy.intent_sequence
    )


def _never_issued(strategy: Strategy, bot_id: str, intent_id: str) -> str:
    issued = strategy.intent_sequence
    span = f"{bot_id}:1 to {bot_id}:{issued}" if issued else "none yet"
    return (
        f"cannot cancel {intent_id!r}: not an intent id this bot issued ({span}); "
        "cancel takes the id `submit` returned, not a client order id"
    )
