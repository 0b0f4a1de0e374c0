"""Binance's JSON shapes of the engine's values: symbols, numbers, orders, trades, klines.

Numbers travel as strings with 8 decimals, Binance's precision for every spot asset
(`baseAssetPrecision` / `quotePrecision` in exchangeInfo): prices are multiples of the
tick and quantities of the lot step, whose exponents are never finer than 10**-8, and
`fixed` writes them exactly. So do quote amounts (`quoteQty`, `cummulativeQuoteQty`),
commissions and balances: the engine moves balances only in whole 10**-8 (see
`tradewind.venues.simulated.matching.engine`). Only a faucet deposit can be finer (the engine
accepts 18 decimals), so balances and commissions are still quantized, a free balance
rounded down, a locked one and a commission up, so that a client adding up 8-decimal
amounts never counts on more than the account holds (`free_amount`, `locked_amount`,
`commission_amount`).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from tradewind.domain.model import OrderType, TimeInForce
from tradewind.venues.simulated.history import Kline
from tradewind.venues.simulated.matching import OrderSnapshot, SubmitResult, Trade

ASSET_PRECISION = 8
_QUANTUM = Decimal(1).scaleb(-ASSET_PRECISION)
SELF_TRADE_PREVENTION = "EXPIRE_TAKER"  # the engine's only mode (see matching.engine)
NO_ORDER_LIST = -1


def fixed(value: Decimal) -> str:
    """`value` with 8 decimals ("0.00100000"), or every decimal it has if it has more."""
    quantized = value.quantize(_QUANTUM)
    return format(quantized if quantized == value else value.normalize(), "f")


def free_amount(value: Decimal) -> str:
    """A free balance with 8 decimals, rounded down (never more than is there)."""
    return format(value.quantize(_QUANTUM, ROUND_DOWN), "f")


def locked_amount(value: Decimal) -> str:
    """A locked balance with 8 decimals, rounded up (free + locked stays the total)."""
    return format(value.quantize(_QUANTUM, ROUND_UP), "f")


def commission_amount(value: Decimal) -> str:
    """A commission with 8 decimals, rounded up (never less than was charged)."""
    return format(value.quantize(_QUANTUM, ROUND_UP), "f")


class SymbolMap:
    """Binance's symbols (BTCUSDT) and the engine's unified ones (BTC/USDT)."""

    def __init__(self, unified_symbols: Iterable[str]) -> None:
        self._to_unified = {s.replace("/", ""): s for s in unified_symbols}
        self._to_wire = {u: w for w, u in self._to_unified.items()}

    def unified(self, wire: str) -> str | None:
        return self._to_unified.get(wire)

    def wire(self, unified: str) -> str:
        return self._to_wire[unified]

    @property
    def wire_symbols(self) -> list[str]:
        return list(self._to_unified)


# -- orders ---------------------------------------------------------------------------


def wire_order_type(order: OrderSnapshot) -> str:
    if order.order_type is OrderType.MARKET:
        return "MARKET"
    return "LIMIT_MAKER" if order.time_in_force is TimeInForce.GTX else "LIMIT"


def wire_time_in_force(order: OrderSnapshot) -> str:
    """Binance shows GTC for MARKET and LIMIT_MAKER orders."""
    tif = order.time_in_force
    return "GTC" if tif is None or tif is TimeInForce.GTX else tif.value


def _quote_order_qty(order: OrderSnapshot) -> str:
    return fixed(order.quote_order_quantity)


def order_ack(order: OrderSnapshot, wire_symbol: str, transact_ms: int) -> dict[str, object]:
    """newOrderRespType=ACK."""
    return {
        "symbol": wire_symbol,
        "orderId": order.order_id,
        "orderListId": NO_ORDER_LIST,
        "clientOrderId": order.client_order_id,
        "transactTime": transact_ms,
    }


def order_result(order: OrderSnapshot, wire_symbol: str, transact_ms: int) -> dict[str, object]:
    """newOrderRespType=RESULT."""
    body = order_ack(order, wire_symbol, transact_ms)
    body.update(
        price=fixed(order.price),
        origQty=fixed(order.quantity),
        executedQty=fixed(order.executed_quantity),
        origQuoteOrderQty=_quote_order_qty(order),
        cummulativeQuoteQty=fixed(order.cumulative_quote_quantity),
        status=order.status.value,
        timeInForce=wire_time_in_force(order),
        type=wire_order_type(order),
        side=order.side.value,
        workingTime=order.created_ms,
        selfTradePreventionMode=SELF_TRADE_PREVENTION,
    )
    return body


def order_full(result: SubmitResult, wire_symbol: str, transact_ms: int) -> dict[str, object]:
    """newOrderRespType=FULL: RESULT plus the fills (the new order was their taker)."""
    body = order_result(result.order, wire_symbol, transact_ms)
    body["fills"] = [
        {
            "price": fixed(t.price),
            "qty": fixed(t.quantity),
            "commission": commission_amount(t.taker_fee),
            "commissionAsset": t.taker_fee_asset,
            "tradeId": t.trade_id,
        }
        for t in result.trades
    ]
    return body


def order_query(order: OrderSnapshot, wire_symbol: str) -> dict[str, object]:
    """An order as GET /order, openOrders and allOrders show it."""
    return {
        "symbol": wire_symbol,
        "orderId": order.order_id,
        "orderListId": NO_ORDER_LIST,
        "clientOrderId": order.client_order_id,
        "price": fixed(order.price),
        "origQty": fixed(order.quantity),
        "executedQty": fixed(order.executed_quantity),
        "cummulativeQuoteQty": fixed(order.cumulative_quote_quantity),
        "status": order.status.value,
        "timeInForce": wire_time_in_force(order),
        "type": wire_order_type(order),
        "side": order.side.value,
        "stopPrice": fixed(Decimal(0)),
        "icebergQty": fixed(Decimal(0)),
        "time": order.created_ms,
        "updateTime": order.updated_ms,
        "isWorking": True,  # False only for stop orders not yet triggered: none here
        "workingTime": order.created_ms,
        "origQuoteOrderQty": _quote_order_qty(order),
        "selfTradePreventionMode": SELF_TRADE_PREVENTION,
    }


def order_canceled(
    order: OrderSnapshot, wire_symbol: str, cancel_client_id: str, transact_ms: int
) -> dict[str, object]:
    """DELETE /order: `clientOrderId` names the cancel request, `origClientOrderId` the order."""
    return {
        "symbol": wire_symbol,
        "origClientOrderId": order.client_order_id,
        "orderId": order.order_id,
        "orderListId": NO_ORDER_LIST,
        "clientOrderId": cancel_client_id,
        "transactTime": transact_ms,
        "price": fixed(order.price),
        "origQty": fixed(order.quantity),
        "executedQty": fixed(order.executed_quantity),
        "origQuoteOrderQty": _quote_order_qty(order),
        "cummulativeQuoteQty": fixed(order.cumulative_quote_quantity),
        "status": order.status.value,
        "timeInForce": wire_time_in_force(order),
        "type": wire_order_type(order),
        "side": order.side.value,
        "selfTradePreventionMode": SELF_TRADE_PREVENTION,
    }


# -- trades and candles ---------------------------------------------------------------


def public_trade(trade: Trade) -> dict[str, object]:
    """GET /trades item."""
    return {
        "id": trade.trade_id,
        "price": fixed(trade.price),
        "qty": fixed(trade.quantity),
        "quoteQty": fixed(trade.quote_quantity),
        "time": trade.time_ms,
        "isBuyerMaker": trade.is_buyer_maker,
        "isBestMatch": True,
    }


def account_trade(
    trade: Trade, account_id: str, wire_symbol: str, order_lists: Mapping[int, int]
) -> dict[str, object]:
    """GET /myTrades item, from `account_id`'s side of the trade; `order_lists` maps the
    ids of the account's orders that are legs of an order list to the list's id."""
    is_maker = trade.maker_account_id == account_id
    commission, asset = trade.fee_for(account_id)
    order_id = trade.maker_order_id if is_maker else trade.taker_order_id
    return {
        "symbol": wire_symbol,
        "id": trade.trade_id,
        "orderId": order_id,
        "orderListId": order_lists.get(order_id, NO_ORDER_LIST),
        "price": fixed(trade.price),
        "qty": fixed(trade.quantity),
        "quoteQty": fixed(trade.quote_quantity),
        "commission": commission_amount(commission),
        "commissionAsset": asset,
        "time": trade.time_ms,
        "isBuyer": trade.buyer_account_id == account_id,
        "isMaker": is_maker,
        "isBestMatch": True,
    }


def kline_row(kline: Kline) -> list[object]:
    """GET /klines and /uiKlines row."""
    return [
        kline.open_ms,
        fixed(kline.open),
        fixed(kline.high),
        fixed(kline.low),
        fixed(kline.close),
        fixed(kline.volume),
        kline.close_ms,
        fixed(kline.quote_volume),
        kline.trades,
        fixed(kline.taker_buy_volume),
        fixed(kline.taker_buy_quote_volume),
        "0",
    ]
