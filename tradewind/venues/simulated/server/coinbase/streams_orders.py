"""The `user` channel's view of an account's orders: each order as of one update, with
what its fills add up to (count, fees in the quote asset), kept per open order so that
an update costs no walk through the account's trades."""

from __future__ import annotations

from decimal import Decimal

from tradewind.venues.simulated.exchange import OrderUpdate
from tradewind.venues.simulated.matching import (
    MatchingEngine,
    MatchingOrderStatus,
    OrderSnapshot,
    Trade,
)
from tradewind.venues.simulated.server.coinbase import streams_payloads as payloads
from tradewind.venues.simulated.server.coinbase.orders import coinbase_order_id
from tradewind.venues.simulated.server.coinbase.streams_payloads import OrderFills

_OPEN = (MatchingOrderStatus.NEW, MatchingOrderStatus.PARTIALLY_FILLED)


class UserOrders:
    """Builds `user` channel orders; remembers the fills of the open orders it reported."""

    def __init__(self, engine: MatchingEngine) -> None:
        self._engine = engine
        self._fills: dict[tuple[str, str, int], OrderFills] = {}  # open orders' fills

    def report(
        self,
        order: OrderSnapshot,
        status: MatchingOrderStatus,
        executed: Decimal,
        filled_value: Decimal,
        update: OrderUpdate | None = None,
    ) -> dict[str, str]:
        """The order as of `update` (now, for a snapshot): then `status`, `executed`
        (base) and `filled_value` (quote); named as the REST side names it."""
        fills = self._order_fills(order, status, executed, update)
        order_id = coinbase_order_id(order.symbol, order.order_id)
        return payloads.user_order(order, order_id, status, executed, filled_value, fills)

    def _order_fills(
        self,
        order: OrderSnapshot,
        status: MatchingOrderStatus,
        executed: Decimal,
        update: OrderUpdate | None,
    ) -> OrderFills:
        """The order's fills when it had `executed`. An order first seen here adds up
        its earlier fills from the engine once. (`order` is its state after the whole
        batch: a NEW update of an order that then traded has fills.)"""
        if not executed:
            return OrderFills()
        key = (order.account_id, order.symbol, order.order_id)
        trade = update.trade if update is not None else None
        fills = self._fills.get(key)
        if fills is None:
            fills = self._earlier_fills(order, None if trade is None else trade.trade_id)
        if trade is not None:
            fills = OrderFills(fills.count + 1, fills.fees + quote_fee(trade, order.account_id))
        if status in _OPEN:
            self._fills[key] = fills
        else:
            self._fills.pop(key, None)
        return fills

    def _earlier_fills(self, order: OrderSnapshot, before_trade_id: int | None) -> OrderFills:
        """The order's fills before trade `before_trade_id` (all of them if None)."""
        count, fees = 0, Decimal(0)
        account_id = order.account_id
        for trade in self._engine.account_trades(account_id, order.symbol):
            if before_trade_id is not None and trade.trade_id >= before_trade_id:
                break
            maker = trade.maker_account_id == account_id and trade.maker_order_id == order.order_id
            taker = trade.taker_account_id == account_id and trade.taker_order_id == order.order_id
            if maker or taker:
                count += 1
                fees += quote_fee(trade, account_id)
        return OrderFills(count, fees)


def quote_fee(trade: Trade, account_id: str) -> Decimal:
    """The fee `account_id` paid on `trade`, in the quote asset: a fee the engine took in
    the base asset (a buyer's) is valued at the fill's price, as Coinbase charges quote."""
    fee, asset = trade.fee_for(account_id)
    return fee * trade.price if asset == trade.rules.base else fee
