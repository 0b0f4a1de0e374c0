"""The parameters of Binance's `POST /api/v3/order` (and `/order/test`,
`/order/cancelReplace`), validated into an `OrderRequest` the simulated exchange can
execute.

Types LIMIT (timeInForce GTC, IOC or FOK), LIMIT_MAKER (post-only: the engine's GTX),
MARKET (by `quantity` or by `quoteOrderQty`), STOP_LOSS and TAKE_PROFIT (`quantity`,
`stopPrice`; a MARKET order once triggered) and STOP_LOSS_LIMIT and TAKE_PROFIT_LIMIT
(`timeInForce`, `quantity`, `price`, `stopPrice`). `trailingDelta` is refused as
Binance refuses it on a symbol without trailing stops (-2010); parameters of other
order kinds the simulator does not list (iceberg, pegged, strategy) are refused with
-1106 rather than silently ignored.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from decimal import Decimal

from tradewind.domain.model import OrderType, Side, TimeInForce
from tradewind.venues.simulated.matching import MatchingError, StopType
from tradewind.venues.simulated.matching.filters import MarketRules
from tradewind.venues.simulated.server import binance_errors as errors
from tradewind.venues.simulated.server.formatting import SELF_TRADE_PREVENTION, SymbolMap
from tradewind.venues.simulated.server.rest_params import Params

RESPONSE_TYPES = ("ACK", "RESULT", "FULL")
_STOP_TYPES = {
    "STOP_LOSS": (StopType.STOP_LOSS, False),
    "STOP_LOSS_LIMIT": (StopType.STOP_LOSS, True),
    "TAKE_PROFIT": (StopType.TAKE_PROFIT, False),
    "TAKE_PROFIT_LIMIT": (StopType.TAKE_PROFIT, True),
}
ORDER_TYPES = ("LIMIT", "LIMIT_MAKER", "MARKET", *_STOP_TYPES)
TRAILING_NOT_SUPPORTED = errors.BinanceError(
    -2010, "Trailing stop orders are not supported for this symbol."
)
_CLIENT_ORDER_ID = re.compile(errors.CLIENT_ORDER_ID_RANGE)
_ALPHABET = string.ascii_letters + string.digits
_UNSUPPORTED = (
    "icebergQty",
    "strategyId",
    "strategyType",
    "pegPriceType",
    "pegOffsetValue",
    "pegOffsetType",
)


@dataclass(frozen=True)
class OrderRequest:
    """A new order as the exchange takes it. `wire_type` is Binance's type name; a stop
    or take-profit order has a `stop_type` and `stop_price` (its `order_type` is what
    it works as once triggered)."""

    symbol: str
    side: Side
    order_type: OrderType
    wire_type: str
    time_in_force: TimeInForce
    quantity: Decimal | None
    quote_quantity: Decimal | None
    price: Decimal | None
    client_order_id: str
    response_type: str
    stop_type: StopType | None = None
    stop_price: Decimal | None = None


def new_client_order_id() -> str:
    """A random id of 22 letters and digits, like the ones Binance assigns."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(22))


def client_order_id(params: Params, name: str) -> str | None:
    value = params.text(name)
    if value is not None and not _CLIENT_ORDER_ID.fullmatch(value):
        raise errors.illegal_chars(name, errors.CLIENT_ORDER_ID_RANGE)
    return value


def parse_order(params: Params, symbols: SymbolMap) -> OrderRequest:
    """Validate the parameters of a new order; raises BinanceError naming what is wrong."""
    symbol = params.symbol(symbols)
    side_text = params.required("side")
    if side_text not in ("BUY", "SELL"):
        raise errors.invalid_side()
    wire_type = params.required("type")
    if wire_type not in ORDER_TYPES:
        raise errors.invalid_order_type()
    if "trailingDelta" in params:
        raise TRAILING_NOT_SUPPORTED
    params.reject(*_UNSUPPORTED)
    stp = params.text("selfTradePreventionMode")
    if stp is not None and stp != SELF_TRADE_PREVENTION:
        raise errors.invalid_parameter("selfTradePreventionMode")
    quantity = params.decimal("quantity")
    quote_quantity = params.decimal("quoteOrderQty")
    price = params.decimal("price")
    stop_price = params.decimal("stopPrice")
    stop = _STOP_TYPES.get(wire_type)
    if stop is None:
        params.reject("stopPrice")
    elif stop_price is None:
        raise errors.mandatory_missing("stopPrice")
    is_market = wire_type == "MARKET" or (stop is not None and not stop[1])
    if is_market:
        params.reject("price", "timeInForce")
        if stop is not None:
            params.reject("quoteOrderQty")
            if quantity is None:
                raise errors.mandatory_missing("quantity")
        elif quantity is None and quote_quantity is None:
            raise errors.either_mandatory("quantity", "quoteOrderQty")
        if quantity is not None and quote_quantity is not None:
            raise errors.not_required("quoteOrderQty")
        order_type, tif = OrderType.MARKET, TimeInForce.GTC
    else:
        params.reject("quoteOrderQty")
        tif = _limit_time_in_force(params, wire_type)
        if quantity is None:
            raise errors.mandatory_missing("quantity")
        if price is None:
            raise errors.mandatory_missing("price")
        order_type = OrderType.LIMIT
    response_type = params.choice(
        "newOrderRespType", RESPONSE_TYPES, errors.invalid_parameter("newOrderRespType")
    )
    return OrderRequest(
        symbol=symbol,
        side=Side(side_text),
        order_type=order_type,
        wire_type=wire_type,
        time_in_force=tif,
        quantity=quantity,
        quote_quantity=quote_quantity,
        price=price,
        client_order_id=client_order_id(params, "newClientOrderId") or new_client_order_id(),
        # Binance: MARKET and LIMIT answer FULL by default, other types ACK.
        response_type=response_type or ("FULL" if wire_type in ("LIMIT", "MARKET") else "ACK"),
        stop_type=stop[0] if stop is not None else None,
        stop_price=stop_price,
    )


def _limit_time_in_force(params: Params, wire_type: str) -> TimeInForce:
    if wire_type == "LIMIT_MAKER":
        params.reject("timeInForce")
        return TimeInForce.GTX
    tif_text = params.text("timeInForce")
    if tif_text is None:
        raise errors.mandatory_missing("timeInForce")
    if tif_text not in ("GTC", "IOC", "FOK"):
        raise errors.invalid_time_in_force()
    return TimeInForce(tif_text)


def check_filters(order: OrderRequest, rules: MarketRules) -> None:
    """The symbol's filters, as `/order/test` checks them without placing the order
    (market orders: LOT_SIZE only, their notional depends on the book)."""
    try:
        if order.stop_price is not None:
            rules.price_ticks(order.stop_price)
        if order.quantity is not None:
            steps = rules.quantity_steps(order.quantity)
            if order.price is not None:
                rules.check_notional(rules.price_ticks(order.price) * steps)
    except MatchingError as exc:
        raise errors.BinanceError.from_matching(exc) from None
