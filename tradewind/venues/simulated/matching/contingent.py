"""The matching engine's contingent orders: stop-loss and take-profit orders and OCO
order lists (`stops`, `oco`, `order_lists` hold the rules).

`ContingentOrders` is a part of `MatchingEngine` (which inherits it), kept apart so the
engine's plain order path reads on its own; it uses the engine's books, ledger and
registry.
"""

from __future__ import annotations

from decimal import Decimal

from tradewind.domain.model import OrderType, Side, TimeInForce
from tradewind.venues.simulated.matching.book import OrderBook
from tradewind.venues.simulated.matching.errors import (
    MANDATORY_ORDER_REF,
    NOTIONAL,
    ORDER_LIST_DOES_NOT_EXIST,
    UNKNOWN_ORDER_LIST,
    UNSUPPORTED_COMBINATION,
    CancelRejected,
    OrderNotFound,
    SubmitRejected,
)
from tradewind.venues.simulated.matching.ledger import Ledger
from tradewind.venues.simulated.matching.oco import OcoLeg, place_oco
from tradewind.venues.simulated.matching.order_entry import OrderRegistry
from tradewind.venues.simulated.matching.order_lists import OrderList, cancel_list
from tradewind.venues.simulated.matching.results import OrderListSnapshot, StopType, SubmitResult
from tradewind.venues.simulated.matching.stops import place_stop


class ContingentOrders:
    """Stop and take-profit orders and OCOs; mixed into `MatchingEngine`."""

    _books: dict[str, OrderBook]
    _ledger: Ledger
    _registry: OrderRegistry

    def _book(self, symbol: str) -> OrderBook:
        raise NotImplementedError  # MatchingEngine._book

    def submit_stop(
        self,
        account_id: str,
        symbol: str,
        side: Side,
        stop_type: StopType,
        quantity: Decimal,
        stop_price: Decimal,
        *,
        price: Decimal | None = None,
        time_in_force: TimeInForce = TimeInForce.GTC,
        client_order_id: str | None = None,
        ts_ns: int,
    ) -> SubmitResult:
        """Place a stop-loss or take-profit order of `quantity` (base asset) that waits
        until a trade prints at its `stop_price` (see `StopType` for the direction).

        Without `price` it then works as a MARKET order (Binance STOP_LOSS/TAKE_PROFIT),
        with one as a LIMIT order with `time_in_force` (GTC, IOC or FOK; *_LIMIT).
        PRICE_FILTER applies to both prices, LOT_SIZE to the quantity, NOTIONAL to
        price * quantity (stop price * quantity for a market one, where the filter
        applies to market orders). Raises SubmitRejected, -2010 "Order would trigger
        immediately." if the last trade price already reached the stop price.
        """
        book = self._book(symbol)
        rules = book.rules
        is_buy = Side(side) is Side.BUY
        steps = rules.quantity_steps(quantity)
        stop_ticks = rules.price_ticks(stop_price)
        if price is not None:
            ticks = rules.price_ticks(price)
            rules.check_notional(ticks * steps)
            tif = TimeInForce(time_in_force)
            if tif is TimeInForce.GTX:
                raise SubmitRejected(UNSUPPORTED_COMBINATION, "a stop-limit order is not post-only")
            order_type = OrderType.LIMIT
        else:
            ticks, tif, order_type = 0, None, OrderType.MARKET
            filters = rules.spec.filters
            notional = stop_ticks * steps
            if (filters.apply_min_to_market and notional < rules.min_notional) or (
                filters.apply_max_to_market and notional > rules.max_notional
            ):
                raise SubmitRejected(NOTIONAL, f"stop price * quantity {rules.notional(notional)}")
        return place_stop(
            self._ledger, self._registry, book, account_id, is_buy, StopType(stop_type),
            order_type, ticks, stop_ticks, steps, tif, client_order_id, ts_ns,
        )  # fmt: skip

    def submit_oco(
        self,
        account_id: str,
        symbol: str,
        side: Side,
        quantity: Decimal,
        *,
        above: OcoLeg,
        below: OcoLeg,
        list_client_order_id: str | None = None,
        ts_ns: int,
    ) -> OrderListSnapshot:
        """Place an OCO: `above` and `below` legs of `quantity` each, sharing one hold;
        when one trades or triggers the other expires (see `oco` for Binance's rules).
        Raises SubmitRejected with nothing placed."""
        book = self._book(symbol)
        return place_oco(
            self._ledger, self._registry, book, account_id, Side(side) is Side.BUY,
            quantity, above, below, list_client_order_id, ts_ns,
        )  # fmt: skip

    def cancel_order_list(
        self,
        account_id: str,
        symbol: str,
        *,
        order_list_id: int | None = None,
        list_client_order_id: str | None = None,
        ts_ns: int,
    ) -> OrderListSnapshot:
        """Cancel both legs of an executing OCO and release its hold; CancelRejected
        (-2011) if the account has no such executing list on `symbol`."""
        book = self._book(symbol)
        order_list = self._find_list(account_id, order_list_id, list_client_order_id)
        if order_list is None or order_list.rules is not book.rules or not order_list.executing:
            raise CancelRejected(UNKNOWN_ORDER_LIST, f"no executing order list on {symbol}")
        cancel_list(self._ledger, book, order_list, ts_ns)
        return order_list.snapshot()

    def get_order_list(
        self,
        account_id: str,
        *,
        order_list_id: int | None = None,
        list_client_order_id: str | None = None,
    ) -> OrderListSnapshot:
        """One of the account's order lists, by id or else by its client id; raises
        OrderNotFound (-2013) if it has none such."""
        order_list = self._find_list(account_id, order_list_id, list_client_order_id)
        if order_list is None:
            raise OrderNotFound(ORDER_LIST_DOES_NOT_EXIST, "no such order list")
        return order_list.snapshot()

    def order_lists(self, account_id: str) -> list[OrderListSnapshot]:
        """Every order list the account placed, oldest first."""
        lists = self._registry.order_lists
        return [lists[i].snapshot() for i in self._ledger.account(account_id).order_lists]

    def open_order_lists(self, account_id: str) -> list[OrderListSnapshot]:
        """The account's order lists still executing, oldest first."""
        lists = self._registry.order_lists
        ids = self._ledger.account(account_id).order_lists
        return [lists[i].snapshot() for i in ids if lists[i].executing]

    def _find_list(
        self, account_id: str, order_list_id: int | None, list_client_order_id: str | None
    ) -> OrderList | None:
        lists = self._registry.order_lists
        if order_list_id is not None:
            if 0 <= order_list_id < len(lists) and lists[order_list_id].account_id == account_id:
                return lists[order_list_id]
            return None
        if list_client_order_id is None:
            raise SubmitRejected(MANDATORY_ORDER_REF, "send order_list_id or list_client_order_id")
        for book in self._books.values():
            found = book.client_lists.get(account_id, {}).get(list_client_order_id)
            if found is not None:
                return lists[found]
        return None
