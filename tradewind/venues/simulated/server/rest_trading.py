"""Binance's order endpoints: place (and test), query, cancel, cancel-replace, open
orders, all orders; the order-list (OCO) routes are `rest_order_lists`.

New orders count against the account's ORDERS limits (`X-MBX-ORDER-COUNT-*` headers);
the engine's refusals keep their Binance code and message. With the `fail_after_accept`
fault on, an order is executed and then answered 500 (execution status unknown), the way
a real venue can leave a client not knowing whether its order exists.

The logic is `TradingEndpoints`, which the WebSocket API's order methods (`ws_api`)
call too; the routes only read the request and authenticate it.
"""

from __future__ import annotations

import functools
import time
from decimal import Decimal

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tradewind.domain.time_units import NS_PER_MS
from tradewind.venues.simulated.exchange import ApiCredentials
from tradewind.venues.simulated.matching import MatchingError, OrderSnapshot, SubmitResult
from tradewind.venues.simulated.matching.filters import MarketRules
from tradewind.venues.simulated.server import binance_errors as errors
from tradewind.venues.simulated.server.binance_errors import BinanceError, json_response
from tradewind.venues.simulated.server.cancel_replace import cancel_replace_result
from tradewind.venues.simulated.server.formatting import SymbolMap, fixed
from tradewind.venues.simulated.server.order_params import (
    OrderRequest,
    check_filters,
    client_order_id,
    new_client_order_id,
    parse_order,
)
from tradewind.venues.simulated.server.order_views import (
    order_canceled,
    order_list_canceled,
    order_query,
    order_response,
)
from tradewind.venues.simulated.server.rest_auth import Security, read_authenticated
from tradewind.venues.simulated.server.rest_order_lists import order_list_routes
from tradewind.venues.simulated.server.rest_params import Params
from tradewind.venues.simulated.server.state import ServerState

_DAY_MS = 86_400_000
_CANCEL_RESTRICTIONS = {"ONLY_NEW": "NEW", "ONLY_PARTIALLY_FILLED": "PARTIALLY_FILLED"}
_CANCEL_REPLACE_MODES = ("STOP_ON_FAILURE", "ALLOW_FAILURE")
_INVALID_RESTRICTIONS = BinanceError(
    -1145, "`cancelRestrictions` has to be either `ONLY_NEW` or `ONLY_PARTIALLY_FILLED`."
)


def _now_ms() -> int:
    return time.time_ns() // NS_PER_MS


class TradingEndpoints:
    """The order endpoints' logic, free of HTTP: each call takes the request's Params
    and the caller's credentials and returns the response body (new orders also their
    X-MBX-ORDER-COUNT-* headers), or raises the BinanceError that refuses it. The REST
    routes below and the WebSocket API's order methods both call it."""

    def __init__(self, state: ServerState, symbols: SymbolMap) -> None:
        self._state = state
        self._exchange = state.exchange
        self._engine = state.exchange.engine
        self._symbols = symbols
        self._rules = {symbol: MarketRules(spec) for symbol, spec in self._exchange.specs.items()}

    def _admit_orders(self, account_id: str) -> dict[str, str]:
        """Count one new order against the account's ORDERS limits; -1015 past them."""
        now_ms = _now_ms()
        limiter = self._state.order_limiter
        exceeded = limiter.admit(account_id, now_ms)
        headers = limiter.usage_headers(account_id, now_ms)
        if exceeded is not None:
            raise errors.too_many_orders(exceeded.limit, exceeded.describe(), headers)
        return headers

    def _place(self, account_id: str, order: OrderRequest) -> SubmitResult:
        """Execute a parsed new order; raises MatchingError as the engine refuses it."""
        self._state.count_submission(account_id, order.client_order_id, int(time.time() * 1000))
        if order.stop_type is not None and order.stop_price is not None:
            assert order.quantity is not None  # parse_order requires it
            return self._exchange.submit_stop_order(
                account_id, order.symbol, order.side, order.stop_type, order.quantity,
                order.stop_price, price=order.price, time_in_force=order.time_in_force,
                client_order_id=order.client_order_id,
            )  # fmt: skip
        return self._exchange.submit_order(
            account_id,
            order.symbol,
            order.side,
            order.order_type,
            quantity=order.quantity,
            price=order.price,
            quote_quantity=order.quote_quantity,
            time_in_force=order.time_in_force,
            client_order_id=order.client_order_id,
        )

    def new_order(
        self, params: Params, creds: ApiCredentials
    ) -> tuple[dict[str, object], dict[str, str]]:
        """POST /order, order.place: the placement response and the order-count headers."""
        order = parse_order(params, self._symbols)
        headers = self._admit_orders(creds.account_id)
        try:
            result = self._place(creds.account_id, order)
        except MatchingError as exc:
            raise BinanceError.from_matching(exc, headers) from None
        faults = self._state.faults
        if faults.fail_after_accept > 0:
            faults.fail_after_accept -= 1
            raise errors.execution_unknown()
        wire = self._symbols.wire(order.symbol)
        body = order_response(result, wire, order.response_type, result.order.created_ms)
        return body, headers

    def cancel_replace(
        self, params: Params, creds: ApiCredentials
    ) -> tuple[dict[str, object], dict[str, str]]:
        """POST /order/cancelReplace, order.cancelReplace (-2021 / -2022 when a part failed)."""
        mode = params.required("cancelReplaceMode")
        if mode not in _CANCEL_REPLACE_MODES:
            raise errors.invalid_parameter("cancelReplaceMode")
        order = parse_order(params, self._symbols)
        cancel_id = params.integer("cancelOrderId")
        cancel_original = client_order_id(params, "cancelOrigClientOrderId")
        if cancel_id is None and cancel_original is None:
            raise errors.either_mandatory("cancelOrigClientOrderId", "cancelOrderId")
        cancel_new_id = client_order_id(params, "cancelNewClientOrderId")
        restriction = params.choice(
            "cancelRestrictions", _CANCEL_RESTRICTIONS, _INVALID_RESTRICTIONS
        )
        # before anything is canceled, as Binance
        check_filters(order, self._rules[order.symbol])
        account_id = creds.account_id
        headers = self._admit_orders(account_id)
        wire = self._symbols.wire(order.symbol)
        canceled: dict[str, object] | BinanceError
        try:
            target = self._find_order(order.symbol, account_id, cancel_id, cancel_original)
            if target is None or not target.is_open:
                raise errors.cancel_rejected()
            if restriction is not None and target.status.value != _CANCEL_RESTRICTIONS[restriction]:
                raise errors.cancel_rejected("Order was not canceled due to cancel restrictions.")
            done = self._exchange.cancel_order(account_id, order.symbol, order_id=target.order_id)
            canceled = order_canceled(done, wire, cancel_new_id or new_client_order_id(), _now_ms())
        except (BinanceError, MatchingError) as exc:
            canceled = exc if isinstance(exc, BinanceError) else BinanceError.from_matching(exc)
        placed: dict[str, object] | BinanceError | None = None
        if mode == "ALLOW_FAILURE" or not isinstance(canceled, BinanceError):
            try:
                result = self._place(account_id, order)
                placed = order_response(result, wire, order.response_type, _now_ms())
            except MatchingError as exc:
                placed = BinanceError.from_matching(exc)
        return cancel_replace_result(canceled, placed, headers), headers

    def test_order(self, params: Params, creds: ApiCredentials) -> dict[str, object]:
        """POST /order/test, order.test: validation only, commission rates if asked."""
        order = parse_order(params, self._symbols)
        check_filters(order, self._rules[order.symbol])
        if not params.flag("computeCommissionRates"):
            return {}
        maker, taker = self._engine.fee_rates(creds.account_id)
        zero = fixed(Decimal(0))
        return {
            "standardCommissionForOrder": {"maker": fixed(maker), "taker": fixed(taker)},
            "specialCommissionForOrder": {"maker": zero, "taker": zero},
            "taxCommissionForOrder": {"maker": zero, "taker": zero},
            "discount": {
                "enabledForAccount": False,
                "enabledForSymbol": False,
                "discountAsset": "BNB",
                "discount": zero,
            },
        }

    def _find_named_order(
        self, params: Params, account_id: str, symbol: str
    ) -> OrderSnapshot | None:
        """The order named by orderId (checked against origClientOrderId if both are
        sent, as Binance does) or by origClientOrderId; None if there is none."""
        order_id = params.integer("orderId")
        original = client_order_id(params, "origClientOrderId")
        if order_id is None and original is None:
            raise errors.either_mandatory("origClientOrderId", "orderId")
        return self._find_order(symbol, account_id, order_id, original)

    def _find_order(
        self, symbol: str, account_id: str, order_id: int | None, original: str | None
    ) -> OrderSnapshot | None:
        try:
            order = self._engine.get_order(
                account_id,
                symbol,
                order_id=order_id,
                client_order_id=original if order_id is None else None,
            )
        except MatchingError:
            return None
        if original is not None and order.client_order_id != original:
            return None
        return order

    def query_order(self, params: Params, creds: ApiCredentials) -> dict[str, object]:
        """GET /order, order.status."""
        symbol = params.symbol(self._symbols)
        order = self._find_named_order(params, creds.account_id, symbol)
        if order is None:
            raise errors.order_does_not_exist()
        return order_query(order, self._symbols.wire(symbol))

    def cancel_order(self, params: Params, creds: ApiCredentials) -> dict[str, object]:
        """DELETE /order, order.cancel."""
        symbol = params.symbol(self._symbols)
        cancel_id = client_order_id(params, "newClientOrderId") or new_client_order_id()
        restriction = params.choice(
            "cancelRestrictions", _CANCEL_RESTRICTIONS, _INVALID_RESTRICTIONS
        )
        order = self._find_named_order(params, creds.account_id, symbol)
        if order is None or not order.is_open:
            raise errors.cancel_rejected()
        if restriction is not None and order.status.value != _CANCEL_RESTRICTIONS[restriction]:
            raise errors.cancel_rejected("Order was not canceled due to cancel restrictions.")
        try:
            canceled = self._exchange.cancel_order(
                creds.account_id, symbol, order_id=order.order_id
            )
        except MatchingError as exc:
            raise BinanceError.from_matching(exc) from None
        return order_canceled(canceled, self._symbols.wire(symbol), cancel_id, _now_ms())

    def open_orders(self, params: Params, creds: ApiCredentials) -> list[dict[str, object]]:
        """GET /openOrders, openOrders.status."""
        symbol = params.optional_symbol(self._symbols)
        orders = self._engine.open_orders(creds.account_id, symbol)
        return [order_query(o, self._symbols.wire(o.symbol)) for o in orders]

    def cancel_open_orders(self, params: Params, creds: ApiCredentials) -> list[dict[str, object]]:
        """DELETE /openOrders, openOrders.cancelAll (an OCO once, with both legs)."""
        symbol = params.symbol(self._symbols)
        canceled = self._exchange.cancel_open_orders(creds.account_id, symbol)
        if not canceled:
            raise errors.cancel_rejected()
        now_ms, wire = _now_ms(), self._symbols.wire(symbol)
        cancel_id = new_client_order_id()
        body: list[dict[str, object]] = []
        listed: set[int] = set()
        for order in canceled:
            if order.order_list_id < 0:
                body.append(order_canceled(order, wire, cancel_id, now_ms))
            elif order.order_list_id not in listed:
                listed.add(order.order_list_id)
                order_list = self._engine.get_order_list(
                    creds.account_id, order_list_id=order.order_list_id
                )
                body.append(order_list_canceled(order_list, wire, cancel_id))
        return body

    def all_orders(self, params: Params, creds: ApiCredentials) -> list[dict[str, object]]:
        """GET /allOrders, allOrders."""
        symbol = params.symbol(self._symbols)
        from_id = params.integer("orderId")
        start, end = params.integer("startTime"), params.integer("endTime")
        limit = params.limit(500, 1000)
        if start is not None and end is not None and end - start > _DAY_MS:
            raise errors.lookup_interval_too_big(24)
        orders = self._engine.all_orders(creds.account_id, symbol)
        if from_id is not None:
            orders = [o for o in orders if o.order_id >= from_id]
        if start is not None:
            orders = [o for o in orders if o.created_ms >= start]
        if end is not None:
            orders = [o for o in orders if o.created_ms <= end]
        from_start = from_id is not None or start is not None
        chosen = orders[:limit] if from_start else orders[-limit:]
        wire = self._symbols.wire(symbol)
        return [order_query(o, wire) for o in chosen]


def trading_routes(state: ServerState, symbols: SymbolMap) -> APIRouter:
    """The signed order routes under /api/v3."""
    exchange = state.exchange
    calls = TradingEndpoints(state, symbols)
    router = APIRouter(prefix="/api/v3")

    signed = functools.partial(read_authenticated, exchange)

    @router.post("/order")
    async def new_order(request: Request) -> Response:
        body, headers = calls.new_order(*await signed(request, Security.TRADE))
        return json_response(body, headers=headers)

    @router.post("/order/cancelReplace")
    async def cancel_replace(request: Request) -> Response:
        body, headers = calls.cancel_replace(*await signed(request, Security.TRADE))
        return json_response(body, headers=headers)

    @router.post("/order/test")
    async def test_order(request: Request) -> Response:
        return json_response(calls.test_order(*await signed(request, Security.TRADE)))

    @router.get("/order")
    async def query_order(request: Request) -> Response:
        return json_response(calls.query_order(*await signed(request, Security.USER_DATA)))

    @router.delete("/order")
    async def cancel_order(request: Request) -> Response:
        return json_response(calls.cancel_order(*await signed(request, Security.TRADE)))

    @router.get("/openOrders")
    async def open_orders(request: Request) -> Response:
        return json_response(calls.open_orders(*await signed(request, Security.USER_DATA)))

    @router.delete("/openOrders")
    async def cancel_open_orders(request: Request) -> Response:
        return json_response(calls.cancel_open_orders(*await signed(request, Security.TRADE)))

    @router.get("/allOrders")
    async def all_orders(request: Request) -> Response:
        return json_response(calls.all_orders(*await signed(request, Security.USER_DATA)))

    router.include_router(order_list_routes(state, symbols))
    return router
