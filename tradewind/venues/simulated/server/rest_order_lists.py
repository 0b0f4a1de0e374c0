"""Binance's order-list (OCO) endpoints under /api/v3: place one (`orderList/oco`, and the
deprecated `order/oco` that older clients still use), cancel one, query one, all, or
the open ones.

A new OCO counts as two orders against the account's ORDERS limits, as on Binance. Leg
parameters of kinds the simulator does not list (iceberg, strategy) are refused with
-1106, `*TrailingDelta` with -2010 as on a symbol without trailing stops. The logic is
`OrderListEndpoints`, which the WebSocket API's `orderList.*` methods call too.
"""

from __future__ import annotations

import functools
import time

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tradewind.domain.model import Side, TimeInForce
from tradewind.domain.time_units import NS_PER_MS
from tradewind.venues.simulated.exchange import ApiCredentials
from tradewind.venues.simulated.matching import MatchingError, OcoLeg, OrderListSnapshot
from tradewind.venues.simulated.server import binance_errors as errors
from tradewind.venues.simulated.server.binance_errors import BinanceError, json_response
from tradewind.venues.simulated.server.formatting import SymbolMap
from tradewind.venues.simulated.server.order_params import (
    RESPONSE_TYPES,
    TRAILING_NOT_SUPPORTED,
    client_order_id,
    new_client_order_id,
)
from tradewind.venues.simulated.server.order_views import (
    order_list,
    order_list_canceled,
    order_list_placed,
)
from tradewind.venues.simulated.server.rest_auth import Security, read_authenticated
from tradewind.venues.simulated.server.rest_params import Params
from tradewind.venues.simulated.server.state import ServerState

_DAY_MS = 86_400_000
_TIME_IN_FORCE = ("GTC", "IOC", "FOK")
_LEG_UNSUPPORTED = ("IcebergQty", "StrategyId", "StrategyType")


class OrderListEndpoints:
    """The order-list endpoints' logic, free of HTTP: each call takes the request's
    Params and the caller's credentials and returns the response body (placements also
    their X-MBX-ORDER-COUNT-* headers). The REST routes below and the WebSocket API's
    `orderList.*` methods both call it."""

    def __init__(self, state: ServerState, symbols: SymbolMap) -> None:
        self._state = state
        self._exchange = state.exchange
        self._engine = state.exchange.engine
        self._symbols = symbols

    def _admit_two(self, account_id: str) -> dict[str, str]:
        limiter = self._state.order_limiter
        headers: dict[str, str] = {}
        for _ in range(2):
            now_ms = time.time_ns() // NS_PER_MS
            exceeded = limiter.admit(account_id, now_ms)
            headers = limiter.usage_headers(account_id, now_ms)
            if exceeded is not None:
                raise errors.too_many_orders(exceeded.limit, exceeded.describe(), headers)
        return headers

    def _place(
        self, params: Params, account_id: str, above: OcoLeg, below: OcoLeg
    ) -> tuple[dict[str, object], dict[str, str]]:
        symbol = params.symbol(self._symbols)
        side = _side(params)
        quantity = params.decimal("quantity")
        if quantity is None:
            raise errors.mandatory_missing("quantity")
        response_type = params.choice(
            "newOrderRespType", RESPONSE_TYPES, errors.invalid_parameter("newOrderRespType")
        )
        list_id = client_order_id(params, "listClientOrderId") or new_client_order_id()
        headers = self._admit_two(account_id)
        try:
            placed = self._exchange.submit_oco(
                account_id, symbol, side, quantity, above=above, below=below,
                list_client_order_id=list_id,
            )  # fmt: skip
        except MatchingError as exc:
            raise BinanceError.from_matching(exc, headers) from None
        body = order_list_placed(placed, self._symbols.wire(symbol), response_type or "RESULT")
        return body, headers

    def new_oco(
        self, params: Params, creds: ApiCredentials
    ) -> tuple[dict[str, object], dict[str, str]]:
        """POST /orderList/oco, orderList.place.oco."""
        above, below = _leg(params, "above"), _leg(params, "below")
        return self._place(params, creds.account_id, above, below)

    def new_oco_deprecated(
        self, params: Params, creds: ApiCredentials
    ) -> tuple[dict[str, object], dict[str, str]]:
        """POST /order/oco, orderList.place (a LIMIT_MAKER and a stop-loss leg)."""
        if "trailingDelta" in params:
            raise TRAILING_NOT_SUPPORTED
        params.reject("limitIcebergQty", "stopIcebergQty", "limitStrategyId",
                      "limitStrategyType", "stopStrategyId", "stopStrategyType")  # fmt: skip
        price = params.decimal("price")
        stop_price = params.decimal("stopPrice")
        if price is None:
            raise errors.mandatory_missing("price")
        if stop_price is None:
            raise errors.mandatory_missing("stopPrice")
        stop_limit_price = params.decimal("stopLimitPrice")
        tif = _time_in_force(params, "stopLimitTimeInForce", stop_limit_price is not None)
        if stop_limit_price is None:
            params.reject("stopLimitTimeInForce")
        limit_leg = OcoLeg(
            order_type="LIMIT_MAKER",
            price=price,
            client_order_id=client_order_id(params, "limitClientOrderId"),
        )
        stop_leg = OcoLeg(
            order_type="STOP_LOSS" if stop_limit_price is None else "STOP_LOSS_LIMIT",
            price=stop_limit_price,
            stop_price=stop_price,
            time_in_force=tif,
            client_order_id=client_order_id(params, "stopClientOrderId"),
        )
        if _side(params) is Side.BUY:
            return self._place(params, creds.account_id, stop_leg, limit_leg)
        return self._place(params, creds.account_id, limit_leg, stop_leg)

    def cancel_order_list(self, params: Params, creds: ApiCredentials) -> dict[str, object]:
        """DELETE /orderList, orderList.cancel."""
        symbol = params.symbol(self._symbols)
        list_id = params.integer("orderListId")
        list_cid = client_order_id(params, "listClientOrderId")
        if list_id is None and list_cid is None:
            raise errors.either_mandatory("orderListId", "listClientOrderId")
        cancel_id = client_order_id(params, "newClientOrderId") or new_client_order_id()
        try:
            canceled = self._exchange.cancel_order_list(
                creds.account_id, symbol, order_list_id=list_id,
                list_client_order_id=list_cid if list_id is None else None,
            )  # fmt: skip
        except MatchingError as exc:
            raise BinanceError.from_matching(exc) from None
        return order_list_canceled(canceled, self._symbols.wire(symbol), cancel_id)

    def query_order_list(self, params: Params, creds: ApiCredentials) -> dict[str, object]:
        """GET /orderList, orderList.status."""
        list_id = params.integer("orderListId")
        list_cid = client_order_id(params, "origClientOrderId")
        if list_id is None and list_cid is None:
            raise errors.either_mandatory("orderListId", "origClientOrderId")
        try:
            found = self._engine.get_order_list(
                creds.account_id, order_list_id=list_id,
                list_client_order_id=list_cid if list_id is None else None,
            )  # fmt: skip
        except MatchingError as exc:
            raise BinanceError.from_matching(exc) from None
        return self._view(found)

    def all_order_lists(self, params: Params, creds: ApiCredentials) -> list[dict[str, object]]:
        """GET /allOrderList, allOrderLists."""
        from_id = params.integer("fromId")
        start, end = params.integer("startTime"), params.integer("endTime")
        limit = params.limit(500, 1000)
        if from_id is not None and (start is not None or end is not None):
            raise errors.bad_combination()
        if start is not None and end is not None and end - start > _DAY_MS:
            raise errors.lookup_interval_too_big(24)
        lists = self._engine.order_lists(creds.account_id)
        if from_id is not None:
            lists = [o for o in lists if o.order_list_id >= from_id]
        if start is not None:
            lists = [o for o in lists if o.orders[0].created_ms >= start]
        if end is not None:
            lists = [o for o in lists if o.orders[0].created_ms <= end]
        chosen = lists[:limit] if from_id is not None or start is not None else lists[-limit:]
        return [self._view(o) for o in chosen]

    def open_order_lists(self, params: Params, creds: ApiCredentials) -> list[dict[str, object]]:
        """GET /openOrderList, openOrderLists.status."""
        return [self._view(o) for o in self._engine.open_order_lists(creds.account_id)]

    def _view(self, snapshot: OrderListSnapshot) -> dict[str, object]:
        return order_list(snapshot, self._symbols.wire(snapshot.symbol))


def order_list_routes(state: ServerState, symbols: SymbolMap) -> APIRouter:
    """The signed order-list routes (mounted under /api/v3 by `trading_routes`)."""
    exchange = state.exchange
    calls = OrderListEndpoints(state, symbols)
    router = APIRouter()

    signed = functools.partial(read_authenticated, exchange)

    @router.post("/orderList/oco")
    async def new_order_list_oco(request: Request) -> Response:
        body, headers = calls.new_oco(*await signed(request, Security.TRADE))
        return json_response(body, headers=headers)

    @router.post("/order/oco")
    async def new_oco_deprecated(request: Request) -> Response:
        body, headers = calls.new_oco_deprecated(*await signed(request, Security.TRADE))
        return json_response(body, headers=headers)

    @router.delete("/orderList")
    async def cancel_order_list(request: Request) -> Response:
        return json_response(calls.cancel_order_list(*await signed(request, Security.TRADE)))

    @router.get("/orderList")
    async def query_order_list(request: Request) -> Response:
        return json_response(calls.query_order_list(*await signed(request, Security.USER_DATA)))

    @router.get("/allOrderList")
    async def all_order_lists(request: Request) -> Response:
        return json_response(calls.all_order_lists(*await signed(request, Security.USER_DATA)))

    @router.get("/openOrderList")
    async def open_order_lists(request: Request) -> Response:
        return json_response(calls.open_order_lists(*await signed(request, Security.USER_DATA)))

    return router


def _side(params: Params) -> Side:
    side = params.required("side")
    if side not in ("BUY", "SELL"):
        raise errors.invalid_side()
    return Side(side)


def _time_in_force(params: Params, name: str, required: bool) -> TimeInForce | None:
    text = params.text(name)
    if text is None:
        if required:
            raise errors.mandatory_missing(name)
        return None
    if text not in _TIME_IN_FORCE:
        raise errors.invalid_time_in_force()
    return TimeInForce(text)


def _leg(params: Params, prefix: str) -> OcoLeg:
    """The `above*` or `below*` parameters of `orderList/oco`."""
    if f"{prefix}TrailingDelta" in params:
        raise TRAILING_NOT_SUPPORTED
    params.reject(*(f"{prefix}{name}" for name in _LEG_UNSUPPORTED))
    order_type = params.required(f"{prefix}Type")
    price = params.decimal(f"{prefix}Price")
    stop_price = params.decimal(f"{prefix}StopPrice")
    limit = order_type in ("LIMIT_MAKER", "STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT")
    stop = order_type in ("STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT")
    if limit and price is None:
        raise errors.mandatory_missing(f"{prefix}Price")
    if stop and stop_price is None:
        raise errors.mandatory_missing(f"{prefix}StopPrice")
    tif = _time_in_force(params, f"{prefix}TimeInForce", limit and stop)
    return OcoLeg(
        order_type=order_type,
        price=price,
        stop_price=stop_price,
        time_in_force=tif,
        client_order_id=client_order_id(params, f"{prefix}ClientOrderId"),
    )
