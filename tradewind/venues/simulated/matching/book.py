"""The limit order book of one instrument: price levels in price-time priority.

Each side keeps its levels in a dict `price (ticks) -> PriceLevel` and the prices in a
binary heap (negated for bids) for the best price; a level that empties is deleted from
the dict at once and its heap entry is dropped lazily when it reaches the top. A level is
a FIFO deque of orders; a cancelled order in the middle of the deque stays there with
`leaves == 0` until matching pops it (or the level is compacted), so a cancel is O(1).
"""

from __future__ import annotations

from collections import deque
from heapq import heapify, heappop, heappush, nlargest, nsmallest

import msgspec

from tradewind.domain.events import BookLevel
from tradewind.domain.model import OrderType, Side, TimeInForce
from tradewind.venues.simulated.matching.filters import MarketRules
from tradewind.venues.simulated.matching.ledger import AssetBalance, FeeSchedule
from tradewind.venues.simulated.matching.results import (
    DepthUpdate,
    MatchingOrderStatus,
    OrderSnapshot,
    StopType,
    Trade,
)

_BUY = Side.BUY
_SELL = Side.SELL


class Order(msgspec.Struct, gc=False, eq=False):
    """An order inside the engine; mutable, never handed out (see `snapshot`).

    `price` in ticks (0 for market orders); `quantity`, `leaves` (resting on the book)
    and `executed` in lot steps; `cumulative_quote` (the sum of its trades' quote
    amounts) and `quote_order_units` in amount units of the quote asset. `pays` /
    `receives` are the account's balances of the asset it gives (quote for a buy) and
    gets; `fees` and `trades` are its account's fee schedule and trade history.

    `held` (amount units of `pays`) is what the order still holds in `pays.locked`: what
    it took when it came to rest (a buy's price * quantity rounded up to 10**-8, see
    `MarketRules.quote_hold`), less what its fills paid out of it; or, for a stop, what
    it took at placement. Whatever is left when it leaves the book goes back to free
    (`release`). An OCO's legs hold only their own part; the list holds the rest.

    A stop or take-profit order also has `stop_type` and `stop_price` (ticks); while it
    waits, `working_ns` is 0. `order_list_id` is its OCO's index in the registry, -1 if
    none.

    A Struct rather than a class because it is built in C, and untracked by the cyclic
    garbage collector (`gc=False`), so a million resting orders cost nothing at
    collection time. That is safe because nothing an order references (balances, fee
    schedule, trade list, rules) references an order back, so it is never in a cycle.
    """

    order_id: int
    client_order_id: str
    account_id: str
    rules: MarketRules
    fees: FeeSchedule
    trades: list[Trade]
    is_buy: bool
    order_type: OrderType
    time_in_force: TimeInForce | None
    price: int
    quantity: int
    quote_order_units: int
    pays: AssetBalance
    receives: AssetBalance
    created_ns: int
    updated_ns: int
    leaves: int = 0
    executed: int = 0
    cumulative_quote: int = 0
    held: int = 0
    status: MatchingOrderStatus = MatchingOrderStatus.NEW
    stop_type: StopType | None = None
    stop_price: int = 0
    working_ns: int = 0
    order_list_id: int = -1

    def hold(self, units: int) -> None:
        """Move `units` (amount units) of `pays` from free to locked, held by this order."""
        pays = self.pays
        pays.free -= units
        pays.locked += units
        self.held += units

    def release(self) -> None:
        """Give back to free whatever this order still holds (it left the book)."""
        held = self.held
        if held:
            pays = self.pays
            pays.locked -= held
            pays.free += held
            self.held = 0

    def snapshot(self) -> OrderSnapshot:
        """An immutable copy of the order's current state."""
        rules = self.rules
        return OrderSnapshot(
            rules.symbol,
            self.order_id,
            self.client_order_id,
            self.account_id,
            _BUY if self.is_buy else _SELL,
            self.order_type,
            self.time_in_force,
            self.status,
            self.price,
            self.quantity,
            self.executed,
            self.cumulative_quote,
            self.quote_order_units,
            self.created_ns,
            self.updated_ns,
            rules,
            self.stop_type,
            self.stop_price,
            self.working_ns if self.stop_type is not None else self.created_ns,
            self.order_list_id,
        )


class PriceLevel:
    """Orders resting at one price, oldest first; `quantity` is their total leaves (steps).

    `dead` counts cancelled orders still in the deque.
    """

    __slots__ = ("dead", "orders", "quantity")

    def __init__(self) -> None:
        self.orders: deque[Order] = deque()
        self.quantity = 0
        self.dead = 0


class BookSide:
    """The bids or the asks of one book.

    `dirty` collects the prices whose level changed since the last `drain_depth_update`.
    """

    __slots__ = ("_heap", "_sign", "dirty", "levels")

    def __init__(self, is_bids: bool) -> None:
        self.levels: dict[int, PriceLevel] = {}
        # Heap keys are prices for asks and negated prices for bids, so the top is best.
        self._heap: list[int] = []
        self._sign = -1 if is_bids else 1
        self.dirty: set[int] = set()

    def best(self) -> int | None:
        """The best price in ticks (highest bid, lowest ask), or None if the side is empty."""
        heap = self._heap
        levels = self.levels
        sign = self._sign
        while heap:
            price = heap[0] * sign
            if price in levels:
                return price
            heappop(heap)
        return None

    def add(self, order: Order) -> None:
        """Rest `order` (its `leaves` already set) at the back of its price level."""
        price = order.price
        level = self.levels.get(price)
        if level is None:
            level = self.levels[price] = PriceLevel()
            heap = self._heap
            heappush(heap, price * self._sign)
            # A level that empties and comes back is pushed again; rebuild the heap
            # before stale keys outnumber live ones.
            if len(heap) > 2 * len(self.levels) + 64:
                self._heap = [p * self._sign for p in self.levels]
                heapify(self._heap)
        level.orders.append(order)
        level.quantity += order.leaves
        self.dirty.add(price)

    def remove(self, order: Order) -> None:
        """Take a resting order off its level (the caller then zeroes its `leaves`)."""
        price = order.price
        level = self.levels[price]
        level.quantity -= order.leaves
        self.dirty.add(price)
        if not level.quantity:
            del self.levels[price]
            return
        orders = level.orders
        if orders[-1] is order:
            orders.pop()
        elif orders[0] is order:
            orders.popleft()
        else:
            level.dead += 1
            if level.dead > 16 and 2 * level.dead > len(orders):
                level.orders = deque(o for o in orders if o is not order and o.leaves)
                level.dead = 0

    def depth(self, limit: int) -> list[tuple[int, int]]:
        """Up to `limit` levels best first, as (price ticks, total quantity steps)."""
        prices = nlargest(limit, self.levels) if self._sign < 0 else nsmallest(limit, self.levels)
        return [(price, self.levels[price].quantity) for price in prices]

    def prices_up_to(self, limit_price: int) -> list[int]:
        """Prices that an order limited at `limit_price` could take, best first."""
        if self._sign < 0:
            return sorted((p for p in self.levels if p >= limit_price), reverse=True)
        return sorted(p for p in self.levels if p <= limit_price)

    def drain_changes(self, rules: MarketRules) -> tuple[BookLevel, ...]:
        """The dirty levels with their current total (0 if gone); clears `dirty`."""
        levels = self.levels
        changes = []
        for price in sorted(self.dirty, reverse=self._sign < 0):
            level = levels.get(price)
            changes.append(
                BookLevel(rules.price(price), rules.quantity(level.quantity if level else 0))
            )
        self.dirty.clear()
        return tuple(changes)


class StopBook:
    """Stop and take-profit orders waiting for a trade price, one heap per direction, so
    that a trade looks only at the nearest stop each way.

    `rising` holds orders that trigger when a trade prints at or above their stop price
    (BUY STOP_LOSS, SELL TAKE_PROFIT), lowest stop first; `falling` those that trigger
    at or below it (SELL STOP_LOSS, BUY TAKE_PROFIT), highest first. Entries are
    (key, order id, order): ids are unique, so orders are never compared. A canceled or
    expired stop stays in its heap until it reaches the top (or the heaps are rebuilt);
    `live` counts the ones still waiting.
    """

    __slots__ = ("falling", "live", "rising")

    def __init__(self) -> None:
        self.rising: list[tuple[int, int, Order]] = []
        self.falling: list[tuple[int, int, Order]] = []
        self.live = 0

    def add(self, order: Order) -> None:
        """Wait for `order`'s stop price (its `stop_type` and `stop_price` are set)."""
        if triggers_rising(order):
            heappush(self.rising, (order.stop_price, order.order_id, order))
        else:
            heappush(self.falling, (-order.stop_price, order.order_id, order))
        self.live += 1

    def discard(self) -> None:
        """Count one waiting stop as gone (canceled or expired; its entry goes lazily)."""
        self.live -= 1
        if len(self.rising) + len(self.falling) > 2 * self.live + 64:
            self.rising = [e for e in self.rising if is_waiting(e[2])]
            self.falling = [e for e in self.falling if is_waiting(e[2])]
            heapify(self.rising)
            heapify(self.falling)

    def pop_triggered(self, low: int, high: int) -> list[Order]:
        """The waiting stops that trades between `low` and `high` (ticks) reach, taken
        off the heaps, oldest first. The caller counts each one it fires off `live`
        (one that an earlier one expired, an OCO sibling, was counted by `discard`)."""
        fired: list[Order] = []
        heap = self.rising
        while heap:
            key, _, order = heap[0]
            if not is_waiting(order):
                heappop(heap)
            elif key <= high:
                fired.append(heappop(heap)[2])
            else:
                break
        heap = self.falling
        while heap:
            key, _, order = heap[0]
            if not is_waiting(order):
                heappop(heap)
            elif -key >= low:
                fired.append(heappop(heap)[2])
            else:
                break
        if len(fired) > 1:
            fired.sort(key=_order_id)
        return fired


def triggers_rising(order: Order) -> bool:
    """True if `order` triggers on a trade at or above its stop price."""
    return (order.stop_type is StopType.STOP_LOSS) == order.is_buy


def is_waiting(order: Order) -> bool:
    """True for a stop or take-profit order not yet triggered, canceled or expired."""
    return not order.working_ns and order.status is MatchingOrderStatus.NEW


def _order_id(order: Order) -> int:
    return order.order_id


class OrderBook:
    """One instrument's book, its client order ids and its depth-update counter.

    `update_id` increases by one for every operation that changes the book;
    `pending_from` is the first update id not yet drained by `drain_depth_update` (0 if
    none). `client_orders` maps account id, then client order id, to the order, for
    every order the book ever accepted; `client_lists` does the same for order lists
    (to their id). `stops` holds the stop orders waiting for a trade price, and
    `list_legs` maps the id of each leg of an OCO still executing to the list's id.
    """

    __slots__ = (
        "asks",
        "base_fees",
        "bids",
        "client_lists",
        "client_orders",
        "last_price",
        "list_legs",
        "next_trade_id",
        "pending_from",
        "quote_fees",
        "rules",
        "stops",
        "update_id",
    )

    def __init__(
        self, rules: MarketRules, base_fees: AssetBalance, quote_fees: AssetBalance
    ) -> None:
        """`base_fees` / `quote_fees`: where the exchange collects fees of this book."""
        self.rules = rules
        self.base_fees = base_fees
        self.quote_fees = quote_fees
        self.bids = BookSide(is_bids=True)
        self.asks = BookSide(is_bids=False)
        self.client_orders: dict[str, dict[str, Order]] = {}
        self.client_lists: dict[str, dict[str, int]] = {}
        self.stops = StopBook()
        self.list_legs: dict[int, int] = {}
        self.update_id = 0
        self.pending_from = 0
        self.next_trade_id = 1
        self.last_price = 0

    def changed(self) -> None:
        """Record one book-changing operation."""
        self.update_id += 1
        if not self.pending_from:
            self.pending_from = self.update_id

    def drain_depth_update(self) -> DepthUpdate | None:
        """Levels changed since the previous drain, or None if the book did not change."""
        if not self.pending_from:
            return None
        update = DepthUpdate(
            self.rules.symbol,
            self.pending_from,
            self.update_id,
            self.bids.drain_changes(self.rules),
            self.asks.drain_changes(self.rules),
        )
        self.pending_from = 0
        return update
