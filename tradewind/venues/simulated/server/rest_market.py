"""Binance's public REST endpoints (security NONE): connectivity, exchangeInfo, the book
and trades. Candles are in `rest_market_candles`, tickers in `rest_market_tickers`.
Shapes and parameters are Binance's spot `/api/v3`. The logic is `MarketEndpoints`,
which the WebSocket API's market methods call too."""

from __future__ import annotations

import time
from decimal import Decimal

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tradewind.domain.time_units import NS_PER_MS
from tradewind.venues.simulated.matching import Trade
from tradewind.venues.simulated.server import binance_errors as errors
from tradewind.venues.simulated.server.binance_errors import json_response
from tradewind.venues.simulated.server.exchange_info import symbol_info
from tradewind.venues.simulated.server.formatting import SymbolMap, fixed, public_trade
from tradewind.venues.simulated.server.rest_params import Params
from tradewind.venues.simulated.server.state import ServerState


def _now_ms() -> int:
    return time.time_ns() // NS_PER_MS


class MarketEndpoints:
    """The public market endpoints' logic, free of HTTP: each call takes the request's
    Params and returns the response body. The REST routes below and the WebSocket API's
    market methods both call it."""

    def __init__(self, state: ServerState, symbols: SymbolMap) -> None:
        self._state = state
        self._exchange = state.exchange
        self._symbols = symbols

    def server_time(self, params: Params) -> dict[str, object]:
        """GET /time, time."""
        return {"serverTime": _now_ms()}

    def exchange_info(self, params: Params) -> dict[str, object]:
        """GET /exchangeInfo, exchangeInfo."""
        exchange, symbols = self._exchange, self._symbols
        chosen = params.symbol_list(symbols) or list(exchange.specs)
        if not params.wants_trading_symbols():
            chosen = []
        return {
            "timezone": "UTC",
            "serverTime": _now_ms(),
            "rateLimits": [limit.as_binance() for limit in self._state.rate_limits],
            "exchangeFilters": [],
            "symbols": [symbol_info(exchange.specs[s], symbols.wire(s)) for s in chosen],
        }

    def depth(self, params: Params) -> dict[str, object]:
        """GET /depth, depth."""
        symbol = params.symbol(self._symbols)
        if not params.wants_trading_symbols():
            raise errors.symbol_status_mismatch()
        book = self._exchange.engine.depth(symbol, params.limit(100, 5000))
        return {
            "lastUpdateId": book.last_update_id,
            "bids": [[fixed(level.price), fixed(level.quantity)] for level in book.bids],
            "asks": [[fixed(level.price), fixed(level.quantity)] for level in book.asks],
        }

    def trades(self, params: Params) -> list[dict[str, object]]:
        """GET /trades, trades.recent."""
        symbol = params.symbol(self._symbols)
        recent = self._exchange.history.recent_trades(symbol, params.limit(500, 1000))
        return [public_trade(t) for t in recent]

    def historical_trades(self, params: Params) -> list[dict[str, object]]:
        """GET /historicalTrades, trades.historical."""
        # Security NONE (Binance dropped MARKET_DATA from it): an X-MBX-APIKEY header is
        # ignored. Only the trades `history` keeps can be looked up (1000 per symbol).
        history = self._exchange.history
        symbol = params.symbol(self._symbols)
        limit = params.limit(500, 1000)
        from_id = params.integer("fromId")
        if from_id is None:
            chosen = history.recent_trades(symbol, limit)
        else:
            chosen = history.trades_from(symbol, from_id, limit)
        return [public_trade(t) for t in chosen]

    def aggregate_trades(self, params: Params) -> list[dict[str, object]]:
        """GET /aggTrades, trades.aggregate."""
        symbol = params.symbol(self._symbols)
        from_id, start, end = (params.integer(n) for n in ("fromId", "startTime", "endTime"))
        limit = params.limit(500, 1000)
        groups = _aggregate(self._exchange.history.recent_trades(symbol, 1000))
        if from_id is not None:
            groups = [g for g in groups if g[0].trade_id >= from_id]
        if start is not None:
            groups = [g for g in groups if g[0].time_ms >= start]
        if end is not None:
            groups = [g for g in groups if g[0].time_ms <= end]
        from_start = from_id is not None or start is not None
        chosen = groups[:limit] if from_start else groups[-limit:]
        return [_aggregate_trade(g) for g in chosen]


def market_routes(state: ServerState, symbols: SymbolMap) -> APIRouter:
    """The public market-data routes under /api/v3."""
    calls = MarketEndpoints(state, symbols)
    router = APIRouter(prefix="/api/v3")

    @router.get("/ping")
    async def ping(request: Request) -> Response:
        return json_response({})

    @router.get("/time")
    async def server_time(request: Request) -> Response:
        return json_response(calls.server_time(await Params.read(request)))

    @router.get("/exchangeInfo")
    async def exchange_info(request: Request) -> Response:
        return json_response(calls.exchange_info(await Params.read(request)))

    @router.get("/depth")
    async def depth(request: Request) -> Response:
        return json_response(calls.depth(await Params.read(request)))

    @router.get("/trades")
    async def trades(request: Request) -> Response:
        return json_response(calls.trades(await Params.read(request)))

    @router.get("/historicalTrades")
    async def historical_trades(request: Request) -> Response:
        return json_response(calls.historical_trades(await Params.read(request)))

    @router.get("/aggTrades")
    async def aggregate_trades(request: Request) -> Response:
        return json_response(calls.aggregate_trades(await Params.read(request)))

    return router


def _aggregate(trades: list[Trade]) -> list[list[Trade]]:
    """Binance's aggregate trades: consecutive fills of one taker order at one price."""
    groups: list[list[Trade]] = []
    for trade in trades:
        last = groups[-1][-1] if groups else None
        if (
            last is not None
            and last.taker_order_id == trade.taker_order_id
            and last.price_ticks == trade.price_ticks
            and last.ts_ns == trade.ts_ns
        ):
            groups[-1].append(trade)
        else:
            groups.append([trade])
    return groups


def _aggregate_trade(group: list[Trade]) -> dict[str, object]:
    first = group[0]
    return {
        "a": first.trade_id,  # the first trade's id: stable, increasing and unique
        "p": fixed(first.price),
        "q": fixed(sum((t.quantity for t in group), Decimal(0))),
        "f": first.trade_id,
        "l": group[-1].trade_id,
        "T": first.time_ms,
        "m": first.is_buyer_maker,
        "M": True,
    }
