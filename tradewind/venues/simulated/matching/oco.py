"""Placing an OCO (Binance `POST /api/v3/orderList/oco`): an above and a below leg of
the same side and quantity, one a stop loss, the other a limit maker or take profit.

Binance's rules, as its rest-api.md states them for `orderList/oco` (the deprecated
`order/oco` is the special case LIMIT_MAKER + STOP_LOSS[_LIMIT]):

* SELL: the stop-loss leg is below, the LIMIT_MAKER / TAKE_PROFIT[_LIMIT] leg above;
  BUY: the other way round. A leg on the wrong side is -1165/-1166/-1196..-1199, two
  LIMIT_MAKER legs -1168, any other pairing -1158;
* prices: above leg > last trade price > below leg (a LIMIT_MAKER's limit price, a
  stop's stop price), else -2010 "The relationship of the prices for the orders is not
  correct." (before the first trade only above > below is required);
* each leg passes the symbol's filters; a LIMIT_MAKER leg that would take is -2010.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec

from tradewind.domain.model import OrderType, TimeInForce
from tradewind.venues.simulated.matching.book import OrderBook
from tradewind.venues.simulated.matching.errors import (
    BUY_OCO_LIMIT_MUST_BE_BELOW,
    BUY_OCO_STOP_LOSS_MUST_BE_ABOVE,
    BUY_OCO_TAKE_PROFIT_MUST_BE_BELOW,
    DUPLICATE_ORDER,
    INSUFFICIENT_BALANCE,
    INVALID_PRICE,
    OCO_BAD_PRICES,
    OCO_NEEDS_CONTINGENT,
    OCO_TYPE_REJECTED,
    SELL_OCO_LIMIT_MUST_BE_ABOVE,
    SELL_OCO_STOP_LOSS_MUST_BE_BELOW,
    SELL_OCO_TAKE_PROFIT_MUST_BE_ABOVE,
    WOULD_TAKE,
    Reason,
    SubmitRejected,
)
from tradewind.venues.simulated.matching.filters import MarketRules
from tradewind.venues.simulated.matching.ledger import Ledger
from tradewind.venues.simulated.matching.order_entry import (
    OrderRegistry,
    accept,
    check_client_order_id,
)
from tradewind.venues.simulated.matching.order_lists import OrderList
from tradewind.venues.simulated.matching.results import OrderListSnapshot, StopType

_STOP_LOSS = StopType.STOP_LOSS
_TAKE_PROFIT = StopType.TAKE_PROFIT
# Binance's leg type -> (stop type, what it works as)
LEG_TYPES: dict[str, tuple[StopType | None, OrderType]] = {
    "LIMIT_MAKER": (None, OrderType.LIMIT),
    "STOP_LOSS": (_STOP_LOSS, OrderType.MARKET),
    "STOP_LOSS_LIMIT": (_STOP_LOSS, OrderType.LIMIT),
    "TAKE_PROFIT": (_TAKE_PROFIT, OrderType.MARKET),
    "TAKE_PROFIT_LIMIT": (_TAKE_PROFIT, OrderType.LIMIT),
}


class OcoLeg(msgspec.Struct, frozen=True, kw_only=True):
    """One leg of an OCO: Binance's `type` for it (a key of LEG_TYPES), its limit `price`
    (LIMIT_MAKER and *_LIMIT), `stop_price` (the stop types), `time_in_force` (*_LIMIT:
    GTC, IOC or FOK) and client order id (generated if None)."""

    order_type: str
    price: Decimal | None = None
    stop_price: Decimal | None = None
    time_in_force: TimeInForce | None = None
    client_order_id: str | None = None


class _Leg:
    """A leg checked against the filters, in ticks and steps."""

    __slots__ = ("leg", "order_type", "price", "reference", "stop_price", "stop_type", "tif")

    def __init__(self, leg: OcoLeg, rules: MarketRules, steps: int) -> None:
        self.leg = leg
        self.stop_type, self.order_type = LEG_TYPES[leg.order_type]
        limit = self.order_type is OrderType.LIMIT
        if limit and leg.price is None:
            raise SubmitRejected(INVALID_PRICE, f"a {leg.order_type} leg needs a price")
        if self.stop_type is not None and leg.stop_price is None:
            raise SubmitRejected(INVALID_PRICE, f"a {leg.order_type} leg needs a stop price")
        self.price = rules.price_ticks(leg.price) if limit and leg.price is not None else 0
        self.stop_price = rules.price_ticks(leg.stop_price) if leg.stop_price else 0
        filters = rules.spec.filters
        if limit:
            rules.check_notional(self.price * steps)
        elif (filters.apply_min_to_market and self.stop_price * steps < rules.min_notional) or (
            filters.apply_max_to_market and self.stop_price * steps > rules.max_notional
        ):
            rules.check_notional(self.stop_price * steps)
        if self.stop_type is None:
            self.tif: TimeInForce | None = TimeInForce.GTX
        elif limit:
            self.tif = leg.time_in_force or TimeInForce.GTC
        else:
            self.tif = None
        self.reference = self.stop_price if self.stop_type is not None else self.price


def _check_sides(is_buy: bool, above: _Leg, below: _Leg) -> None:
    if above.stop_type is None and below.stop_type is None:
        raise SubmitRejected(OCO_NEEDS_CONTINGENT)
    wrong: Reason | None = None
    if is_buy:
        if above.stop_type is None:
            wrong = BUY_OCO_LIMIT_MUST_BE_BELOW
        elif above.stop_type is _TAKE_PROFIT:
            wrong = BUY_OCO_TAKE_PROFIT_MUST_BE_BELOW
        elif below.stop_type is _STOP_LOSS:
            wrong = BUY_OCO_STOP_LOSS_MUST_BE_ABOVE
    else:
        if above.stop_type is _STOP_LOSS:
            wrong = SELL_OCO_STOP_LOSS_MUST_BE_BELOW
        elif below.stop_type is None:
            wrong = SELL_OCO_LIMIT_MUST_BE_ABOVE
        elif below.stop_type is _TAKE_PROFIT:
            wrong = SELL_OCO_TAKE_PROFIT_MUST_BE_ABOVE
    if wrong is not None:
        raise SubmitRejected(wrong)


def _check_prices(book: OrderBook, is_buy: bool, above: _Leg, below: _Leg) -> None:
    last = book.last_price
    if above.reference <= below.reference or (
        last and not above.reference > last > below.reference
    ):
        raise SubmitRejected(OCO_BAD_PRICES, "above leg > last trade price > below leg")
    for leg in (above, below):
        if leg.stop_type is None:
            best = book.asks.best() if is_buy else book.bids.best()
            if best is not None and (best <= leg.price if is_buy else best >= leg.price):
                raise SubmitRejected(WOULD_TAKE, "the LIMIT_MAKER leg would take liquidity")


def _need(rules: MarketRules, is_buy: bool, leg: _Leg, steps: int) -> int:
    """Amount units a leg of `steps` needs while it waits or rests whole: price *
    quantity of quote, rounded up to 10**-8, for a buy (the stop price for a leg that
    becomes a market order), the quantity of base for a sell."""
    if not is_buy:
        return steps * rules.base_units_per_step
    price = leg.price if leg.order_type is OrderType.LIMIT else leg.stop_price
    return rules.quote_hold(price * steps)


def place_oco(
    ledger: Ledger,
    registry: OrderRegistry,
    book: OrderBook,
    account_id: str,
    is_buy: bool,
    quantity: Decimal,
    above_leg: OcoLeg,
    below_leg: OcoLeg,
    list_client_order_id: str | None,
    ts_ns: int,
) -> OrderListSnapshot:
    """Validate and place both legs; raises SubmitRejected with nothing changed."""
    rules = book.rules
    for wire_leg in (above_leg, below_leg):
        if wire_leg.order_type not in LEG_TYPES:
            raise SubmitRejected(OCO_TYPE_REJECTED, f"{wire_leg.order_type} is not an OCO leg")
    steps = rules.quantity_steps(quantity)
    above, below = _Leg(above_leg, rules, steps), _Leg(below_leg, rules, steps)
    _check_sides(is_buy, above, below)
    _check_prices(book, is_buy, above, below)
    cids = [w.client_order_id for w in (above_leg, below_leg) if w.client_order_id]
    if len(set(cids)) != len(cids):
        raise SubmitRejected(DUPLICATE_ORDER, "the two legs have the same client order id")
    for cid in cids:
        check_client_order_id(book, account_id, cid)
    lists_by_cid = book.client_lists.setdefault(account_id, {})
    if list_client_order_id is not None and list_client_order_id in lists_by_cid:
        raise SubmitRejected(DUPLICATE_ORDER, f"list id {list_client_order_id!r} was used")
    account = ledger.account(account_id)
    base = account.holding(rules.base)
    quote = account.holding(rules.quote)
    pays = quote if is_buy else base
    hold = max(_need(rules, is_buy, leg, steps) for leg in (above, below))
    if pays.free < hold:
        asset = rules.quote if is_buy else rules.base
        raise SubmitRejected(INSUFFICIENT_BALANCE, f"not enough free {asset}")

    order_list_id = len(registry.order_lists)
    loss, other = (above, below) if above.stop_type is _STOP_LOSS else (below, above)
    orders = []
    for leg in (loss, other):
        order = accept(
            registry, book, account, leg.leg.client_order_id, is_buy, leg.order_type, leg.tif,
            leg.price, steps, 0, base, quote, ts_ns,
        )  # fmt: skip
        order.order_list_id = order_list_id
        account.open_orders[order.order_id] = order
        book.list_legs[order.order_id] = order_list_id
        if leg.stop_type is None:
            # Resting, it holds its own need, as any resting order; the list the rest.
            order.leaves = steps
            order.hold(_need(rules, is_buy, leg, steps))
            hold -= order.held
            (book.bids if is_buy else book.asks).add(order)
            book.changed()
        else:
            order.stop_type = leg.stop_type
            order.stop_price = leg.stop_price
            book.stops.add(order)
        orders.append(order)
    pays.free -= hold
    pays.locked += hold
    cid = list_client_order_id or f"twl{order_list_id}"
    order_list = OrderList(
        order_list_id, cid, account_id, rules, (orders[0], orders[1]), hold, pays, ts_ns
    )
    registry.order_lists.append(order_list)
    account.order_lists.append(order_list_id)
    lists_by_cid[cid] = order_list_id
    return order_list.snapshot()
