"""Binance's public ticker endpoints (security NONE): last price, best bid/ask, the 24-hour
ticker, the rolling-window ticker (`windowSize`) and the trading-day ticker (`timeZone`).
Statistics come from the minute candles of the window (`ticker_stats`). The logic is
`TickerEndpoints`, which the WebSocket API's `ticker.*` methods call too."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from decimal import Decimal

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tradewind.domain.time_units import NS_PER_MS
from tradewind.venues.simulated.kline_intervals import DAY_MS, candle_bounds
from tradewind.venues.simulated.server import binance_errors as errors
from tradewind.venues.simulated.server import ticker_stats
from tradewind.venues.simulated.server.binance_errors import json_response
from tradewind.venues.simulated.server.formatting import SymbolMap, fixed
from tradewind.venues.simulated.server.rest_params import Params
from tradewind.venues.simulated.server.state import ServerState
from tradewind.venues.simulated.server.ticker_stats import (
    WindowStats,
    day_stats,
    rolling_window_open,
    window_size_ms,
    window_ticker,
)

MAX_WINDOW_SYMBOLS = 100


def _now_ms() -> int:
    return time.time_ns() // NS_PER_MS


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


class TickerEndpoints:
    """The ticker endpoints' logic, free of HTTP: each call takes the request's Params
    and returns the response body (one ticker for `symbol`, else a list). The REST
    routes below and the WebSocket API's `ticker.*` methods both call it."""

    def __init__(self, state: ServerState, symbols: SymbolMap) -> None:
        self._state = state
        self._history = state.exchange.history
        self._symbols = symbols
        self._listed = list(state.exchange.specs)

    def _window_stats(self, symbol: str, since_ms: int) -> WindowStats:
        """What traded on `symbol` from `since_ms` (minute-aligned) to now."""
        last = last_price(self._state, symbol)
        return ticker_stats.window_stats(self._history, symbol, since_ms, last)

    def _window_symbols(self, params: Params) -> list[str]:
        """`symbol` or `symbols`, one of them mandatory, at most 100."""
        if "symbol" not in params and "symbols" not in params:
            raise errors.either_mandatory("symbol", "symbols")
        return chosen_symbols(params, self._symbols, self._listed, MAX_WINDOW_SYMBOLS)

    def price(self, params: Params) -> object:
        """GET /ticker/price, ticker.price."""
        state, symbols = self._state, self._symbols
        prices = [
            {"symbol": symbols.wire(s), "price": fixed(last_price(state, s))}
            for s in chosen_symbols(params, symbols, self._listed)
        ]
        return _one_or_list(params, prices)

    def book(self, params: Params) -> object:
        """GET /ticker/bookTicker, ticker.book."""
        state, symbols = self._state, self._symbols
        chosen = chosen_symbols(params, symbols, self._listed)
        return _one_or_list(params, [_book_ticker(state, s, symbols.wire(s)) for s in chosen])

    def day(self, params: Params) -> object:
        """GET /ticker/24hr, ticker.24hr."""
        state, symbols = self._state, self._symbols
        chosen = chosen_symbols(params, symbols, self._listed)
        mini = _ticker_type(params)
        now_ms = _now_ms()
        tickers = [_day_ticker(state, s, symbols.wire(s), now_ms, mini=mini) for s in chosen]
        return _one_or_list(params, tickers)

    def rolling_window(self, params: Params) -> object:
        """GET /ticker, ticker."""
        chosen = self._window_symbols(params)
        size_text = params.text("windowSize") or "1d"
        size_ms = window_size_ms(size_text)
        if size_ms is None:
            raise errors.invalid_parameter("windowSize")
        mini = _ticker_type(params)
        now_ms = _now_ms()
        open_ms = rolling_window_open(now_ms, size_ms)
        wire = self._symbols.wire
        tickers = [
            window_ticker(self._window_stats(s, open_ms), wire(s), open_ms, now_ms, mini=mini)
            for s in chosen
        ]
        return _one_or_list(params, tickers)

    def trading_day(self, params: Params) -> object:
        """GET /ticker/tradingDay, ticker.tradingDay."""
        chosen = self._window_symbols(params)
        offset_ms = params.time_zone_ms()
        mini = _ticker_type(params)
        opens, day_ms = candle_bounds("1d", _now_ms(), offset_ms)
        closes = opens + day_ms - 1
        wire = self._symbols.wire
        tickers = [
            window_ticker(self._window_stats(s, opens), wire(s), opens, closes, mini=mini)
            for s in chosen
        ]
        return _one_or_list(params, tickers)


def market_ticker_routes(state: ServerState, symbols: SymbolMap) -> APIRouter:
    """The ticker routes under /api/v3."""
    calls = TickerEndpoints(state, symbols)
    router = APIRouter(prefix="/api/v3")

    @router.get("/ticker/price")
    async def ticker_price(request: Request) -> Response:
        return json_response(calls.price(await Params.read(request)))

    @router.get("/ticker/bookTicker")
    async def book_ticker(request: Request) -> Response:
        return json_response(calls.book(await Params.read(request)))

    @router.get("/ticker/24hr")
    async def ticker_24hr(request: Request) -> Response:
        return json_response(calls.day(await Params.read(request)))

    @router.get("/ticker")
    async def rolling_window_ticker(request: Request) -> Response:
        return json_response(calls.rolling_window(await Params.read(request)))

    @router.get("/ticker/tradingDay")
    async def trading_day_ticker(request: Request) -> Response:
        return json_response(calls.trading_day(await Params.read(request)))

    return router


def _one_or_list(params: Params, items: Sequence[Mapping[str, object]]) -> object:
    return items[0] if "symbol" in params else items


def _ticker_type(params: Params) -> bool:
    """True for type=MINI."""
    kind = params.choice(
        "type", ("FULL", "MINI"), errors.BinanceError(-1139, "Invalid ticker type.")
    )
    return kind == "MINI"


def last_price(state: ServerState, symbol: str) -> Decimal:
    """The last trade's price; before any trade, the market's reference price."""
    return ticker_stats.last_price(state.exchange, symbol, _now_ms())


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
    stats = day_stats(history, symbol, now_ms, last)
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
