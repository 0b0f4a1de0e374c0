"""Binance's public candle endpoints (security NONE): klines, uiKlines and the 5-minute
average price, from the simulator's second and minute candles (`history`)."""

from __future__ import annotations

import time

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tradewind.domain.time_units import NS_PER_MS
from tradewind.venues.simulated.kline_intervals import KLINE_INTERVALS
from tradewind.venues.simulated.server import binance_errors as errors
from tradewind.venues.simulated.server import ticker_stats
from tradewind.venues.simulated.server.binance_errors import json_response
from tradewind.venues.simulated.server.formatting import SymbolMap, fixed, kline_row
from tradewind.venues.simulated.server.rest_market_tickers import last_price
from tradewind.venues.simulated.server.rest_params import Params
from tradewind.venues.simulated.server.state import ServerState
from tradewind.venues.simulated.server.ticker_stats import AVERAGE_PRICE_MINUTES


class CandleEndpoints:
    """The candle endpoints' logic, free of HTTP (Params in, response body out), for the
    REST routes below and the WebSocket API's `klines`, `uiKlines` and `avgPrice`."""

    def __init__(self, state: ServerState, symbols: SymbolMap) -> None:
        self._state = state
        self._history = state.exchange.history
        self._symbols = symbols

    def klines(self, params: Params) -> list[list[object]]:
        """GET /klines and /uiKlines, klines and uiKlines."""
        symbol = params.symbol(self._symbols)
        interval = params.required("interval")
        if interval not in KLINE_INTERVALS:
            raise errors.invalid_interval()
        rows = self._history.klines(
            symbol,
            interval,
            start_ms=params.integer("startTime"),
            end_ms=params.integer("endTime"),
            limit=params.limit(500, 1000),
            offset_ms=params.time_zone_ms(),
        )
        return [kline_row(k) for k in rows]

    def average_price(self, params: Params) -> dict[str, object]:
        """GET /avgPrice, avgPrice."""
        symbol = params.symbol(self._symbols)
        now_ms = time.time_ns() // NS_PER_MS
        last = last_price(self._state, symbol)
        price, close_ms = ticker_stats.average_price(self._history, symbol, now_ms, last)
        return {"mins": AVERAGE_PRICE_MINUTES, "price": fixed(price), "closeTime": close_ms}


def market_candle_routes(state: ServerState, symbols: SymbolMap) -> APIRouter:
    """The candle routes under /api/v3."""
    calls = CandleEndpoints(state, symbols)
    router = APIRouter(prefix="/api/v3")

    async def candles(request: Request) -> Response:
        return json_response(calls.klines(await Params.read(request)))

    # uiKlines: Binance "modifies" its candles for charts without saying how; the
    # simulator's candles have no gaps to smooth, so both serve the same rows.
    router.add_api_route("/klines", candles, methods=["GET"])
    router.add_api_route("/uiKlines", candles, methods=["GET"])

    @router.get("/avgPrice")
    async def average_price(request: Request) -> Response:
        return json_response(calls.average_price(await Params.read(request)))

    return router
