"""Stop-loss and take-profit orders: placing one, triggering it when a trade reaches its
stop price, and following the cascade a trigger can set off.

Binance's rules (its rest-api.md "Trigger order price rules" and errors.md):

* a BUY STOP_LOSS and a SELL TAKE_PROFIT trigger when the last trade price is at or
  above the stop price, a SELL STOP_LOSS and a BUY TAKE_PROFIT when it is at or below;
* an order whose stop price the last trade price already reached is refused, -2010
  "Order would trigger immediately." (before the book's first trade nothing is refused);
* a triggered order keeps its order id and works as a MARKET (STOP_LOSS, TAKE_PROFIT)
  or LIMIT (the *_LIMIT types, with their timeInForce) order from then on.

Holds are taken at placement, in the order's `held`: the quantity of base for a sell;
price * quantity of quote, rounded up to 10**-8, for a buy (the stop price for a stop
that becomes a market order: what it will cost then is unknown, and a triggered market
buy, like any market buy here, may spend the account's free quote beyond that). At the
trigger the hold is released and the order works like a new one, holding again for
whatever of it rests.

Trades are checked after each taking order, against the lowest and highest price it
traded at (one walk of the book is monotonic, so those are its first and last fills);
stops that fire in the same round work oldest first.
"""

from __future__ import annotations

from tradewind.domain.model import OrderType, TimeInForce
from tradewind.venues.simulated.matching.book import OrderBook, is_waiting
from tradewind.venues.simulated.matching.errors import (
    INSUFFICIENT_BALANCE,
    WOULD_TRIGGER_IMMEDIATELY,
    SubmitRejected,
)
from tradewind.venues.simulated.matching.fills import NO_BUDGET
from tradewind.venues.simulated.matching.ledger import Ledger
from tradewind.venues.simulated.matching.order_entry import (
    NO_LIMIT,
    OrderRegistry,
    accept,
    work_limit,
    work_market,
)
from tradewind.venues.simulated.matching.order_lists import end_by_fill, end_by_trigger
from tradewind.venues.simulated.matching.results import (
    Consequence,
    StopType,
    SubmitResult,
    Trade,
    TriggeredOrder,
)

_LIMIT = OrderType.LIMIT


def would_trigger(book: OrderBook, is_buy: bool, stop_type: StopType, stop_price: int) -> bool:
    """Whether the book's last trade price already reached `stop_price` (ticks)."""
    last = book.last_price
    if not last:
        return False
    if (stop_type is StopType.STOP_LOSS) == is_buy:
        return last >= stop_price
    return last <= stop_price


def place_stop(
    ledger: Ledger,
    registry: OrderRegistry,
    book: OrderBook,
    account_id: str,
    is_buy: bool,
    stop_type: StopType,
    order_type: OrderType,
    price: int,
    stop_price: int,
    quantity: int,
    time_in_force: TimeInForce | None,
    client_order_id: str | None,
    ts_ns: int,
) -> SubmitResult:
    """Accept a stop order (filters already passed) and hold what it needs; it waits,
    status NEW, until a trade reaches `stop_price`."""
    if would_trigger(book, is_buy, stop_type, stop_price):
        raise SubmitRejected(
            WOULD_TRIGGER_IMMEDIATELY,
            f"the last trade price {book.rules.price(book.last_price)} already reached the "
            f"stop price {book.rules.price(stop_price)}",
        )
    rules = book.rules
    account = ledger.account(account_id)
    base = account.holding(rules.base)
    quote = account.holding(rules.quote)
    if is_buy:
        need = rules.quote_hold((price if order_type is _LIMIT else stop_price) * quantity)
    else:
        need = quantity * rules.base_units_per_step
    pays = quote if is_buy else base
    if pays.free < need:
        asset = rules.quote if is_buy else rules.base
        raise SubmitRejected(INSUFFICIENT_BALANCE, f"not enough free {asset}")
    order = accept(
        registry, book, account, client_order_id, is_buy, order_type, time_in_force, price,
        quantity, 0, base, quote, ts_ns,
    )  # fmt: skip
    order.stop_type = stop_type
    order.stop_price = stop_price
    order.hold(need)
    account.open_orders[order.order_id] = order
    book.stops.add(order)
    return SubmitResult(order.snapshot(), [])


def settle(
    ledger: Ledger, registry: OrderRegistry, book: OrderBook, result: SubmitResult, ts_ns: int
) -> SubmitResult:
    """Follow what `result`'s trades set off: OCO legs they filled end their lists,
    stops they reached trigger, and so on with the triggered orders' own trades.

    Returns `result` itself if nothing followed, else a copy with `consequences`."""
    pending = result.trades
    stops = book.stops
    # One walk of the book: its first and last fills are its extremes.
    a, b = pending[0].price_ticks, pending[-1].price_ticks
    low, high = (a, b) if a <= b else (b, a)
    if not book.list_legs:
        # The common case, kept cheap: no stop is near (a stale head takes the long way).
        rising, falling = stops.rising, stops.falling
        if (not rising or rising[0][0] > high) and (not falling or -falling[0][0] < low):
            return result
    consequences: list[Consequence] = []
    if book.list_legs:
        _end_lists_by_fill(ledger, registry, book, pending, consequences, ts_ns)
    first_round = True
    while pending and stops.live:
        if first_round:
            first_round = False
        else:
            prices = [t.price_ticks for t in pending]
            low, high = min(prices), max(prices)
        pending = []
        for order in stops.pop_triggered(low, high):
            if not is_waiting(order):
                continue  # expired by an order that fired earlier in this round
            stops.live -= 1
            if order.order_list_id >= 0:
                order_list = registry.order_lists[order.order_list_id]
                if order_list.executing:
                    consequences += end_by_trigger(ledger, book, order_list, order, ts_ns)
            fired = _fire(ledger, book, order.order_id, registry, ts_ns)
            consequences.append(TriggeredOrder(fired, ts_ns))
            if fired.trades:
                # Before the next stop fires: an OCO leg these fills hit ends its list.
                if book.list_legs:
                    _end_lists_by_fill(ledger, registry, book, fired.trades, consequences, ts_ns)
                pending += fired.trades
    if not consequences:
        return result
    return SubmitResult(
        result.order, result.trades, result.prevented_maker_order_id, tuple(consequences)
    )


def _fire(
    ledger: Ledger, book: OrderBook, order_id: int, registry: OrderRegistry, ts_ns: int
) -> SubmitResult:
    """Release a triggered stop's hold and let it work under the same order id."""
    order = registry.orders[order_id - 1]
    account = ledger.accounts[order.account_id]
    order.release()
    del account.open_orders[order_id]
    order.working_ns = ts_ns
    order.updated_ns = ts_ns
    if order.order_type is _LIMIT:
        if order.is_buy:
            best = book.asks.best()
            crosses = best is not None and best <= order.price
        else:
            best = book.bids.best()
            crosses = best is not None and best >= order.price
        return work_limit(ledger, book, account, order, crosses, ts_ns)
    if order.is_buy:
        budget = order.pays.free // book.rules.quote_units_per_notional
        return work_market(ledger, book, order, NO_LIMIT, budget, ts_ns)
    return work_market(ledger, book, order, 0, NO_BUDGET, ts_ns)


def _end_lists_by_fill(
    ledger: Ledger,
    registry: OrderRegistry,
    book: OrderBook,
    trades: list[Trade],
    consequences: list[Consequence],
    ts_ns: int,
) -> None:
    list_legs = book.list_legs
    for trade in trades:
        order_list_id = list_legs.get(trade.maker_order_id)
        if order_list_id is None:
            continue
        order_list = registry.order_lists[order_list_id]
        filled = registry.orders[trade.maker_order_id - 1]
        consequences += end_by_fill(ledger, book, order_list, filled, ts_ns)
        if not list_legs:
            return
