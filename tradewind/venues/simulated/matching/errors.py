"""Errors of the matching engine, each carrying Binance's error code and message.

`code` and `msg` are exactly what Binance's REST API returns for the same mistake, so the
server layer can answer `{"code": exc.code, "msg": exc.msg}` unchanged; `detail` says, in
our own words, what was wrong and how to fix it.
"""

from __future__ import annotations

from typing import NamedTuple

from tradewind.errors import TradewindError


class Reason(NamedTuple):
    """A Binance error: numeric `code` and the exact `msg` text Binance sends."""

    code: int
    msg: str


INVALID_PRICE = Reason(-1013, "Invalid price.")
INVALID_QUANTITY = Reason(-1013, "Invalid quantity.")
PRICE_FILTER = Reason(-1013, "Filter failure: PRICE_FILTER")
LOT_SIZE = Reason(-1013, "Filter failure: LOT_SIZE")
NOTIONAL = Reason(-1013, "Filter failure: NOTIONAL")
MANDATORY_QUANTITY = Reason(
    -1102, "Param 'quantity' or 'quoteOrderQty' must be sent, but both were empty/null!"
)
MANDATORY_ORDER_REF = Reason(
    -1102, "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!"
)
QUOTE_QTY_NOT_REQUIRED = Reason(-1106, "Parameter 'quoteOrderQty' sent when not required.")
TOO_MUCH_PRECISION = Reason(-1111, "Precision is over the maximum defined for this asset.")
INVALID_SYMBOL = Reason(-1121, "Invalid symbol.")
INSUFFICIENT_BALANCE = Reason(-2010, "Account has insufficient balance for requested action.")
WOULD_TAKE = Reason(-2010, "Order would immediately match and take.")
DUPLICATE_ORDER = Reason(-2010, "Duplicate order sent.")
WOULD_TRIGGER_IMMEDIATELY = Reason(-2010, "Order would trigger immediately.")
OCO_BAD_PRICES = Reason(-2010, "The relationship of the prices for the orders is not correct.")
UNSUPPORTED_COMBINATION = Reason(-1014, "Unsupported order combination.")
OCO_TYPE_REJECTED = Reason(-1158, "Order type not supported in OCO.")
BUY_OCO_LIMIT_MUST_BE_BELOW = Reason(-1165, "A limit order in a buy OCO must be below.")
SELL_OCO_LIMIT_MUST_BE_ABOVE = Reason(-1166, "A limit order in a sell OCO must be above.")
OCO_NEEDS_CONTINGENT = Reason(-1168, "At least one OCO order must be contingent.")
BUY_OCO_STOP_LOSS_MUST_BE_ABOVE = Reason(-1196, "A stop loss order in a buy OCO must be above.")
SELL_OCO_STOP_LOSS_MUST_BE_BELOW = Reason(-1197, "A stop loss order in a sell OCO must be below.")
BUY_OCO_TAKE_PROFIT_MUST_BE_BELOW = Reason(-1198, "A take profit order in a buy OCO must be below.")
SELL_OCO_TAKE_PROFIT_MUST_BE_ABOVE = Reason(
    -1199, "A take profit order in a sell OCO must be above."
)
UNKNOWN_ORDER = Reason(-2011, "Unknown order sent.")
ORDER_DOES_NOT_EXIST = Reason(-2013, "Order does not exist.")
UNKNOWN_ORDER_LIST = Reason(-2011, "Unknown order list sent.")
ORDER_LIST_DOES_NOT_EXIST = Reason(-2013, "Order list does not exist.")


class MatchingError(TradewindError):
    """A request the engine refused; the engine's state is exactly as before the call."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        self.code = reason.code
        self.msg = reason.msg
        self.detail = detail
        super().__init__(f"{reason.code} {reason.msg}" + (f" ({detail})" if detail else ""))


class SubmitRejected(MatchingError):
    """A new order was refused (filters, balance, post-only, duplicate client order id).

    No order id was assigned and nothing in the books or the ledger changed. Not to be
    confused with the bus event `tradewind.domain.events.OrderRejected`, which an
    execution service may publish after catching this.
    """


class CancelRejected(MatchingError):
    """A cancel named an order that is unknown, not this account's, or no longer open."""


class OrderNotFound(MatchingError):
    """A query named an order that this account never placed on this symbol."""


class UnknownSymbol(MatchingError):
    """The symbol is not listed on the engine (`add_instrument` was never called for it)."""


class InvalidInstrumentSpec(TradewindError):
    """An instrument's filters cannot be represented exactly; `detail` names the field."""
