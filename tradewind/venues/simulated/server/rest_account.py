"""Binance's account endpoints under /api/v3: balances and commission rates, the
account's trades, its unfilled-order counts and the user-data-stream listen keys.
The `/sapi/v1` ones are in `rest_sapi`. The logic is `AccountEndpoints`, which the
WebSocket API's account methods call too."""

from __future__ import annotations

import functools
import time
from decimal import Decimal

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tradewind.domain.time_units import NS_PER_MS
from tradewind.venues.simulated.exchange import ApiCredentials
from tradewind.venues.simulated.server import binance_errors as errors
from tradewind.venues.simulated.server.binance_errors import json_response
from tradewind.venues.simulated.server.formatting import (
    NO_ORDER_LIST,
    SymbolMap,
    account_trade,
    fixed,
    free_amount,
    locked_amount,
)
from tradewind.venues.simulated.server.rest_auth import Security, read_authenticated
from tradewind.venues.simulated.server.rest_params import Params
from tradewind.venues.simulated.server.state import ServerState

_DAY_MS = 86_400_000
_BASIS_POINTS = Decimal(10_000)


class AccountEndpoints:
    """The account endpoints' logic, free of HTTP: each call takes the request's Params
    and the caller's credentials and returns the response body. The REST routes below
    and the WebSocket API's account methods both call it."""

    def __init__(self, state: ServerState, symbols: SymbolMap) -> None:
        self._state = state
        self._engine = state.exchange.engine
        self._symbols = symbols
        self._listed_assets = sorted(
            {
                a
                for spec in state.exchange.specs.values()
                for a in (spec.instrument.base, spec.instrument.quote)
            }
        )

    def account(self, params: Params, creds: ApiCredentials) -> dict[str, object]:
        """GET /account, account.status."""
        engine, account_id = self._engine, creds.account_id
        held = engine.balances(account_id)
        balances = [
            {"asset": asset, "free": free_amount(b.free), "locked": locked_amount(b.locked)}
            for asset in sorted(set(self._listed_assets) | set(held))
            for b in [engine.balance(account_id, asset)]
            if not (params.flag("omitZeroBalances") and b.free == 0 and b.locked == 0)
        ]
        maker, taker = engine.fee_rates(account_id)
        zero = fixed(Decimal(0))
        return {
            "makerCommission": int(maker * _BASIS_POINTS),
            "takerCommission": int(taker * _BASIS_POINTS),
            "buyerCommission": 0,
            "sellerCommission": 0,
            "commissionRates": {
                "maker": fixed(maker),
                "taker": fixed(taker),
                "buyer": zero,
                "seller": zero,
            },
            "canTrade": creds.permissions.trade,
            "canWithdraw": creds.permissions.withdraw,
            "canDeposit": True,
            "brokered": False,
            "requireSelfTradePrevention": False,
            "preventSor": False,
            "updateTime": self._state.exchange.balances_changed_ms(account_id),
            "accountType": "SPOT",
            "balances": balances,
            "permissions": ["SPOT"],
            "uid": _uid(account_id),
        }

    def my_trades(self, params: Params, creds: ApiCredentials) -> list[dict[str, object]]:
        """GET /myTrades, myTrades."""
        symbol = params.symbol(self._symbols)
        order_id, from_id = params.integer("orderId"), params.integer("fromId")
        start, end = params.integer("startTime"), params.integer("endTime")
        limit = params.limit(500, 1000)
        if from_id is not None and (start is not None or end is not None):
            raise errors.bad_combination()
        if start is not None and end is not None and end - start > _DAY_MS:
            raise errors.lookup_interval_too_big(24)
        account_id = creds.account_id
        trades = self._engine.account_trades(account_id, symbol)
        if order_id is not None:
            trades = [t for t in trades if order_id in (t.maker_order_id, t.taker_order_id)]
        if from_id is not None:
            trades = [t for t in trades if t.trade_id >= from_id]
        if start is not None:
            trades = [t for t in trades if t.time_ms >= start]
        if end is not None:
            trades = [t for t in trades if t.time_ms <= end]
        from_start = from_id is not None or start is not None
        chosen = trades[:limit] if from_start else trades[-limit:]
        wire = self._symbols.wire(symbol)
        in_lists = {  # the legs of order lists (OCO): their trades name the list
            o.order_id: o.order_list_id
            for o in self._engine.all_orders(account_id, symbol)
            if o.order_list_id != NO_ORDER_LIST
        }
        return [account_trade(t, account_id, wire, in_lists) for t in chosen]

    def open_user_stream(self, params: Params, creds: ApiCredentials) -> dict[str, object]:
        """POST /userDataStream, userDataStream.start: the account's listen key."""
        return {"listenKey": self._state.listen_keys.create(creds.account_id)}

    def keep_user_stream_alive(self, params: Params, creds: ApiCredentials) -> dict[str, object]:
        """PUT /userDataStream, userDataStream.ping."""
        if not self._state.listen_keys.keep_alive(params.required("listenKey"), creds.account_id):
            raise errors.invalid_listen_key()
        return {}

    def close_user_stream(self, params: Params, creds: ApiCredentials) -> dict[str, object]:
        """DELETE /userDataStream, userDataStream.stop."""
        if not self._state.listen_keys.close(params.required("listenKey"), creds.account_id):
            raise errors.invalid_listen_key()
        return {}

    def commission_rates(self, params: Params, creds: ApiCredentials) -> dict[str, object]:
        """GET /account/commission, account.commission."""
        symbol = params.symbol(self._symbols)
        maker, taker = self._engine.fee_rates(creds.account_id)
        zero = fixed(Decimal(0))
        no_rates = {"maker": zero, "taker": zero, "buyer": zero, "seller": zero}
        return {
            "symbol": self._symbols.wire(symbol),
            "standardCommission": {
                "maker": fixed(maker),
                "taker": fixed(taker),
                "buyer": zero,
                "seller": zero,
            },
            "specialCommission": no_rates,
            "taxCommission": no_rates,
            # The simulator never takes fees in BNB: no discount applies.
            "discount": {
                "enabledForAccount": False,
                "enabledForSymbol": False,
                "discountAsset": "BNB",
                "discount": zero,
            },
        }

    def unfilled_order_count(
        self, params: Params, creds: ApiCredentials
    ) -> list[dict[str, object]]:
        """GET /rateLimit/order, account.rateLimits.orders."""
        now_ms = time.time_ns() // NS_PER_MS
        return [
            {**limit.as_binance(), "count": count}
            for limit, count in self._state.order_limiter.usage(creds.account_id, now_ms)
        ]


def account_routes(state: ServerState, symbols: SymbolMap) -> APIRouter:
    """Account routes under /api/v3."""
    exchange = state.exchange
    calls = AccountEndpoints(state, symbols)
    router = APIRouter()

    caller = functools.partial(read_authenticated, exchange)

    @router.get("/api/v3/account")
    async def account(request: Request) -> Response:
        return json_response(calls.account(*await caller(request, Security.USER_DATA)))

    @router.get("/api/v3/myTrades")
    async def my_trades(request: Request) -> Response:
        return json_response(calls.my_trades(*await caller(request, Security.USER_DATA)))

    @router.post("/api/v3/userDataStream")
    async def open_user_stream(request: Request) -> Response:
        return json_response(calls.open_user_stream(*await caller(request, Security.USER_STREAM)))

    @router.put("/api/v3/userDataStream")
    async def keep_user_stream_alive(request: Request) -> Response:
        params, creds = await caller(request, Security.USER_STREAM)
        return json_response(calls.keep_user_stream_alive(params, creds))

    @router.delete("/api/v3/userDataStream")
    async def close_user_stream(request: Request) -> Response:
        params, creds = await caller(request, Security.USER_STREAM)
        return json_response(calls.close_user_stream(params, creds))

    @router.get("/api/v3/account/commission")
    async def commission_rates(request: Request) -> Response:
        return json_response(calls.commission_rates(*await caller(request, Security.USER_DATA)))

    @router.get("/api/v3/rateLimit/order")
    async def unfilled_order_count(request: Request) -> Response:
        return json_response(calls.unfilled_order_count(*await caller(request, Security.USER_DATA)))

    return router


def _uid(account_id: str) -> int:
    """A stable numeric user id for `acct-<hex>` account ids (0 for any other form)."""
    digits = account_id.rpartition("-")[2]
    try:
        return int(digits, 16)
    except ValueError:
        return 0
