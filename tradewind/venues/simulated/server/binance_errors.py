"""Binance's REST errors: the `{"code", "msg"}` body, its HTTP status and the exact texts.

A handler raises `BinanceError`; the app turns it into Binance's response. Messages are
Binance's own (see its `errors.md`), so clients that match on them (ccxt does) behave as
against the real venue.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec
from starlette.responses import Response

from tradewind.errors import TradewindError
from tradewind.venues.simulated.matching import MatchingError

BAD_REQUEST = 400
UNAUTHORIZED = 401
NOT_FOUND = 404
TOO_MANY_REQUESTS = 429
IP_BANNED = 418

DECIMAL_RANGE = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
INTEGER_RANGE = r"^[0-9]{1,20}$"
SYMBOL_RANGE = r"^[A-Z0-9-_.]{1,20}$"
CLIENT_ORDER_ID_RANGE = r"^[\.A-Z\:/a-z0-9_-]{1,36}$"


class BinanceError(TradewindError):
    """A request refused the way Binance refuses it: `code`, `msg`, HTTP `status`, extra
    response `headers` (Retry-After, order counts) and, for the few errors that carry
    one (cancel-replace's -2021 / -2022), the body's `data`."""

    def __init__(
        self,
        code: int,
        msg: str,
        status: int = BAD_REQUEST,
        headers: Mapping[str, str] | None = None,
        data: object = None,
    ) -> None:
        self.code = code
        self.msg = msg
        self.status = status
        self.headers = dict(headers or {})
        self.data = data
        super().__init__(f"{code} {msg}")

    def body(self) -> dict[str, object]:
        """`{"code", "msg"}`, with `data` when there is some: the REST body, and the
        WebSocket API's `error`."""
        body: dict[str, object] = {"code": self.code, "msg": self.msg}
        if self.data is not None:
            body["data"] = self.data
        return body

    def response(self) -> Response:
        return json_response(self.body(), self.status, self.headers)

    @classmethod
    def from_matching(
        cls, exc: MatchingError, headers: Mapping[str, str] | None = None
    ) -> BinanceError:
        """The engine's refusal, with its Binance code and message unchanged."""
        return cls(exc.code, exc.msg, BAD_REQUEST, headers)


def json_response(
    body: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> Response:
    return Response(
        msgspec.json.encode(body), status, dict(headers or {}), media_type="application/json"
    )


# -- 10xx: server, network, authentication --------------------------------------------


def unknown_error() -> BinanceError:
    return BinanceError(-1000, "An unknown error occurred while processing the request.", 500)


def too_much_weight(limit: int, interval: str, retry_after_s: int) -> BinanceError:
    return BinanceError(
        -1003,
        f"Too much request weight used; current limit is {limit} request weight per "
        f"{interval}. Please use WebSocket Streams for live updates to avoid polling the API.",
        TOO_MANY_REQUESTS,
        {"Retry-After": str(retry_after_s)},
    )


def too_many_raw_requests(limit: int, interval: str, retry_after_s: int) -> BinanceError:
    return BinanceError(
        -1003,
        f"Too many requests; current limit is {limit} requests per {interval}.",
        TOO_MANY_REQUESTS,
        {"Retry-After": str(retry_after_s)},
    )


def ip_banned(until_ms: int, retry_after_s: int) -> BinanceError:
    return BinanceError(
        -1003,
        f"Way too much request weight used; IP banned until {until_ms}. Please use WebSocket "
        "Streams for live updates to avoid bans.",
        IP_BANNED,
        {"Retry-After": str(retry_after_s)},
    )


def too_many_requests(retry_after_s: int) -> BinanceError:
    """The injected rate-limit fault: Binance's generic -1003."""
    return BinanceError(
        -1003, "Too many requests queued.", TOO_MANY_REQUESTS, {"Retry-After": str(retry_after_s)}
    )


def execution_unknown() -> BinanceError:
    """The order may or may not have been executed (ccxt: RequestTimeout)."""
    return BinanceError(
        -1007,
        "Timeout waiting for response from backend server. Send status unknown; execution "
        "status unknown.",
        500,
    )


def too_many_orders(limit: int, interval: str, headers: Mapping[str, str]) -> BinanceError:
    # Binance sends no Retry-After for the order-count limit.
    return BinanceError(
        -1015,
        f"Too many new orders; current limit is {limit} orders per {interval}.",
        TOO_MANY_REQUESTS,
        headers,
    )


def unsupported_operation(status: int = NOT_FOUND) -> BinanceError:
    """An unknown route (404) or method (405). Binance itself answers those with an HTML
    page; this is its documented code for an operation it does not support."""
    return BinanceError(-1020, "This operation is not supported.", status)


def timestamp_outside_window(msg: str) -> BinanceError:
    return BinanceError(-1021, msg)


def invalid_signature() -> BinanceError:
    return BinanceError(-1022, "Signature for this request is not valid.")


# -- 11xx: request parameters ---------------------------------------------------------


def illegal_chars(name: str, legal_range: str) -> BinanceError:
    return BinanceError(
        -1100, f"Illegal characters found in parameter '{name}'; legal range is '{legal_range}'."
    )


def duplicate_parameter() -> BinanceError:
    return BinanceError(-1101, "Duplicate values for a parameter detected.")


def too_many_values(name: str, most: int) -> BinanceError:
    return BinanceError(
        -1101, f"Too many values sent for parameter '{name}', maximum allowed up to {most}."
    )


def mandatory_missing(name: str) -> BinanceError:
    return BinanceError(
        -1102, f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed."
    )


def either_mandatory(first: str, second: str) -> BinanceError:
    return BinanceError(
        -1102, f"Param '{first}' or '{second}' must be sent, but both were empty/null!"
    )


def not_required(name: str) -> BinanceError:
    return BinanceError(-1106, f"Parameter '{name}' sent when not required.")


def invalid_time_in_force() -> BinanceError:
    return BinanceError(-1115, "Invalid timeInForce.")


def invalid_order_type() -> BinanceError:
    return BinanceError(-1116, "Invalid orderType.")


def invalid_side() -> BinanceError:
    return BinanceError(-1117, "Invalid side.")


def invalid_interval() -> BinanceError:
    return BinanceError(-1120, "Invalid interval.")


def invalid_symbol() -> BinanceError:
    return BinanceError(-1121, "Invalid symbol.")


def invalid_listen_key() -> BinanceError:
    return BinanceError(-1125, "This listenKey does not exist.")


def lookup_interval_too_big(hours: int) -> BinanceError:
    return BinanceError(-1127, f"More than {hours} hours between startTime and endTime.")


def bad_combination() -> BinanceError:
    return BinanceError(-1128, "Combination of optional parameters invalid.")


def invalid_parameter(name: str) -> BinanceError:
    return BinanceError(-1130, f"Data sent for parameter '{name}' is not valid.")


def recv_window_too_big() -> BinanceError:
    return BinanceError(-1131, "recvWindow must be less than 60000.")


def symbol_status_mismatch() -> BinanceError:
    return BinanceError(-1220, "The symbol's status does not match the requested symbolStatus.")


# -- 20xx: orders and keys ------------------------------------------------------------


def cancel_rejected(msg: str = "Unknown order sent.") -> BinanceError:
    return BinanceError(-2011, msg)


def order_does_not_exist() -> BinanceError:
    return BinanceError(-2013, "Order does not exist.")


def bad_api_key_format() -> BinanceError:
    return BinanceError(-2014, "API-key format invalid.", UNAUTHORIZED)


def key_rejected() -> BinanceError:
    return BinanceError(-2015, "Invalid API-key, IP, or permissions for action.", UNAUTHORIZED)
