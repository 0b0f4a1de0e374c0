"""What every Coinbase route needs from a request: the authenticated account (signature,
permissions and the per-user rate limit), the JSON body and query parameters, and the
product it names."""

from __future__ import annotations

import json
import time
from decimal import Decimal, InvalidOperation
from typing import Any

from starlette.requests import Request

from tradewind.domain.time_units import NS_PER_MS
from tradewind.venues.simulated.server.coinbase import errors
from tradewind.venues.simulated.server.coinbase.keys import CoinbaseAuthError
from tradewind.venues.simulated.server.coinbase.products import ProductMap
from tradewind.venues.simulated.server.state import ServerState


class CoinbaseRequests:
    """Reads requests for the Coinbase routes of one venue."""

    def __init__(self, state: ServerState, products: ProductMap) -> None:
        self._state = state
        self.products = products

    async def account(self, request: Request, *, trade: bool = False, v2: bool = False) -> str:
        """The account of a signed request; CoinbaseError 401 if it does not
        authenticate, 403 if `trade` is needed and the key lacks it, 429 over the
        per-user limit."""
        keys = self._state.coinbase_keys
        body = await request.body()
        query = request.url.query
        if v2 and request.method == "GET" and query:
            body = b"?" + query.encode()  # a /v2 GET signs its query (legacy keys)
        host = request.headers.get("host", "")
        try:
            account_id = keys.authenticate_rest(
                request.method, host, request.url.path, request.headers, body, time.time()
            )
        except CoinbaseAuthError as exc:
            raise errors.unauthorized(str(exc), v2=v2) from None
        key_name = keys.key_name_of(request.headers)
        assert key_name is not None  # it authenticated
        if trade and not keys.permissions(key_name).can_trade:
            raise errors.permission_denied("trade")
        limiter = self._state.coinbase_limiters.private
        if limiter is not None:
            wait_s = limiter.admit(account_id, time.time_ns() // NS_PER_MS)
            if wait_s is not None:
                raise errors.rate_limited(limiter.limit, "per user", wait_s, v2=v2)
        return account_id

    def portfolio(self, account_id: str) -> str:
        return self._state.coinbase_keys.portfolio_of(account_id)

    def symbol(self, pid: str | None, *, name: str = "product_id") -> str:
        """The engine symbol of product id `pid`; 400 if missing, 404 if unknown."""
        if not pid:
            raise errors.invalid_argument(f"{name} is required")
        symbol = self.products.symbol(pid)
        if symbol is None:
            raise errors.not_found(f"ProductID {pid!r} is not listed")
        return symbol


async def json_body(request: Request) -> dict[str, Any]:
    """The request's JSON object; 400 INVALID_ARGUMENT if it is not one."""
    raw = await request.body()
    try:
        body = json.loads(raw or b"{}")
    except ValueError:
        raise errors.invalid_argument("the body is not JSON") from None
    if not isinstance(body, dict):
        raise errors.invalid_argument("the body must be a JSON object")
    return body


def int_param(request: Request, name: str, default: int, *, low: int, high: int) -> int:
    """Query parameter `name` as an int in low..high; 400 if malformed or out of range."""
    text = request.query_params.get(name)
    if text is None or text == "":
        return default
    try:
        value = int(text)
    except ValueError:
        raise errors.invalid_argument(f"{name} must be an integer, got {text!r}") from None
    if not low <= value <= high:
        raise errors.invalid_argument(f"{name} must be between {low} and {high}, got {value}")
    return value


def decimal_field(config: dict[str, Any], name: str, where: str) -> Decimal:
    """A positive decimal string field of an order configuration; 400 otherwise."""
    raw = config.get(name)
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise errors.invalid_argument(f"{where}.{name} must be a decimal string")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise errors.invalid_argument(f"{where}.{name} must be a decimal, got {raw!r}") from None
    if not value.is_finite() or value <= 0:
        raise errors.invalid_argument(f"{where}.{name} must be positive, got {raw!r}")
    return value


def paging(request: Request, default: int, maximum: int) -> tuple[int, int]:
    """(offset, limit) from `cursor` (an offset the previous page returned) and `limit`."""
    limit = int_param(request, "limit", default, low=1, high=maximum)
    cursor = request.query_params.get("cursor") or "0"
    if not cursor.isdigit():
        raise errors.invalid_argument(f"cursor {cursor!r} was not returned by this venue")
    return int(cursor), limit
