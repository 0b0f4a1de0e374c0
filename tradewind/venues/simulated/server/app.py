"""The simulated exchange's HTTP app: Binance's spot REST API (`/api/v3`, the `/sapi/v1`
wallet and margin answers of a spot-only account, and empty futures exchangeInfo), the
simulator's own API (`/sim/v1`, open to loopback clients and to holders of the admin
token: `server.sim_admin`), and the WebSocket streams (`server.streams`).

Every error is Binance's `{"code", "msg"}` body, including an unknown route (404) or
method (405): -1020 "This operation is not supported.".

While the app runs (its lifespan), a background task moves the market: `exchange.step()`
every `step_interval_s`. The app serves one `ServerState`, so the HTTP and WebSocket
sides see the same exchange.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from tradewind.runtime.logging import get_logger
from tradewind.venues.simulated.exchange import SimulatedExchange
from tradewind.venues.simulated.matching import MatchingError
from tradewind.venues.simulated.server import binance_errors as errors
from tradewind.venues.simulated.server.binance_errors import BinanceError
from tradewind.venues.simulated.server.formatting import SymbolMap
from tradewind.venues.simulated.server.rest_account import account_routes
from tradewind.venues.simulated.server.rest_futures import futures_routes
from tradewind.venues.simulated.server.rest_gate import BinanceGate
from tradewind.venues.simulated.server.rest_market import market_routes
from tradewind.venues.simulated.server.rest_market_candles import market_candle_routes
from tradewind.venues.simulated.server.rest_market_tickers import market_ticker_routes
from tradewind.venues.simulated.server.rest_sapi import sapi_routes
from tradewind.venues.simulated.server.rest_trading import trading_routes
from tradewind.venues.simulated.server.sim_admin import SimAdminGate
from tradewind.venues.simulated.server.sim_api import sim_routes
from tradewind.venues.simulated.server.state import ServerState
from tradewind.venues.simulated.server.streams import UVICORN_WS_OPTIONS, stream_routes

STEP_INTERVAL_S = 0.1

_log = get_logger("tradewind.venues.simulated.server")


def market_lifespan(
    state: ServerState, step_interval_s: float | None
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """An app's lifespan that steps `state`'s market every `step_interval_s` while the
    app runs; None leaves the market still (the caller steps it). Every API the
    simulator serves (Binance's, Coinbase's) moves its market this way."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if step_interval_s is None:
            yield
            return
        stepper = asyncio.create_task(run_market(state.exchange, step_interval_s))
        try:
            yield
        finally:
            stepper.cancel()
            await asyncio.gather(stepper, return_exceptions=True)

    return lifespan


def build_app(state: ServerState, *, step_interval_s: float | None = STEP_INTERVAL_S) -> FastAPI:
    """The app serving `state`; `step_interval_s=None` leaves the market still (the
    caller steps it)."""
    app = FastAPI(
        title="Tradewind simulated exchange",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
        lifespan=market_lifespan(state, step_interval_s),
    )
    symbols = SymbolMap(state.exchange.specs)
    app.include_router(market_routes(state, symbols))
    app.include_router(market_candle_routes(state, symbols))
    app.include_router(market_ticker_routes(state, symbols))
    app.include_router(trading_routes(state, symbols))
    app.include_router(account_routes(state, symbols))
    app.include_router(sapi_routes(state, symbols))
    app.include_router(futures_routes())
    app.include_router(sim_routes(state))
    app.router.routes.extend(stream_routes(state))
    app.add_middleware(BinanceGate, state=state)
    app.add_middleware(SimAdminGate, token=state.admin_token)
    app.add_exception_handler(BinanceError, _binance_error)
    app.add_exception_handler(MatchingError, _binance_error)
    app.add_exception_handler(HTTPException, _unsupported_route)
    return app


async def run_market(exchange: SimulatedExchange, interval_s: float) -> None:
    """Step the exchange every `interval_s` seconds until cancelled. A failing step is
    logged and the market keeps going: one bad tick must not stop the venue."""
    finished_logged = False
    while True:
        try:
            exchange.step()
        except Exception:
            _log.exception("market step failed")
        if not finished_logged and exchange.replay_finished():
            _log.info("candle replay finished; prices stay at the last close")
            finished_logged = True
        await asyncio.sleep(interval_s)


async def _binance_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, MatchingError):
        exc = BinanceError.from_matching(exc)
    assert isinstance(exc, BinanceError)
    return exc.response()


async def _unsupported_route(request: Request, exc: Exception) -> Response:
    """Starlette's 404 (no such route) and 405 (no such method), in Binance's shape."""
    assert isinstance(exc, HTTPException)
    error = errors.unsupported_operation(exc.status_code)
    error.headers.update(exc.headers or {})  # 405 keeps its Allow header
    return error.response()


def uvicorn_ws_options() -> dict[str, Any]:
    """The uvicorn.Config options the WebSocket side needs (ping interval and timeout)."""
    return dict(UVICORN_WS_OPTIONS)
