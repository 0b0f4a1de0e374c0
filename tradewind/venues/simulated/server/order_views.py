"""Binance's JSON shapes of orders that may be stop / take-profit orders or OCO legs, and
of order lists; built on `formatting`'s plain-order shapes.

What changes for such orders (Binance's rest-api.md, "Conditional fields in Order
Responses" and the order-list endpoints): `type` is STOP_LOSS, STOP_LOSS_LIMIT,
TAKE_PROFIT or TAKE_PROFIT_LIMIT; `stopPrice` appears in placement and cancel responses
of those types (queries always carry it, "0.00000000" for other orders); `workingTime`
is -1 and `isWorking` false until the stop price is reached; `orderListId` names the
OCO, -1 for none.
"""

from __future__ import annotations

from tradewind.domain.model import OrderType, TimeInForce
from tradewind.venues.simulated.matching import OrderListSnapshot, OrderSnapshot, SubmitResult
from tradewind.venues.simulated.server import formatting
from tradewind.venues.simulated.server.formatting import fixed

ORDER_TYPES = [
    "LIMIT",
    "LIMIT_MAKER",
    "MARKET",
    "STOP_LOSS",
    "STOP_LOSS_LIMIT",
    "TAKE_PROFIT",
    "TAKE_PROFIT_LIMIT",
]
"""Every order type the simulator takes: exchangeInfo's `orderTypes`, with `ocoAllowed`
(and `otoAllowed` False), `cancelReplaceAllowed` True and `allowTrailingStop` False."""

OCO_ALLOWED = True
CANCEL_REPLACE_ALLOWED = True
ALLOW_TRAILING_STOP = False


def wire_order_type(order: OrderSnapshot) -> str:
    """Binance's `type` of an order."""
    if order.stop_type is not None:
        suffix = "_LIMIT" if order.order_type is OrderType.LIMIT else ""
        return f"{order.stop_type.value}{suffix}"
    if order.order_type is OrderType.MARKET:
        return "MARKET"
    return "LIMIT_MAKER" if order.time_in_force is TimeInForce.GTX else "LIMIT"


def _contingent_fields(order: OrderSnapshot, body: dict[str, object]) -> dict[str, object]:
    if "orderListId" in body:
        body["orderListId"] = order.order_list_id
    if "type" not in body:
        return body  # ACK: symbol and ids only
    body["type"] = wire_order_type(order)
    if order.stop_type is not None:
        body["stopPrice"] = fixed(order.stop_price)
    if "workingTime" in body:
        body["workingTime"] = order.working_ms
    return body


def order_ack(order: OrderSnapshot, wire_symbol: str, transact_ms: int) -> dict[str, object]:
    return _contingent_fields(order, formatting.order_ack(order, wire_symbol, transact_ms))


def order_result(order: OrderSnapshot, wire_symbol: str, transact_ms: int) -> dict[str, object]:
    return _contingent_fields(order, formatting.order_result(order, wire_symbol, transact_ms))


def order_full(result: SubmitResult, wire_symbol: str, transact_ms: int) -> dict[str, object]:
    body = formatting.order_full(result, wire_symbol, transact_ms)
    return _contingent_fields(result.order, body)


def order_response(
    result: SubmitResult, wire_symbol: str, response_type: str, transact_ms: int
) -> dict[str, object]:
    """A new order's response of `response_type` (ACK, RESULT or FULL)."""
    if response_type == "ACK":
        return order_ack(result.order, wire_symbol, transact_ms)
    if response_type == "RESULT":
        return order_result(result.order, wire_symbol, transact_ms)
    return order_full(result, wire_symbol, transact_ms)


def order_query(order: OrderSnapshot, wire_symbol: str) -> dict[str, object]:
    """GET /order, openOrders, allOrders."""
    body = _contingent_fields(order, formatting.order_query(order, wire_symbol))
    body["isWorking"] = order.is_working
    return body


def order_canceled(
    order: OrderSnapshot, wire_symbol: str, cancel_client_id: str, transact_ms: int
) -> dict[str, object]:
    body = formatting.order_canceled(order, wire_symbol, cancel_client_id, transact_ms)
    return _contingent_fields(order, body)


def order_list(
    order_list: OrderListSnapshot,
    wire_symbol: str,
    reports: list[dict[str, object]] | None = None,
) -> dict[str, object]:
    """An order list: GET /orderList, allOrderList, openOrderList (no `reports`), or a
    placement / cancel response with its legs' `orderReports`."""
    body: dict[str, object] = {
        "orderListId": order_list.order_list_id,
        "contingencyType": order_list.contingency_type,
        "listStatusType": order_list.list_status_type,
        "listOrderStatus": order_list.list_order_status,
        "listClientOrderId": order_list.list_client_order_id,
        "transactionTime": order_list.transaction_ms,
        "symbol": wire_symbol,
        "orders": [
            {"symbol": wire_symbol, "orderId": o.order_id, "clientOrderId": o.client_order_id}
            for o in order_list.orders
        ],
    }
    if reports is not None:
        body["orderReports"] = reports
    return body


def order_list_placed(
    placed: OrderListSnapshot, wire_symbol: str, response_type: str
) -> dict[str, object]:
    """POST /orderList/oco and /order/oco: the list with each leg as `response_type`
    shows it (ACK, RESULT or FULL; a placed leg has no fills)."""
    ms = placed.transaction_ms
    reports = [
        order_response(SubmitResult(o, []), wire_symbol, response_type, ms) for o in placed.orders
    ]
    return order_list(placed, wire_symbol, reports)


def order_list_canceled(
    canceled: OrderListSnapshot, wire_symbol: str, cancel_client_id: str
) -> dict[str, object]:
    """DELETE /orderList (and an OCO in DELETE /openOrders)."""
    ms = canceled.transaction_ms
    reports = [order_canceled(o, wire_symbol, cancel_client_id, ms) for o in canceled.orders]
    return order_list(canceled, wire_symbol, reports)
