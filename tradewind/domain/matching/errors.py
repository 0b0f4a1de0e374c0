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
UNKNOWN_ORDER = Reason(-2011, "Unknown order sent.")
ORDER_DOES_NOT_EXIST = Reason(-2013, "Order does not exist.")


class MatchingError(TradewindError):
    """A request the engine refused; the engine's state is exactly as before the call."""

    def __init__(self, reason: Reason, detail: str = "") -> None:
        self.code = reason.code
        self.msg = reason.msg
        self.detail = detail
        super().__init__(f"{reason.code} {reason.msg}" + (f" ({detail})" if detail else ""))


class OrderRejected(MatchingError):
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
