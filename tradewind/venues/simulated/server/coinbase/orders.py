"""The Coinbase orders of a venue and how Coinbase shows them.

The engine numbers orders per symbol; Coinbase names them by uuid. `coinbase_order_id`
derives the uuid from the engine's (symbol, order id), so REST and WebSocket agree on it
without sharing a table. `CoinbaseOrderRecords` keeps what the engine does not: each
order's `order_configuration` as sent, and which client order id names which order (a
repeated `client_order_id` answers the existing order and places nothing: Coinbase's
Create Order says "if the ID provided is not unique, the order fails to be created and
the order corresponding to that ID is returned").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from tradewind.domain.model import OrderType, Side, TimeInForce
from tradewind.domain.time_units import datetime_from_ns
from tradewind.venues.simulated.matching import MatchingOrderStatus, OrderSnapshot, Trade
from tradewind.venues.simulated.server.coinbase.products import plain, product_id, stable_uuid

_ZERO = Decimal(0)


def coinbase_order_id(symbol: str, order_id: int) -> str:
    """The uuid Coinbase-facing APIs name the engine's order `order_id` on `symbol` by."""
    return stable_uuid("order", symbol, str(order_id))


def iso_time(ts_ns: int) -> str:
    """RFC 3339 UTC with microseconds, as Coinbase writes times: 2024-01-02T03:04:05.123456Z."""
    return datetime_from_ns(ts_ns).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class OrderRecord:
    """One Coinbase order: who placed it, where it lives in the engine, what was sent."""

    order_id: str
    account_id: str
    symbol: str
    engine_order_id: int
    client_order_id: str
    configuration: dict[str, dict[str, object]]


@dataclass
class CoinbaseOrderRecords:
    """Every order placed through the Coinbase API, by uuid, by (account, client order
    id) and per account in placing order."""

    _by_id: dict[str, OrderRecord] = field(default_factory=dict)
    _by_client_id: dict[tuple[str, str], str] = field(default_factory=dict)
    _by_account: dict[str, list[str]] = field(default_factory=dict)

    def add(self, record: OrderRecord) -> None:
        self._by_id[record.order_id] = record
        self._by_client_id[(record.account_id, record.client_order_id)] = record.order_id
        self._by_account.setdefault(record.account_id, []).append(record.order_id)

    def get(self, account_id: str, order_id: str) -> OrderRecord | None:
        """The account's order `order_id`; None if unknown or another account's."""
        record = self._by_id.get(order_id)
        return record if record is not None and record.account_id == account_id else None

    def by_client_order_id(self, account_id: str, client_order_id: str) -> OrderRecord | None:
        order_id = self._by_client_id.get((account_id, client_order_id))
        return None if order_id is None else self._by_id[order_id]

    def of_account(self, account_id: str) -> list[OrderRecord]:
        """The account's orders, newest first (as Coinbase lists them)."""
        return [self._by_id[i] for i in reversed(self._by_account.get(account_id, []))]


def coinbase_status(order: OrderSnapshot) -> str:
    """Coinbase's status of an engine order: OPEN, FILLED, CANCELLED or EXPIRED."""
    if order.is_open:
        return "OPEN"
    if order.status is MatchingOrderStatus.FILLED:
        return "FILLED"
    if order.status is MatchingOrderStatus.CANCELED:
        return "CANCELLED"
    return "EXPIRED"  # an IOC/FOK or market remainder the book could not fill


_TIME_IN_FORCE = {
    TimeInForce.GTC: "GOOD_UNTIL_CANCELLED",
    TimeInForce.GTX: "GOOD_UNTIL_CANCELLED",
    TimeInForce.IOC: "IMMEDIATE_OR_CANCEL",
    TimeInForce.FOK: "FILL_OR_KILL",
}


def _time_in_force(order: OrderSnapshot) -> str:
    """Coinbase's time in force: a market order is IMMEDIATE_OR_CANCEL."""
    if order.order_type is OrderType.MARKET or order.time_in_force is None:
        return "IMMEDIATE_OR_CANCEL"
    return _TIME_IN_FORCE[order.time_in_force]


def order_trades(trades: list[Trade], account_id: str, order_id: int) -> list[Trade]:
    """The fills of the account's order `order_id` among `trades` (of its symbol)."""
    return [
        t
        for t in trades
        if (t.maker_order_id == order_id and t.maker_account_id == account_id)
        or (t.taker_order_id == order_id and t.taker_account_id == account_id)
    ]


def order_view(
    record: OrderRecord, order: OrderSnapshot, fills: list[Trade], portfolio: str
) -> dict[str, object]:
    """An order as `GET /api/v3/brokerage/orders/historical/{order_id}` shows it.

    `total_fees` is what the account paid, in the asset the engine charged it in: the
    quote asset when it sold, the base asset when it bought (the engine's fee model;
    Coinbase charges the quote asset always: see docs/venues/coinbase-advanced-endpoints.md).
    """
    executed = order.executed_quantity
    filled_value = order.cumulative_quote_quantity
    fees = sum((t.fee_for(record.account_id)[0] for t in fills), _ZERO)
    average = filled_value / executed if executed else _ZERO
    market = order.order_type is OrderType.MARKET
    by_quote = market and order.quote_order_units > 0
    if by_quote:
        percent = Decimal(100) if order.status is MatchingOrderStatus.FILLED else _ZERO
        if order.quote_order_quantity and filled_value:
            percent = filled_value * 100 / order.quote_order_quantity
    elif order.quantity:
        percent = executed * 100 / order.quantity
    else:
        percent = _ZERO
    is_buy = order.side is Side.BUY
    hold = _ZERO
    if order.is_open:
        hold = order.remaining_quantity * order.price if is_buy else order.remaining_quantity
    last_fill = iso_time(fills[-1].ts_ns) if fills else None
    return {
        "order_id": record.order_id,
        "product_id": product_id(order.symbol),
        "user_id": record.account_id,
        "order_configuration": record.configuration,
        "side": order.side.value,
        "client_order_id": record.client_order_id,
        "status": coinbase_status(order),
        "time_in_force": _time_in_force(order),
        "created_time": iso_time(order.created_ns),
        "completion_percentage": plain(min(percent, Decimal(100)).quantize(Decimal("0.01"))),
        "filled_size": plain(executed),
        "average_filled_price": plain(average),
        "fee": "",
        "number_of_fills": str(len(fills)),
        "filled_value": plain(filled_value),
        "pending_cancel": False,
        "size_in_quote": by_quote,
        "total_fees": plain(fees),
        "size_inclusive_of_fees": False,
        "total_value_after_fees": plain(filled_value - fees if not is_buy else filled_value),
        "trigger_status": "INVALID_ORDER_TYPE",
        "order_type": "MARKET" if market else "LIMIT",
        "reject_reason": "REJECT_REASON_UNSPECIFIED",
        "settled": not order.is_open,
        "product_type": "SPOT",
        "reject_message": "",
        "cancel_message": "User requested cancel"
        if order.status is MatchingOrderStatus.CANCELED
        else "",
        "order_placement_source": "RETAIL_ADVANCED",
        "outstanding_hold_amount": plain(hold),
        "is_liquidation": False,
        "last_fill_time": last_fill,
        "edit_history": [],
        "leverage": "",
        "margin_type": "UNKNOWN_MARGIN_TYPE",
        "retail_portfolio_id": portfolio,
    }


def fill_view(trade: Trade, account_id: str, portfolio: str) -> dict[str, object]:
    """One of the account's fills as `GET /api/v3/brokerage/orders/historical/fills`
    lists it. Beside Coinbase's `commission` (which ccxt books in the quote asset), a
    `fee` {"amount", "currency"} names the asset the engine really charged (ccxt reads
    it first), so a buy's fee in the base asset is not mistaken for quote."""
    fee, fee_asset = trade.fee_for(account_id)
    maker = trade.maker_account_id == account_id
    order_id = trade.maker_order_id if maker else trade.taker_order_id
    bought = trade.buyer_account_id == account_id
    time_text = iso_time(trade.ts_ns)
    return {
        "entry_id": stable_uuid("fill", trade.symbol, str(trade.trade_id), account_id),
        "trade_id": str(trade.trade_id),
        "order_id": coinbase_order_id(trade.symbol, order_id),
        "trade_time": time_text,
        "trade_type": "FILL",
        "price": plain(trade.price),
        "size": plain(trade.quantity),
        "commission": plain(fee),
        "fee": {"amount": plain(fee), "currency": fee_asset},
        "product_id": product_id(trade.symbol),
        "sequence_timestamp": time_text,
        "liquidity_indicator": "MAKER" if maker else "TAKER",
        "size_in_quote": False,
        "user_id": account_id,
        "side": "BUY" if bought else "SELL",
        "retail_portfolio_id": portfolio,
    }
