"""Order lists (Binance's OCO): two legs that share one hold, where the first leg to
trade or trigger expires the other.

While both legs wait the list holds, in the asset it pays, the larger of the two legs'
needs once (Binance holds a SELL OCO's quantity once; a BUY OCO holds the dearer leg's
quote, rounded up to 10**-8, not the sum). The leg resting on the book (the
LIMIT_MAKER) holds its own need in its `held`, as any resting order does, and the list
the rest; a waiting stop leg holds nothing itself. When a leg fills or triggers, the
other leg expires, releasing what it held, and the list releases its part, so from then
on the surviving leg is accounted for like any other order.
"""

from __future__ import annotations

from tradewind.venues.simulated.matching.book import Order, OrderBook, is_waiting
from tradewind.venues.simulated.matching.filters import MarketRules
from tradewind.venues.simulated.matching.ledger import AssetBalance, Ledger
from tradewind.venues.simulated.matching.results import (
    Consequence,
    ExpiredOrder,
    MatchingOrderStatus,
    OrderListSnapshot,
    OrderListUpdate,
)

EXECUTING = "EXECUTING"
ALL_DONE = "ALL_DONE"
EXEC_STARTED = "EXEC_STARTED"

_CANCELED = MatchingOrderStatus.CANCELED
_EXPIRED = MatchingOrderStatus.EXPIRED


class OrderList:
    """One OCO inside the engine; mutable, handed out only as `snapshot()`.

    `legs` are the stop-loss leg first, then the other; `hold` (amount units of `pays`)
    is what the list holds while `executing` beyond its resting leg's own `held`: the
    two together are the dearer leg's need.
    """

    __slots__ = (
        "account_id",
        "executing",
        "hold",
        "legs",
        "list_client_order_id",
        "order_list_id",
        "pays",
        "rules",
        "updated_ns",
    )

    def __init__(
        self,
        order_list_id: int,
        list_client_order_id: str,
        account_id: str,
        rules: MarketRules,
        legs: tuple[Order, Order],
        hold: int,
        pays: AssetBalance,
        ts_ns: int,
    ) -> None:
        self.order_list_id = order_list_id
        self.list_client_order_id = list_client_order_id
        self.account_id = account_id
        self.rules = rules
        self.legs = legs
        self.hold = hold
        self.pays = pays
        self.executing = True
        self.updated_ns = ts_ns

    def snapshot(self) -> OrderListSnapshot:
        done = not self.executing
        return OrderListSnapshot(
            self.order_list_id,
            self.list_client_order_id,
            self.rules.symbol,
            self.account_id,
            ALL_DONE if done else EXEC_STARTED,
            ALL_DONE if done else EXECUTING,
            self.updated_ns,
            tuple(leg.snapshot() for leg in self.legs),
        )


def cancel_list(ledger: Ledger, book: OrderBook, order_list: OrderList, ts_ns: int) -> None:
    """Cancel both legs of an executing list and release its hold."""
    for leg in order_list.legs:
        _close_leg(ledger, book, leg, _CANCELED, ts_ns)
    _finish(book, order_list, ts_ns)


def end_by_fill(
    ledger: Ledger, book: OrderBook, order_list: OrderList, filled: Order, ts_ns: int
) -> list[Consequence]:
    """`filled` (the resting leg) traded: expire the other leg and release the list's
    hold; `filled` keeps what is left of its own."""
    other = order_list.legs[0] if order_list.legs[1] is filled else order_list.legs[1]
    _close_leg(ledger, book, other, _EXPIRED, ts_ns)
    _finish(book, order_list, ts_ns)
    return [ExpiredOrder(other.snapshot()), OrderListUpdate(order_list.snapshot())]


def end_by_trigger(
    ledger: Ledger, book: OrderBook, order_list: OrderList, triggered: Order, ts_ns: int
) -> list[Consequence]:
    """`triggered` reached its stop price: expire the other leg and release the whole
    hold; the triggered leg then works like a new order and holds for itself."""
    other = order_list.legs[0] if order_list.legs[1] is triggered else order_list.legs[1]
    _close_leg(ledger, book, other, _EXPIRED, ts_ns)
    _finish(book, order_list, ts_ns)
    return [ExpiredOrder(other.snapshot()), OrderListUpdate(order_list.snapshot())]


def _close_leg(
    ledger: Ledger, book: OrderBook, leg: Order, status: MatchingOrderStatus, ts_ns: int
) -> None:
    """Take a still-waiting or still-resting leg out of the book and release what it
    holds itself (not the list's part)."""
    if leg.leaves:
        (book.bids if leg.is_buy else book.asks).remove(leg)
        leg.leaves = 0
        book.changed()
    elif is_waiting(leg):
        book.stops.discard()
    else:
        return  # already triggered, and so no longer the list's to close
    leg.release()
    leg.status = status
    leg.updated_ns = ts_ns
    ledger.accounts[leg.account_id].open_orders.pop(leg.order_id, None)
    book.list_legs.pop(leg.order_id, None)


def _finish(book: OrderBook, order_list: OrderList, ts_ns: int) -> None:
    """Release the list's own hold and end it."""
    pays = order_list.pays
    pays.locked -= order_list.hold
    pays.free += order_list.hold
    order_list.hold = 0
    order_list.executing = False
    order_list.updated_ns = ts_ns
    for leg in order_list.legs:
        book.list_legs.pop(leg.order_id, None)
