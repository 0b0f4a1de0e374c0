"""Binance's public ticker endpoints (security NONE): last price, best bid/ask, the 24-hour
ticker, the rolling-window ticker (`windowSize`) and the trading-day ticker (`timeZone`).
Statistics come from the minute candles of the window (`ticker_stats`)."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from decimal import Decimal

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tradewind.venues.simulated.kline_intervals import DAY_MS, MINUTE_MS, candle_bounds
from tradewind.venues.simulated.server import binance_errors as errors
from tradewind.venues.simulated.server.binance_errors import json_response
from tradewind.venues.simulated.server.formatting import SymbolMap, fixed
from tradewind.venues.simulated.server.rest_params import Params
from tradewind.venues.simulated.server.state import ServerState
from tradewind.venues.simulated.server.ticker_stats import (
    WindowStats,
    window_size_ms,
    window_ticker,
)

MAX_WINDOW_SYMBOLS = 100


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def chosen_symbols(
    params: Params, symbols: SymbolMap, listed: list[str], most: int | None = None
) -> list[str]:
    """The symbols a ticker request names (`symbol` or at most `most` `symbols`), else
    every listed one, filtered by `symbolStatus`: every listed symbol is TRADING, so
    another status refuses one named `symbol` (-1220) and leaves a list empty."""
    chosen = params.symbol_list(symbols, most) or listed
    if params.wants_trading_symbols():
        return chosen
    if "symbol" in params:
        raise errors.symbol_status_mismatch()
    return []


def market_ticker_routes(state: ServerState, symbols: SymbolMap) -> APIRouter:
    """The ticker routes under /api/v3."""
    exchange = state.exchange
    history = exchange.history
    listed = list(exchange.specs)
    router = APIRouter(prefix="/api/v3")

    def one_or_list(params: Params, items: Sequence[Mapping[str, object]]) -> Response:
        return json_response(items[0] if "symbol" in params else items)

    def window_stats(symbol: str, since_ms: int) -> WindowStats:
        """What traded on `symbol` from `since_ms` (minute-aligned) to now."""
        return WindowStats.of(history.traded_since(symbol, since_ms), last_price(state, symbol))

    def ticker_type(params: Params) -> bool:
        """True for type=MINI."""
        kind = params.choice(
            "type", ("FULL", "MINI"), errors.BinanceError(-1139, "Invalid ticker type.")
        )
        return kind == "MINI"

    def window_symbols(params: Params) -> list[str]:
        """`symbol` or `symbols`, one of them mandatory, at most 100."""
        if "symbol" not in params and "symbols" not in params:
            raise errors.either_mandatory("symbol", "symbols")
        return chosen_symbols(params, symbols, listed, MAX_WINDOW_SYMBOLS)

    @router.get("/ticker/price")
    async def ticker_price(request: Request) -> Response:
        params = await Params.read(request)
        prices = [
            {"symbol": symbols.wire(s), "price": fixed(last_price(state, s))}
            for s in chosen_symbols(params, symbols, listed)
        ]
        return one_or_list(params, prices)

    @router.get("/ticker/bookTicker")
    async def book_ticker(request: Request) -> Response:
        params = await Params.read(request)
        chosen = chosen_symbols(params, symbols, listed)
        return one_or_list(params, [_book_ticker(state, s, symbols.wire(s)) for s in chosen])

    @router.get("/ticker/24hr")
    async def ticker_24hr(request: Request) -> Response:
        params = await Params.read(request)
        chosen = chosen_symbols(params, symbols, listed)
        mini = ticker_type(params)
        now_ms = _now_ms()
        tickers = [_day_ticker(state, s, symbols.wire(s), now_ms, mini=mini) for s in chosen]
        return one_or_list(params, tickers)

    @router.get("/ticker")
    async def rolling_window_ticker(request: Request) -> Response:
        params = await Params.read(request)
        chosen = window_symbols(params)
        size_text = params.text("windowSize") or "1d"
        size_ms = window_size_ms(size_text)
        if size_ms is None:
            raise errors.invalid_parameter("windowSize")
        mini = ticker_type(params)
        now_ms = _now_ms()
        # Binance starts the window on the minute: up to 59999 ms wider than windowSize.
        since = now_ms - size_ms
        open_ms = since - since % MINUTE_MS
        tickers = [
            window_ticker(window_stats(s, open_ms), symbols.wire(s), open_ms, now_ms, mini=mini)
            for s in chosen
        ]
        return one_or_list(params, tickers)

    @router.get("/ticker/tradingDay")
    async def trading_day_ticker(request: Request) -> Response:
        params = await Params.read(request)
        chosen = window_symbols(params)
        offset_ms = params.time_zone_ms()
        mini = ticker_type(params)
        opens, day_ms = candle_bounds("1d", _now_ms(), offset_ms)
        closes = opens + day_ms - 1
        tickers = [
            window_ticker(window_stats(s, opens), symbols.wire(s), opens, closes, mini=mini)
            for s in chosen
        ]
        return one_or_list(params, tickers)

    return router


def last_price(state: ServerState, symbol: str) -> Decimal:
    """The last trade's price; before any trade, the market's reference price."""
    last = state.exchange.engine.last_price(symbol)
    if last is not None:
        return last
    return state.exchange.prices.price(symbol, _now_ms())


def _book_ticker(state: ServerState, symbol: str, wire_symbol: str) -> dict[str, object]:
    top = state.exchange.engine.book_ticker(symbol)
    zero = Decimal(0)
    return {
        "symbol": wire_symbol,
        "bidPrice": fixed(top.bid_price or zero),
        "bidQty": fixed(top.bid_quantity or zero),
        "askPrice": fixed(top.ask_price or zero),
        "askQty": fixed(top.ask_quantity or zero),
    }


def _day_ticker(
    state: ServerState, symbol: str, wire_symbol: str, now_ms: int, *, mini: bool
) -> dict[str, object]:
    """The rolling 24-hour ticker, from the minute candles of the window."""
    history = state.exchange.history
    last = last_price(state, symbol)
    in_window = WindowStats.of(history.traded_since(symbol, now_ms - DAY_MS), last)
    stats = dataclasses.replace(in_window, last=last)
    open_ms, close_ms = now_ms - DAY_MS, now_ms
    if mini:
        return window_ticker(stats, wire_symbol, open_ms, close_ms, mini=True)
    recent = history.recent_trades(symbol, 1)
    top = _book_ticker(state, symbol, wire_symbol)
    return {
        "symbol": wire_symbol,
        "priceChange": fixed(stats.price_change),
        "priceChangePercent": format(stats.price_change_percent, "f"),
        "weightedAvgPrice": fixed(stats.weighted_average),
        "prevClosePrice": fixed(stats.open),
        "lastPrice": fixed(last),
        "lastQty": fixed(recent[-1].quantity if recent else Decimal(0)),
        "bidPrice": top["bidPrice"],
        "bidQty": top["bidQty"],
        "askPrice": top["askPrice"],
        "askQty": top["askQty"],
        "openPrice": fixed(stats.open),
        "highPrice": fixed(stats.high),
        "lowPrice": fixed(stats.low),
        "volume": fixed(stats.volume),
        "quoteVolume": fixed(stats.quote_volume),
        "openTime": open_ms,
        "closeTime": close_ms,
        "firstId": stats.first_id,
        "lastId": stats.last_id,
        "count": stats.count,
    }
