"""The simulated exchange's HTTP app speaking Coinbase's Advanced Trade API: the REST
routes (`/api/v3/brokerage`, `/v2`), the Coinbase WebSocket (`streams`), and the
simulator's own `/sim/v1`, over the same `ServerState` (engine, market, faults) as the
Binance app. ccxt's `coinbase` trades on it unmodified: see
docs/venues/coinbase-advanced-endpoints.md.

In front of the Coinbase routes, `CoinbaseGate` applies the injected faults and the
per-IP limit of the public routes; private routes count against the per-user limit once
authenticated (`requests.CoinbaseRequests.account`).
"""

from __future__ import annotations

import asyncio
import math
import time

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from tradewind.domain.time_units import NS_PER_MS
from tradewind.venues.simulated.matching import MatchingError
from tradewind.venues.simulated.server.app import STEP_INTERVAL_S, market_lifespan
from tradewind.venues.simulated.server.binance_errors import json_response
from tradewind.venues.simulated.server.coinbase import errors
from tradewind.venues.simulated.server.coinbase.errors import CoinbaseError
from tradewind.venues.simulated.server.coinbase.products import ProductMap
from tradewind.venues.simulated.server.coinbase.requests import CoinbaseRequests
from tradewind.venues.simulated.server.coinbase.rest_accounts import account_routes
from tradewind.venues.simulated.server.coinbase.rest_market import market_routes
from tradewind.venues.simulated.server.coinbase.rest_orders import order_routes
from tradewind.venues.simulated.server.coinbase.streams import coinbase_stream_routes
from tradewind.venues.simulated.server.sim_admin import SimAdminGate
from tradewind.venues.simulated.server.sim_api import sim_routes
from tradewind.venues.simulated.server.state import ServerState

_GUARDED = ("/api/", "/v2/")
#: Routes Coinbase serves without authentication, limited per IP address.
_PUBLIC = ("/api/v3/brokerage/market/", "/api/v3/brokerage/time", "/v2/time",
           "/v2/currencies", "/v2/exchange-rates")  # fmt: skip


def build_coinbase_app(
    state: ServerState, *, step_interval_s: float | None = STEP_INTERVAL_S
) -> FastAPI:
    """The Coinbase-speaking app serving `state`; `step_interval_s=None` leaves the
    market still (the caller steps it)."""
    app = FastAPI(
        title="Tradewind simulated exchange (Coinbase Advanced Trade)",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=market_lifespan(state, step_interval_s),
    )
    requests = CoinbaseRequests(state, ProductMap(state.exchange.specs))
    app.include_router(market_routes(state, requests))
    app.include_router(account_routes(state, requests))
    app.include_router(order_routes(state, requests))
    app.include_router(sim_routes(state))
    app.router.routes.extend(coinbase_stream_routes(state))
    app.add_middleware(CoinbaseGate, state=state)
    app.add_middleware(SimAdminGate, token=state.admin_token)
    app.add_exception_handler(CoinbaseError, _coinbase_error)
    app.add_exception_handler(MatchingError, _matching_error)
    app.add_exception_handler(HTTPException, _unknown_route)
    return app


class CoinbaseGate:
    """ASGI middleware in front of `/api/` and `/v2/`: injected faults (429 in
    Coinbase's shape, 503, or a hang then 504), then the public routes' per-IP limit."""

    def __init__(self, app: ASGIApp, state: ServerState) -> None:
        self._app = app
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(_GUARDED):
            await self._app(scope, receive, send)
            return
        path = scope["path"]
        v2 = path.startswith("/v2/")
        faults = self._state.faults
        now_ms = time.time() * 1000
        if faults.rate_limit_until_ms > now_ms:
            retry_s = max(1, math.ceil((faults.rate_limit_until_ms - now_ms) / 1000))
            refusal = errors.rate_limited(0, "(injected fault)", retry_s, v2=v2)
            await refusal.response()(scope, receive, send)
            return
        if faults.http_5xx_until_ms > now_ms:
            await json_response({"message": "Service Unavailable"}, 503)(scope, receive, send)
            return
        if faults.timeout_until_ms > now_ms:
            await asyncio.sleep(faults.hang_s)
            await json_response({"message": "Gateway Time-out"}, 504)(scope, receive, send)
            return
        limiter = self._state.coinbase_limiters.public
        if limiter is not None and path.startswith(_PUBLIC):
            client = scope.get("client")
            ip = client[0] if client else "unknown"
            wait_s = limiter.admit(ip, time.time_ns() // NS_PER_MS)
            if wait_s is not None:
                refusal = errors.rate_limited(limiter.limit, "per IP address", wait_s, v2=v2)
                await refusal.response()(scope, receive, send)
                return
        await self._app(scope, receive, send)


async def _coinbase_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CoinbaseError)
    return exc.response()


async def _matching_error(request: Request, exc: Exception) -> Response:
    """An engine refusal outside order creation (which answers its own failures)."""
    assert isinstance(exc, MatchingError)
    return errors.invalid_argument(exc.msg).response()


async def _unknown_route(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        error = CoinbaseError(405, "METHOD_NOT_ALLOWED", "Method Not Allowed")
    else:
        error = CoinbaseError(exc.status_code, "NOT_FOUND", "Not Found")
    return error.response()
