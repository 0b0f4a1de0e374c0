"""Binance's public REST endpoints (security NONE): connectivity, exchangeInfo, the book
and trades. Candles are in `rest_market_candles`, tickers in `rest_market_tickers`.
Shapes and parameters are Binance's spot `/api/v3`."""

from __future__ import annotations

import time
from decimal import Decimal

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tradewind.domain.matching import Trade
from tradewind.venues.simulated.server import binance_errors as errors
from tradewind.venues.simulated.server.binance_errors import json_response
from tradewind.venues.simulated.server.exchange_info import symbol_info
from tradewind.venues.simulated.server.formatting import SymbolMap, fixed, public_trade
from tradewind.venues.simulated.server.rest_params import Params
from tradewind.venues.simulated.server.state import ServerState


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def market_routes(state: ServerState, symbols: SymbolMap) -> APIRouter:
    """The public market-data routes under /api/v3."""
    exchange = state.exchange
    engine = exchange.engine
    history = exchange.history
    router = APIRouter(prefix="/api/v3")

    @router.get("/ping")
    async def ping(request: Request) -> Response:
        return json_response({})

    @router.get("/time")
    async def server_time(request: Request) -> Response:
        return json_response({"serverTime": _now_ms()})

    @router.get("/exchangeInfo")
    async def exchange_info(request: Request) -> Response:
        params = await Params.read(request)
        chosen = params.symbol_list(symbols) or list(exchange.specs)
        if not params.wants_trading_symbols():
            chosen = []
        return json_response(
            {
                "timezone": "UTC",
                "serverTime": _now_ms(),
                "rateLimits": [limit.as_binance() for limit in state.rate_limits],
                "exchangeFilters": [],
                "symbols": [symbol_info(exchange.specs[s], symbols.wire(s)) for s in chosen],
            }
        )

    @router.get("/depth")
    async def depth(request: Request) -> Response:
        params = await Params.read(request)
        symbol = params.symbol(symbols)
        if not params.wants_trading_symbols():
            raise errors.symbol_status_mismatch()
        book = engine.depth(symbol, params.limit(100, 5000))
        return json_response(
            {
                "lastUpdateId": book.last_update_id,
                "bids": [[fixed(level.price), fixed(level.quantity)] for level in book.bids],
                "asks": [[fixed(level.price), fixed(level.quantity)] for level in book.asks],
            }
        )

    @router.get("/trades")
    async def trades(request: Request) -> Response:
        params = await Params.read(request)
        symbol = params.symbol(symbols)
        recent = history.recent_trades(symbol, params.limit(500, 1000))
        return json_response([public_trade(t) for t in recent])

    @router.get("/historicalTrades")
    async def historical_trades(request: Request) -> Response:
        # Security NONE (Binance dropped MARKET_DATA from it): an X-MBX-APIKEY header is
        # ignored. Only the trades `history` keeps can be looked up (1000 per symbol).
        params = await Params.read(request)
        symbol = params.symbol(symbols)
        limit = params.limit(500, 1000)
        from_id = params.integer("fromId")
        if from_id is None:
            chosen = history.recent_trades(symbol, limit)
        else:
            chosen = history.trades_from(symbol, from_id, limit)
        return json_response([public_trade(t) for t in chosen])

    @router.get("/aggTrades")
    async def aggregate_trades(request: Request) -> Response:
        params = await Params.read(request)
        symbol = params.symbol(symbols)
        from_id, start, end = (params.integer(n) for n in ("fromId", "startTime", "endTime"))
        limit = params.limit(500, 1000)
        groups = _aggregate(history.recent_trades(symbol, 1000))
        if from_id is not None:
            groups = [g for g in groups if g[0].trade_id >= from_id]
        if start is not None:
            groups = [g for g in groups if g[0].time_ms >= start]
        if end is not None:
            groups = [g for g in groups if g[0].time_ms <= end]
        from_start = from_id is not None or start is not None
        chosen = groups[:limit] if from_start else groups[-limit:]
        return json_response([_aggregate_trade(g) for g in chosen])

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
