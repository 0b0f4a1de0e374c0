"""Coinbase's error answers, in the shapes ccxt's `coinbase.handle_errors` reads.

- Advanced Trade (`/api/v3/brokerage`): HTTP status with `{"error", "error_details",
  "message"}`. ccxt matches `error` exactly against its table: `unauthorized` ->
  AuthenticationError, `PERMISSION_DENIED` -> PermissionDenied, `rate_limit_exceeded`
  -> RateLimitExceeded, `INVALID_ARGUMENT` -> BadRequest; anything else ExchangeError.
- A refused order creation is 200 `{"success": false, "failure_reason",
  "error_response": {"error", "message", "error_details", "preview_failure_reason",
  "new_order_failure_reason"}}`; ccxt maps `preview_failure_reason`
  (`PREVIEW_INSUFFICIENT_FUND` -> InsufficientFunds) before anything else.
- Sign In With Coinbase (`/v2`): `{"errors": [{"id", "message"}]}`.

No message ever carries a secret, a token or a signature.
"""

from __future__ import annotations

from typing import NamedTuple

from starlette.responses import Response

from tradewind.venues.simulated.matching import errors as matching
from tradewind.venues.simulated.matching.errors import MatchingError
from tradewind.venues.simulated.server.binance_errors import json_response


class CoinbaseError(Exception):
    """An Advanced Trade error answer: HTTP `status` with `{"error", "error_details",
    "message"}` (`/v2` routes answer `{"errors": [...]}` instead: `v2=True`)."""

    def __init__(
        self,
        status: int,
        error: str,
        message: str,
        *,
        details: str | None = None,
        headers: dict[str, str] | None = None,
        v2: bool = False,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.details = message if details is None else details
        self.headers = headers or {}
        self.v2 = v2

    def response(self) -> Response:
        if self.v2:
            body: dict[str, object] = {"errors": [{"id": self.error, "message": self.message}]}
        else:
            body = {"error": self.error, "error_details": self.details, "message": self.message}
        response = json_response(body, self.status)
        response.headers.update(self.headers)
        return response


def unauthorized(reason: str, *, v2: bool = False) -> CoinbaseError:
    """401 for a request whose credentials do not authenticate; `reason` says why."""
    error = "authentication_error" if v2 else "unauthorized"
    return CoinbaseError(401, error, "Unauthorized", details=reason, v2=v2)


def permission_denied(scope: str) -> CoinbaseError:
    return CoinbaseError(
        403,
        "PERMISSION_DENIED",
        "Missing required scopes",
        details=f"the API key lacks the {scope} permission",
    )


def rate_limited(limit: int, scope: str, retry_after_s: int, *, v2: bool = False) -> CoinbaseError:
    return CoinbaseError(
        429,
        "rate_limit_exceeded",
        "Too many requests",
        details=f"more than {limit} requests per second {scope}; retry after {retry_after_s} s",
        headers={"Retry-After": str(retry_after_s)},
        v2=v2,
    )


def invalid_argument(message: str) -> CoinbaseError:
    return CoinbaseError(400, "INVALID_ARGUMENT", message)


def not_found(message: str) -> CoinbaseError:
    return CoinbaseError(404, "NOT_FOUND", message)


def order_not_found() -> CoinbaseError:
    """Coinbase's answer to an order id it does not know (404)."""
    return CoinbaseError(404, "NOT_FOUND", "order with this orderID was not found")


class OrderFailure(NamedTuple):
    """Why an order was not created: `error` (Coinbase's NewOrderFailureReason),
    `preview` (its PreviewFailureReason, what ccxt maps) and the message."""

    error: str
    preview: str
    message: str


INSUFFICIENT_FUND = OrderFailure(
    "INSUFFICIENT_FUND", "PREVIEW_INSUFFICIENT_FUND", "Insufficient balance in source account"
)
POST_ONLY_WOULD_TAKE = OrderFailure(
    "INVALID_LIMIT_PRICE_POST_ONLY",
    "PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY",
    "Post-only order would cross the book",
)
UNSUPPORTED_CONFIGURATION = OrderFailure(
    "UNSUPPORTED_ORDER_CONFIGURATION",
    "PREVIEW_INVALID_ORDER_CONFIG",
    "order_configuration must be one of market_market_ioc, limit_limit_gtc, "
    "limit_limit_fok, sor_limit_ioc",
)
INVALID_PRODUCT = OrderFailure(
    "INVALID_PRODUCT_ID", "PREVIEW_INVALID_PRODUCT_ID", "ProductID is invalid"
)
_BY_REASON: dict[matching.Reason, OrderFailure] = {
    matching.INSUFFICIENT_BALANCE: INSUFFICIENT_FUND,
    matching.WOULD_TAKE: POST_ONLY_WOULD_TAKE,
    matching.PRICE_FILTER: OrderFailure(
        "INVALID_LIMIT_PRICE", "PREVIEW_INVALID_LIMIT_PRICE", "limit_price is out of range"
    ),
    matching.INVALID_PRICE: OrderFailure(
        "INVALID_PRICE_PRECISION",
        "PREVIEW_INVALID_PRICE_PRECISION",
        "limit_price is not a multiple of the quote_increment",
    ),
    matching.LOT_SIZE: OrderFailure(
        "INVALID_SIZE_PRECISION",
        "PREVIEW_INVALID_SIZE_PRECISION",
        "base_size is not a multiple of the base_increment or is out of range",
    ),
    matching.INVALID_QUANTITY: OrderFailure(
        "INVALID_SIZE_PRECISION",
        "PREVIEW_INVALID_SIZE_PRECISION",
        "base_size is not a multiple of the base_increment",
    ),
    matching.NOTIONAL: OrderFailure(
        "INVALID_REQUEST",
        "PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL",
        "the order's value is below the product's quote_min_size or above its maximum",
    ),
    matching.TOO_MUCH_PRECISION: OrderFailure(
        "INVALID_SIZE_PRECISION",
        "PREVIEW_INVALID_SIZE_PRECISION",
        "too many decimals for the asset",
    ),
}


def failure_of(exc: MatchingError) -> OrderFailure:
    """The Coinbase failure for an order the engine refused."""
    known = _BY_REASON.get(matching.Reason(exc.code, exc.msg))
    if known is not None:
        return known
    return OrderFailure("UNKNOWN_FAILURE_REASON", "UNKNOWN_PREVIEW_FAILURE_REASON", exc.msg)


def order_failure(failure: OrderFailure, configuration: object) -> dict[str, object]:
    """The 200 body of a refused `POST /api/v3/brokerage/orders`."""
    return {
        "success": False,
        "failure_reason": "UNKNOWN_FAILURE_REASON",
        "order_id": "",
        "error_response": {
            "error": failure.error,
            "message": failure.message,
            "error_details": failure.message,
            "preview_failure_reason": failure.preview,
            "new_order_failure_reason": failure.error,
        },
        "order_configuration": configuration,
    }
