"""Binance's public candle endpoints (security NONE): klines, uiKlines and the 5-minute
average price, from the simulator's second and minute candles (`history`)."""

from __future__ import annotations

import time
from decimal import Decimal

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tradewind.venues.simulated.kline_intervals import KLINE_INTERVALS, MINUTE_MS
from tradewind.venues.simulated.server import binance_errors as errors
from tradewind.venues.simulated.server.binance_errors import json_response
from tradewind.venues.simulated.server.formatting import SymbolMap, fixed, kline_row
from tradewind.venues.simulated.server.rest_market_tickers import last_price
from tradewind.venues.simulated.server.rest_params import Params
from tradewind.venues.simulated.server.state import ServerState

AVERAGE_PRICE_MINUTES = 5
_PRICE_PLACES = Decimal("0.00000001")


def market_candle_routes(state: ServerState, symbols: SymbolMap) -> APIRouter:
    """The candle routes under /api/v3."""
    history = state.exchange.history
    router = APIRouter(prefix="/api/v3")

    async def candles(request: Request) -> Response:
        params = await Params.read(request)
        symbol = params.symbol(symbols)
        interval = params.required("interval")
        if interval not in KLINE_INTERVALS:
            raise errors.invalid_interval()
        rows = history.klines(
            symbol,
            interval,
            start_ms=params.integer("startTime"),
            end_ms=params.integer("endTime"),
            limit=params.limit(500, 1000),
            offset_ms=params.time_zone_ms(),
        )
        return json_response([kline_row(k) for k in rows])

    # uiKlines: Binance "modifies" its candles for charts without saying how; the
    # simulator's candles have no gaps to smooth, so both serve the same rows.
    router.add_api_route("/klines", candles, methods=["GET"])
    router.add_api_route("/uiKlines", candles, methods=["GET"])

    @router.get("/avgPrice")
    async def average_price(request: Request) -> Response:
        params = await Params.read(request)
        symbol = params.symbol(symbols)
        now_ms = time.time_ns() // 1_000_000
        window = history.traded_since(
            symbol, now_ms - AVERAGE_PRICE_MINUTES * MINUTE_MS, by_second=True
        )
        volume = sum((k.volume for k in window), Decimal(0))
        quote_volume = sum((k.quote_volume for k in window), Decimal(0))
        price = quote_volume / volume if volume else last_price(state, symbol)
        recent = history.recent_trades(symbol, 1)
        return json_response(
            {
                "mins": AVERAGE_PRICE_MINUTES,
                "price": fixed(price.quantize(_PRICE_PLACES)),
                "closeTime": recent[-1].time_ms if recent else now_ms,
            }
        )

    return router
