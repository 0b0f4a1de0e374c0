"""Filling an incoming (taker) order against the opposite side of a book.

This is the engine's hot path: integers only, no allocation beyond the `Trade` values
it must return. Every fill settles the maker at once (its hold shrinks, it receives the
other asset minus its maker fee); the taker is settled once, after the walk, for all
its fills together.

A fill's quote amount is price * quantity rounded down to a whole 10**-8 of the quote
asset (only on books whose notional unit is finer, `MarketRules.rounds_quote`): the
buyer pays exactly that and the seller receives exactly that, so the ledger stays
closed. A resting buy held its price * quantity rounded up, so its fills never take
more than it holds; what is left of its hold goes back to free when it fills.
"""

from __future__ import annotations

from tradewind.domain.model import Side
from tradewind.venues.simulated.matching.book import BookSide, Order, OrderBook
from tradewind.venues.simulated.matching.filters import BALANCE_QUANTUM as QUANTUM
from tradewind.venues.simulated.matching.ledger import Account
from tradewind.venues.simulated.matching.results import MatchingOrderStatus, Trade

NO_BUDGET = -1
"""`budget` value for orders whose spending was checked before the walk."""

TAKE_COMPLETE = 0
"""`take` outcome: the taker filled, or reached its limit price or the end of the book."""

TAKE_OUT_OF_BUDGET = -1
"""`take` outcome: the budget is spent, or the next lot would have cost (or earned) more
than the budget left."""

_FILLED = MatchingOrderStatus.FILLED
_PARTIALLY_FILLED = MatchingOrderStatus.PARTIALLY_FILLED
_BUY = Side.BUY
_SELL = Side.SELL


def take(
    book: OrderBook,
    taker: Order,
    limit_price: int,
    budget: int,
    accounts: dict[str, Account],
    trades: list[Trade],
    ts_ns: int,
) -> int:
    """Fill `taker` from the best opposite price up to `limit_price` (ticks), in time order.

    `budget` (notional units, or NO_BUDGET) caps price * quantity summed over the fills,
    and so the quote the taker spends (a buy) or receives (a sell by quote amount), which
    is that rounded down per fill. Matching stops before a resting order of the
    taker's own account (self-trade prevention, EXPIRE_TAKER). Appends the fills to
    `trades` and returns TAKE_COMPLETE, TAKE_OUT_OF_BUDGET, or the id (> 0) of the own
    order that stopped it. Leaves `taker.status` for the caller to decide.
    """
    is_buy = taker.is_buy
    side: BookSide = book.asks if is_buy else book.bids
    levels = side.levels
    dirty = side.dirty
    rules = book.rules
    base_fees = book.base_fees
    quote_fees = book.quote_fees
    quote_per_notional = rules.quote_units_per_notional
    rounds_quote = rules.rounds_quote
    base_per_step = rules.base_units_per_step
    symbol = rules.symbol
    taker_fee = taker.fees.taker
    taker_fee_num = taker_fee.numerator
    taker_fee_den = taker_fee.quanta_denominator  # fees are whole 10**-8: see FeeRate
    taker_id = taker.order_id
    taker_cid = taker.client_order_id
    taker_account_id = taker.account_id
    taker_trades = taker.trades
    maker_side = _SELL if is_buy else _BUY
    remaining = taker.quantity - taker.executed
    executed = taker.executed
    quote_total = taker.cumulative_quote
    fee_total = 0
    trade_id = book.next_trade_id
    outcome = TAKE_COMPLETE
    price = 0

    while remaining:
        best = side.best()
        if best is None or (best > limit_price if is_buy else best < limit_price):
            break
        price = best
        level = levels[price]
        orders = level.orders
        level_filled = 0
        while remaining and orders:
            maker = orders[0]
            maker_leaves = maker.leaves
            if not maker_leaves:
                orders.popleft()
                level.dead -= 1
                continue
            maker_account_id = maker.account_id
            if maker_account_id == taker_account_id:
                outcome = maker.order_id
                break
            quantity = maker_leaves if maker_leaves < remaining else remaining
            notional = price * quantity
            if budget != NO_BUDGET:
                if notional > budget:
                    quantity = budget // price
                    if not quantity:
                        outcome = TAKE_OUT_OF_BUDGET
                        break
                    notional = price * quantity
                budget -= notional
            base_units = quantity * base_per_step
            quote_units = notional * quote_per_notional
            if rounds_quote:
                quote_units -= quote_units % QUANTUM
            maker_fee = maker.fees.maker
            if is_buy:
                # The maker sold: its base hold pays, it receives quote minus its fee.
                paid = base_units
                maker_fee_units = (
                    quote_units * maker_fee.numerator // maker_fee.quanta_denominator * QUANTUM
                )
                maker.receives.free += quote_units - maker_fee_units
                quote_fees.free += maker_fee_units
                taker_fee_units = base_units * taker_fee_num // taker_fee_den * QUANTUM
            else:
                paid = quote_units
                maker_fee_units = (
                    base_units * maker_fee.numerator // maker_fee.quanta_denominator * QUANTUM
                )
                maker.receives.free += base_units - maker_fee_units
                base_fees.free += maker_fee_units
                taker_fee_units = quote_units * taker_fee_num // taker_fee_den * QUANTUM
            fee_total += taker_fee_units
            maker_leaves -= quantity
            maker.leaves = maker_leaves
            maker.executed += quantity
            maker.cumulative_quote += quote_units
            maker.updated_ns = ts_ns
            maker.pays.locked -= paid
            held = maker.held - paid
            maker.held = held
            if maker_leaves:
                maker_status = _PARTIALLY_FILLED
            else:
                maker_status = _FILLED
                if held:  # what rounding the hold up left over goes back to free
                    maker.release()
                orders.popleft()
                del accounts[maker_account_id].open_orders[maker.order_id]
            maker.status = maker_status
            remaining -= quantity
            executed += quantity
            quote_total += quote_units
            level_filled += quantity
            trade = Trade(
                symbol,
                trade_id,
                price,
                quantity,
                quote_units,
                maker_side,
                maker.order_id,
                taker_id,
                maker.client_order_id,
                taker_cid,
                maker_account_id,
                taker_account_id,
                maker_fee_units,
                taker_fee_units,
                maker.executed,
                maker.cumulative_quote,
                maker_status,
                executed,
                quote_total,
                ts_ns,
                rules,
            )
            trade_id += 1
            trades.append(trade)
            maker.trades.append(trade)
            taker_trades.append(trade)
        if level_filled:
            dirty.add(price)
            level.quantity -= level_filled
            if not level.quantity:
                del levels[price]
        if outcome:
            break

    if executed != taker.executed:
        # Settle the taker once for all its fills: it pays what the fills cost and
        # receives what they delivered, minus its taker fee.
        filled = executed - taker.executed
        quote_units = quote_total - taker.cumulative_quote
        if is_buy:
            taker.pays.free -= quote_units
            taker.receives.free += filled * base_per_step - fee_total
            base_fees.free += fee_total
        else:
            taker.pays.free -= filled * base_per_step
            taker.receives.free += quote_units - fee_total
            quote_fees.free += fee_total
        taker.executed = executed
        taker.cumulative_quote = quote_total
        taker.updated_ns = ts_ns
        book.next_trade_id = trade_id
        book.last_price = price
    if not budget and not outcome:
        outcome = TAKE_OUT_OF_BUDGET
    return outcome


def can_fill_completely(book: OrderBook, taker: Order, limit_price: int) -> bool:
    """Whether `taker` could fill its whole quantity now (the FOK test).

    Counts resting quantity from the best price up to `limit_price`, stopping at the
    first resting order of the taker's own account, as `take` would.
    """
    side = book.asks if taker.is_buy else book.bids
    wanted = taker.quantity - taker.executed
    account_id = taker.account_id
    for price in side.prices_up_to(limit_price):
        for maker in side.levels[price].orders:
            if maker.leaves:
                if maker.account_id == account_id:
                    return False
                wanted -= maker.leaves
                if wanted <= 0:
                    return True
    return False
