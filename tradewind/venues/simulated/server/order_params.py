"""The parameters of Binance's `POST /api/v3/order` (and `/order/test`), validated into an
`OrderRequest` the simulated exchange can execute.

Types LIMIT (timeInForce GTC, IOC or FOK), LIMIT_MAKER (post-only: the engine's GTX) and
MARKET (by `quantity` or by `quoteOrderQty`). Parameters of order kinds the simulator
does not list (stop, iceberg, trailing, pegged, strategy) are refused with -1106 rather
than silently ignored.
"""

from __future__ import annotations

import re
import secrets
import string
from dataclasses import dataclass
from decimal import Decimal

from tradewind.domain.matching import MatchingError
from tradewind.domain.matching.filters import MarketRules
from tradewind.domain.model import OrderType, Side, TimeInForce
from tradewind.venues.simulated.server import binance_errors as errors
from tradewind.venues.simulated.server.formatting import SELF_TRADE_PREVENTION, SymbolMap
from tradewind.venues.simulated.server.rest_params import Params

RESPONSE_TYPES = ("ACK", "RESULT", "FULL")
_CLIENT_ORDER_ID = re.compile(errors.CLIENT_ORDER_ID_RANGE)
_ALPHABET = string.ascii_letters + string.digits
_UNSUPPORTED = (
    "stopPrice",
    "trailingDelta",
    "icebergQty",
    "strategyId",
    "strategyType",
    "pegPriceType",
    "pegOffsetValue",
    "pegOffsetType",
)


@dataclass(frozen=True)
class OrderRequest:
    """A new order as the exchange takes it. `wire_type` is Binance's type name."""

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
    if wire_type not in ("LIMIT", "LIMIT_MAKER", "MARKET"):
        raise errors.invalid_order_type()
    params.reject(*_UNSUPPORTED)
    stp = params.text("selfTradePreventionMode")
    if stp is not None and stp != SELF_TRADE_PREVENTION:
        raise errors.invalid_parameter("selfTradePreventionMode")
    quantity = params.decimal("quantity")
    quote_quantity = params.decimal("quoteOrderQty")
    price = params.decimal("price")
    tif_text = params.text("timeInForce")
    if wire_type == "MARKET":
        params.reject("price", "timeInForce")
        if quantity is None and quote_quantity is None:
            raise errors.either_mandatory("quantity", "quoteOrderQty")
        if quantity is not None and quote_quantity is not None:
            raise errors.not_required("quoteOrderQty")
        order_type, tif = OrderType.MARKET, TimeInForce.GTC
    else:
        params.reject("quoteOrderQty")
        if wire_type == "LIMIT_MAKER":
            params.reject("timeInForce")
            tif = TimeInForce.GTX
        elif tif_text is None:
            raise errors.mandatory_missing("timeInForce")
        elif tif_text not in ("GTC", "IOC", "FOK"):
            raise errors.invalid_time_in_force()
        else:
            tif = TimeInForce(tif_text)
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
        response_type=response_type or ("ACK" if wire_type == "LIMIT_MAKER" else "FULL"),
    )


def check_filters(order: OrderRequest, rules: MarketRules) -> None:
    """The symbol's filters, as `/order/test` checks them without placing the order
    (market orders: LOT_SIZE only, their notional depends on the book)."""
    try:
        if order.quantity is not None:
            steps = rules.quantity_steps(order.quantity)
            if order.price is not None:
                rules.check_notional(rules.price_ticks(order.price) * steps)
    except MatchingError as exc:
        raise errors.BinanceError.from_matching(exc) from None
