"""Accepting, filling, resting and cancelling orders: the engine's write path.

Each function validates everything first (raising a `MatchingError` with nothing
changed), then assigns the order id, fills what crosses (see `fills`), holds funds for
what rests, and decides the order's Binance status. Prices and quantities arrive as
ticks and lot steps already checked against PRICE_FILTER and LOT_SIZE; amounts are in
amount units (see `filters`).

A resting order holds what it may still pay in its `held` (a buy: price * quantity
rounded up to 10**-8, see `MarketRules.quote_hold`); whatever is left of it when the
order leaves the book, filled or cancelled, goes back to free.
"""

from __future__ import annotations

from tradewind.domain.model import OrderType, TimeInForce
from tradewind.venues.simulated.matching.book import Order, OrderBook
from tradewind.venues.simulated.matching.errors import (
    DUPLICATE_ORDER,
    INSUFFICIENT_BALANCE,
    MANDATORY_ORDER_REF,
    UNKNOWN_ORDER,
    WOULD_TAKE,
    CancelRejected,
    SubmitRejected,
)
from tradewind.venues.simulated.matching.fills import (
    NO_BUDGET,
    TAKE_COMPLETE,
    TAKE_OUT_OF_BUDGET,
    can_fill_completely,
    take,
)
from tradewind.venues.simulated.matching.filters import BALANCE_QUANTUM
from tradewind.venues.simulated.matching.ledger import Account, AssetBalance, Ledger
from tradewind.venues.simulated.matching.order_lists import OrderList, cancel_list
from tradewind.venues.simulated.matching.results import (
    MatchingOrderStatus,
    OrderSnapshot,
    SubmitResult,
    Trade,
)

NO_LIMIT = 1 << 62  # a buy limit above any price, in ticks
_GTC = TimeInForce.GTC
_FOK = TimeInForce.FOK
_GTX = TimeInForce.GTX
_LIMIT = OrderType.LIMIT
_MARKET = OrderType.MARKET
_PARTIALLY_FILLED = MatchingOrderStatus.PARTIALLY_FILLED
_FILLED = MatchingOrderStatus.FILLED
_EXPIRED = MatchingOrderStatus.EXPIRED
_EXPIRED_IN_MATCH = MatchingOrderStatus.EXPIRED_IN_MATCH
_CANCELED = MatchingOrderStatus.CANCELED


class OrderRegistry:
    """Every order the engine accepted, in a list indexed by order id - 1 (ids are 1, 2, …),
    and every order list, indexed by its id (0, 1, …)."""

    __slots__ = ("order_lists", "orders")

    def __init__(self) -> None:
        self.orders: list[Order] = []
        self.order_lists: list[OrderList] = []

    def find(
        self, book: OrderBook, account_id: str, order_id: int | None, client_order_id: str | None
    ) -> Order | None:
        """The account's order on `book` by id, else by client order id; None if unknown."""
        if order_id is not None:
            if not 0 < order_id <= len(self.orders):
                return None
            order = self.orders[order_id - 1]
            if order.rules is not book.rules or order.account_id != account_id:
                return None
            return order
        if client_order_id is not None:
            return book.client_orders.get(account_id, {}).get(client_order_id)
        raise SubmitRejected(MANDATORY_ORDER_REF, "send order_id or client_order_id")


def check_client_order_id(book: OrderBook, account_id: str, client_order_id: str | None) -> None:
    """Refuse (-2010) a client order id the account already used on this book."""
    if client_order_id is not None and client_order_id in book.client_orders.get(account_id, ()):
        raise SubmitRejected(
            DUPLICATE_ORDER, f"client order id {client_order_id!r} was already used"
        )


def accept(
    registry: OrderRegistry,
    book: OrderBook,
    account: Account,
    client_order_id: str | None,
    is_buy: bool,
    order_type: OrderType,
    time_in_force: TimeInForce | None,
    price: int,
    quantity: int,
    quote_order_units: int,
    base: AssetBalance,
    quote: AssetBalance,
    ts_ns: int,
) -> Order:
    """Create and index the order; the last step that may still refuse (duplicate id)."""
    orders = registry.orders
    order_id = len(orders) + 1
    cid = client_order_id or f"tw{order_id}"
    account_id = account.account_id
    by_cid = book.client_orders.get(account_id)
    if by_cid is None:
        by_cid = book.client_orders[account_id] = {}
    elif cid in by_cid:
        raise SubmitRejected(DUPLICATE_ORDER, f"client order id {cid!r} was already used")
    order = Order(
        order_id, cid, account_id, book.rules, account.fees, account.trades, is_buy,
        order_type, time_in_force, price, quantity, quote_order_units,
        quote if is_buy else base, base if is_buy else quote, ts_ns, ts_ns,
    )  # fmt: skip
    orders.append(order)
    by_cid[cid] = order
    account.orders.append(order)
    return order


def place_limit(
    ledger: Ledger,
    registry: OrderRegistry,
    book: OrderBook,
    account_id: str,
    is_buy: bool,
    price: int,
    quantity: int,
    time_in_force: TimeInForce,
    client_order_id: str | None,
    ts_ns: int,
) -> SubmitResult:
    """Place a limit order of `quantity` steps at `price` ticks (filters already passed)."""
    rules = book.rules
    account = ledger.accounts.get(account_id) or ledger.account(account_id)
    holdings = account.holdings
    base = holdings.get(rules.base) or account.holding(rules.base)
    quote = holdings.get(rules.quote) or account.holding(rules.quote)
    if is_buy:
        need = price * quantity * rules.quote_units_per_notional
        if rules.rounds_quote:
            need += -need % BALANCE_QUANTUM  # MarketRules.quote_hold, inlined (hot path)
        if quote.free < need:
            raise SubmitRejected(INSUFFICIENT_BALANCE, f"not enough free {rules.quote}")
        best = book.asks.best()
        crosses = best is not None and best <= price
    else:
        if base.free < quantity * rules.base_units_per_step:
            raise SubmitRejected(INSUFFICIENT_BALANCE, f"not enough free {rules.base}")
        best = book.bids.best()
        crosses = best is not None and best >= price
    if crosses and time_in_force is _GTX:
        raise SubmitRejected(WOULD_TAKE, "post-only (GTX) order would take liquidity")
    order = accept(
        registry, book, account, client_order_id, is_buy, _LIMIT, time_in_force, price,
        quantity, 0, base, quote, ts_ns,
    )  # fmt: skip
    return work_limit(ledger, book, account, order, crosses, ts_ns)


def work_limit(
    ledger: Ledger, book: OrderBook, account: Account, order: Order, crosses: bool, ts_ns: int
) -> SubmitResult:
    """Fill what crosses of an accepted limit order, then rest, expire or finish it.

    The account's free balance must cover the order's hold (checked, or just released):
    its fills cost no more than that, and the rest then holds no more than what is left.
    """
    price = order.price
    time_in_force = order.time_in_force
    trades: list[Trade] = []
    outcome = TAKE_COMPLETE
    if crosses and (time_in_force is not _FOK or can_fill_completely(book, order, price)):
        outcome = take(book, order, price, NO_BUDGET, ledger.accounts, trades, ts_ns)
    leaves = order.quantity - order.executed
    if not leaves:
        order.status = _FILLED
    elif outcome > 0:
        order.status = _EXPIRED_IN_MATCH
    elif time_in_force is _GTC or time_in_force is _GTX:
        order.leaves = leaves
        rules = book.rules
        if order.is_buy:
            hold = price * leaves * rules.quote_units_per_notional
            if rules.rounds_quote:
                hold += -hold % BALANCE_QUANTUM  # MarketRules.quote_hold, inlined
            book.bids.add(order)
        else:
            hold = leaves * rules.base_units_per_step
            book.asks.add(order)
        paying = order.pays
        paying.free -= hold
        paying.locked += hold
        order.held = hold
        account.open_orders[order.order_id] = order
        if trades:
            order.status = _PARTIALLY_FILLED
    else:
        order.status = _EXPIRED
        order.updated_ns = ts_ns
    if trades or order.leaves:
        book.changed()
    return SubmitResult(order.snapshot(), trades, outcome if outcome > 0 else None)


def place_market(
    ledger: Ledger,
    registry: OrderRegistry,
    book: OrderBook,
    account_id: str,
    is_buy: bool,
    quantity: int,
    quote_order_units: int,
    client_order_id: str | None,
    ts_ns: int,
) -> SubmitResult:
    """Place a market order of `quantity` steps, or by `quote_order_units` if non-zero.

    For an order by quote amount `quantity` is the most it may execute (max_qty). Its
    budget caps the exact price * quantity of its fills, so the quote they move (each
    rounded down to 10**-8) never exceeds the amount either.
    """
    rules = book.rules
    account = ledger.accounts.get(account_id) or ledger.account(account_id)
    base = account.holding(rules.base)
    quote = account.holding(rules.quote)
    unit = rules.quote_units_per_notional
    if is_buy:
        if quote_order_units:
            if quote.free < quote_order_units:
                raise SubmitRejected(INSUFFICIENT_BALANCE, f"not enough free {rules.quote}")
            budget = quote_order_units // unit
        else:
            budget = quote.free // unit
            best = book.asks.best()
            if best is not None and budget < best:
                raise SubmitRejected(INSUFFICIENT_BALANCE, f"not enough free {rules.quote}")
        limit = NO_LIMIT
    else:
        free_steps = base.free // rules.base_units_per_step
        if quote_order_units:
            quantity = min(quantity, free_steps)
            budget = quote_order_units // unit
        else:
            budget = NO_BUDGET
        if not quantity or free_steps < quantity:
            raise SubmitRejected(INSUFFICIENT_BALANCE, f"not enough free {rules.base}")
        limit = 0
    order = accept(
        registry, book, account, client_order_id, is_buy, _MARKET, None, 0, quantity,
        quote_order_units, base, quote, ts_ns,
    )  # fmt: skip
    return work_market(ledger, book, order, limit, budget, ts_ns)


def work_market(
    ledger: Ledger, book: OrderBook, order: Order, limit: int, budget: int, ts_ns: int
) -> SubmitResult:
    """Fill an accepted market order from the best price outwards, up to `limit` ticks
    and `budget` notional units (or NO_BUDGET); what does not fill expires."""
    trades: list[Trade] = []
    outcome = take(book, order, limit, budget, ledger.accounts, trades, ts_ns)
    if order.quote_order_units:
        order.quantity = order.executed  # Binance reports origQty = executedQty
        # Filled once the amount left cannot buy (or sell) one more lot.
        filled = order.executed > 0 and outcome == TAKE_OUT_OF_BUDGET
    else:
        filled = order.executed == order.quantity
    if outcome > 0:
        order.status = _EXPIRED_IN_MATCH
    else:
        order.status = _FILLED if filled else _EXPIRED
    order.updated_ns = ts_ns
    if trades:
        book.changed()
    return SubmitResult(order.snapshot(), trades, outcome if outcome > 0 else None)


def cancel(
    ledger: Ledger,
    registry: OrderRegistry,
    book: OrderBook,
    account_id: str,
    order_id: int | None,
    client_order_id: str | None,
    ts_ns: int,
) -> OrderSnapshot:
    """Cancel an open order and release its hold; CancelRejected (-2011) if not open.

    A leg of an executing OCO cancels the whole list, as on Binance."""
    order = registry.find(book, account_id, order_id, client_order_id)
    account = ledger.accounts.get(account_id)
    if order is None or account is None or order.order_id not in account.open_orders:
        ref = order_id if order_id is not None else client_order_id
        raise CancelRejected(UNKNOWN_ORDER, f"no open order {ref!r} on {book.rules.symbol}")
    if order.order_list_id >= 0:
        order_list = registry.order_lists[order.order_list_id]
        if order_list.executing:
            cancel_list(ledger, book, order_list, ts_ns)
            return order.snapshot()
    if order.leaves:
        (book.bids if order.is_buy else book.asks).remove(order)
        order.leaves = 0
        book.changed()
    else:  # a stop waiting for its price
        book.stops.discard()
    order.release()
    order.status = _CANCELED
    order.updated_ns = ts_ns
    del account.open_orders[order.order_id]
    return order.snapshot()
