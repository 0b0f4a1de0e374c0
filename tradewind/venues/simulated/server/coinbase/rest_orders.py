"""Coinbase's order routes on the simulated exchange.

    POST /api/v3/brokerage/orders                  create (market_market_ioc by quote_size
                                                   or base_size, limit_limit_gtc with
                                                   post_only, limit_limit_fok, sor_limit_ioc)
    POST /api/v3/brokerage/orders/batch_cancel     {"order_ids": [...]}, at most 100
    GET  /api/v3/brokerage/orders/historical/batch  filters, newest first, cursor paging
    GET  /api/v3/brokerage/orders/historical/{order_id}
    GET  /api/v3/brokerage/orders/historical/fills  filters, newest first, cursor paging

An order the engine refuses is 200 `{"success": false, "error_response": ...}` (errors.py).
A repeated `client_order_id` places nothing and answers the order it named. Every
creation request that passes authentication counts in `state.count_submission`; with the
`fail_after_accept` fault on, an order is executed and then answered 500.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tradewind.domain.model import OrderType, Side, TimeInForce
from tradewind.domain.time_units import NS_PER_MS, ns_from_datetime
from tradewind.venues.simulated.matching import MatchingError, Trade
from tradewind.venues.simulated.server.binance_errors import json_response
from tradewind.venues.simulated.server.coinbase import errors
from tradewind.venues.simulated.server.coinbase.errors import CoinbaseError, OrderFailure
from tradewind.venues.simulated.server.coinbase.orders import (
    OrderRecord,
    coinbase_order_id,
    coinbase_status,
    fill_view,
    order_trades,
    order_view,
)
from tradewind.venues.simulated.server.coinbase.products import plain
from tradewind.venues.simulated.server.coinbase.requests import (
    CoinbaseRequests,
    decimal_field,
    json_body,
    paging,
)
from tradewind.venues.simulated.server.state import ServerState

MAX_BATCH_CANCEL = 100
MAX_CLIENT_ORDER_ID = 128
_TIME_IN_FORCE = {
    "limit_limit_gtc": TimeInForce.GTC,
    "limit_limit_fok": TimeInForce.FOK,
    "sor_limit_ioc": TimeInForce.IOC,
}


@dataclass(frozen=True)
class NewOrder:
    """A parsed creation request; `configuration` is echoed back as Coinbase does."""

    symbol: str
    side: Side
    order_type: OrderType
    quantity: Decimal | None
    price: Decimal | None
    quote_quantity: Decimal | None
    time_in_force: TimeInForce
    configuration: dict[str, dict[str, object]]


class _Refused(Exception):
    def __init__(self, failure: OrderFailure) -> None:
        super().__init__(failure.message)
        self.failure = failure


def parse_new_order(body: dict[str, Any], requests: CoinbaseRequests) -> NewOrder:
    """The order a creation body asks for: 400 (CoinbaseError) for a malformed body,
    `_Refused` for what Coinbase refuses with `success: false`."""
    side_text = body.get("side")
    if side_text not in ("BUY", "SELL"):
        raise errors.invalid_argument(f"side must be BUY or SELL, got {side_text!r}")
    pid = body.get("product_id")
    if not isinstance(pid, str) or not pid:
        raise errors.invalid_argument("product_id is required")
    symbol = requests.products.symbol(pid)
    if symbol is None:
        raise _Refused(errors.INVALID_PRODUCT)
    configs = body.get("order_configuration")
    if not isinstance(configs, dict) or len(configs) != 1:
        raise errors.invalid_argument("order_configuration must hold exactly one configuration")
    ((kind, config),) = configs.items()
    if not isinstance(config, dict):
        raise errors.invalid_argument(f"order_configuration.{kind} must be an object")
    side = Side(side_text)
    where = f"order_configuration.{kind}"
    if kind == "market_market_ioc":
        has_quote, has_base = "quote_size" in config, "base_size" in config
        if has_quote == has_base:
            raise errors.invalid_argument(f"{where} needs exactly one of quote_size, base_size")
        if has_quote:
            quote = decimal_field(config, "quote_size", where)
            echoed: dict[str, object] = {"quote_size": plain(quote)}
            return NewOrder(symbol, side, OrderType.MARKET, None, None, quote, TimeInForce.IOC,
                            {kind: echoed})  # fmt: skip
        base = decimal_field(config, "base_size", where)
        return NewOrder(symbol, side, OrderType.MARKET, base, None, None, TimeInForce.IOC,
                        {kind: {"base_size": plain(base)}})  # fmt: skip
    tif = _TIME_IN_FORCE.get(kind)
    if tif is None:
        raise _Refused(errors.UNSUPPORTED_CONFIGURATION)
    base = decimal_field(config, "base_size", where)
    price = decimal_field(config, "limit_price", where)
    echoed = {"base_size": plain(base), "limit_price": plain(price)}
    if kind == "limit_limit_gtc":
        post_only = config.get("post_only", False)
        if not isinstance(post_only, bool):
            raise errors.invalid_argument(f"{where}.post_only must be true or false")
        echoed["post_only"] = post_only
        if post_only:
            tif = TimeInForce.GTX
    return NewOrder(symbol, side, OrderType.LIMIT, base, price, None, tif, {kind: echoed})


def _success(record: OrderRecord, side: str) -> dict[str, object]:
    return {
        "success": True,
        "failure_reason": "UNKNOWN_FAILURE_REASON",
        "order_id": record.order_id,
        "success_response": {
            "order_id": record.order_id,
            "product_id": record.symbol.replace("/", "-"),
            "side": side,
            "client_order_id": record.client_order_id,
        },
        "order_configuration": record.configuration,
    }


def _client_order_id(body: dict[str, Any]) -> str:
    cid = body.get("client_order_id")
    if cid is None or cid == "":
        return str(uuid.uuid4())
    if not isinstance(cid, str) or len(cid) > MAX_CLIENT_ORDER_ID:
        raise errors.invalid_argument(
            f"client_order_id must be a string of at most {MAX_CLIENT_ORDER_ID} characters"
        )
    return cid


def _parse_time(text: str | None, name: str) -> int | None:
    """An RFC 3339 time parameter as ns since the epoch; 400 if malformed."""
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise errors.invalid_argument(f"{name} must be an RFC 3339 time, got {text!r}") from None
    if moment.tzinfo is None:
        raise errors.invalid_argument(f"{name} must carry a time zone (e.g. Z), got {text!r}")
    return ns_from_datetime(moment)


def _listed(request: Request, plural: str, single: str) -> set[str]:
    """Values of a repeatable filter (`order_ids=a&order_ids=b`), with its singular form."""
    params = request.query_params
    values = set(params.getlist(plural))
    if params.get(single):
        values.add(params[single])
    return values


class OrderEndpoints:
    def __init__(self, state: ServerState, requests: CoinbaseRequests) -> None:
        self._state = state
        self._exchange = state.exchange
        self._records = state.coinbase_orders
        self._requests = requests

    async def create(self, request: Request) -> Response:
        account_id = await self._requests.account(request, trade=True)
        body = await json_body(request)
        cid = _client_order_id(body)
        self._state.count_submission(account_id, cid, time.time_ns() // NS_PER_MS)
        existing = self._records.by_client_order_id(account_id, cid)
        if existing is not None:  # Coinbase answers the order the id already names
            snapshot = self._exchange.engine.get_order(
                account_id, existing.symbol, order_id=existing.engine_order_id
            )
            return json_response(_success(existing, snapshot.side.value))
        try:
            order = parse_new_order(body, self._requests)
        except _Refused as refused:
            return json_response(
                errors.order_failure(refused.failure, body.get("order_configuration"))
            )
        try:
            result = self._exchange.submit_order(
                account_id,
                order.symbol,
                order.side,
                order.order_type,
                quantity=order.quantity,
                price=order.price,
                quote_quantity=order.quote_quantity,
                time_in_force=order.time_in_force,
                client_order_id=cid,
            )
        except MatchingError as exc:
            failure = errors.failure_of(exc)
            return json_response(errors.order_failure(failure, order.configuration))
        engine_id = result.order.order_id
        record = OrderRecord(
            coinbase_order_id(order.symbol, engine_id), account_id, order.symbol, engine_id,
            cid, order.configuration,
        )  # fmt: skip
        self._records.add(record)
        faults = self._state.faults
        if faults.fail_after_accept > 0:
            faults.fail_after_accept -= 1
            raise CoinbaseError(500, "INTERNAL", "Internal server error")
        return json_response(_success(record, order.side.value))

    async def batch_cancel(self, request: Request) -> Response:
        account_id = await self._requests.account(request, trade=True)
        body = await json_body(request)
        ids = body.get("order_ids")
        if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
            raise errors.invalid_argument("order_ids must be a non-empty list of order ids")
        if len(ids) > MAX_BATCH_CANCEL:
            raise errors.invalid_argument(f"at most {MAX_BATCH_CANCEL} order_ids per request")
        results: list[dict[str, object]] = []
        for order_id in ids:
            record = self._records.get(account_id, order_id)
            reason = "UNKNOWN_CANCEL_ORDER"
            if record is not None:
                try:
                    self._exchange.cancel_order(
                        account_id, record.symbol, order_id=record.engine_order_id
                    )
                    reason = ""
                except MatchingError:
                    reason = "INVALID_CANCEL_REQUEST"  # no longer open
            results.append(
                {
                    "success": not reason,
                    "failure_reason": reason or "UNKNOWN_CANCEL_FAILURE_REASON",
                    "order_id": order_id,
                }
            )
        return json_response({"results": results})

    def _views(self, account_id: str, records: list[OrderRecord]) -> list[dict[str, object]]:
        engine = self._exchange.engine
        portfolio = self._requests.portfolio(account_id)
        trades_by_symbol: dict[str, list[Trade]] = {}
        views = []
        for record in records:
            symbol = record.symbol
            if symbol not in trades_by_symbol:
                trades_by_symbol[symbol] = engine.account_trades(account_id, symbol)
            snapshot = engine.get_order(account_id, symbol, order_id=record.engine_order_id)
            fills = order_trades(trades_by_symbol[symbol], account_id, record.engine_order_id)
            views.append(order_view(record, snapshot, fills, portfolio))
        return views

    async def one(self, request: Request) -> Response:
        account_id = await self._requests.account(request)
        record = self._records.get(account_id, request.path_params["order_id"])
        if record is None:
            raise errors.order_not_found()
        return json_response({"order": self._views(account_id, [record])[0]})

    async def batch(self, request: Request) -> Response:
        account_id = await self._requests.account(request)
        offset, limit = paging(request, 100, 1000)
        ids = _listed(request, "order_ids", "order_id")
        products = _listed(request, "product_ids", "product_id")
        statuses = set(request.query_params.getlist("order_status"))
        side = request.query_params.get("order_side")
        start_ns = _parse_time(request.query_params.get("start_date"), "start_date")
        end_ns = _parse_time(request.query_params.get("end_date"), "end_date")
        engine = self._exchange.engine
        chosen = []
        for record in self._records.of_account(account_id):
            if ids and record.order_id not in ids:
                continue
            if products and record.symbol.replace("/", "-") not in products:
                continue
            snapshot = engine.get_order(account_id, record.symbol, order_id=record.engine_order_id)
            if statuses and coinbase_status(snapshot) not in statuses:
                continue
            if side and snapshot.side.value != side:
                continue
            if start_ns is not None and snapshot.created_ns < start_ns:
                continue
            if end_ns is not None and snapshot.created_ns > end_ns:
                continue
            chosen.append(record)
        page = chosen[offset : offset + limit]
        has_next = offset + limit < len(chosen)
        return json_response(
            {
                "orders": self._views(account_id, page),
                "sequence": "0",
                "has_next": has_next,
                "cursor": str(offset + limit) if has_next else "",
            }
        )

    async def fills(self, request: Request) -> Response:
        account_id = await self._requests.account(request)
        offset, limit = paging(request, 100, 1000)
        ids = _listed(request, "order_ids", "order_id")
        products = _listed(request, "product_ids", "product_id")
        params = request.query_params
        start_ns = _parse_time(params.get("start_sequence_timestamp"), "start_sequence_timestamp")
        end_ns = _parse_time(params.get("end_sequence_timestamp"), "end_sequence_timestamp")
        portfolio = self._requests.portfolio(account_id)
        rows = []
        for trade in reversed(self._exchange.engine.account_trades(account_id)):
            view = fill_view(trade, account_id, portfolio)
            if ids and view["order_id"] not in ids:
                continue
            if products and view["product_id"] not in products:
                continue
            if start_ns is not None and trade.ts_ns < start_ns:
                continue
            if end_ns is not None and trade.ts_ns > end_ns:
                continue
            rows.append(view)
        page = rows[offset : offset + limit]
        has_next = offset + limit < len(rows)
        return json_response({"fills": page, "cursor": str(offset + limit) if has_next else ""})


def order_routes(state: ServerState, requests: CoinbaseRequests) -> APIRouter:
    router = APIRouter(prefix="/api/v3/brokerage/orders")
    endpoints = OrderEndpoints(state, requests)
    router.add_api_route("", endpoints.create, methods=["POST"])
    router.add_api_route("/batch_cancel", endpoints.batch_cancel, methods=["POST"])
    router.add_api_route("/historical/batch", endpoints.batch, methods=["GET"])
    router.add_api_route("/historical/fills", endpoints.fills, methods=["GET"])
    router.add_api_route("/historical/{order_id}", endpoints.one, methods=["GET"])
    return router
