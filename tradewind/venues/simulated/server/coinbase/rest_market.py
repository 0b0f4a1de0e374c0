"""Coinbase's market data on the simulated exchange: products, order books, best bid and
ask, candles and market trades, each public (`/api/v3/brokerage/market/...`, per-IP
limit) and private (`/api/v3/brokerage/...`, signed, per-user limit) as Coinbase serves
both; the server time; and the `/v2` currencies and exchange rates ccxt loads with the
markets."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from decimal import Decimal

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tradewind.domain.time_units import NS_PER_MS, NS_PER_S
from tradewind.venues.simulated.server.binance_errors import json_response
from tradewind.venues.simulated.server.coinbase import errors
from tradewind.venues.simulated.server.coinbase.orders import iso_time
from tradewind.venues.simulated.server.coinbase.products import (
    currencies_view,
    plain,
    product_id,
    product_view,
)
from tradewind.venues.simulated.server.coinbase.requests import CoinbaseRequests, int_param
from tradewind.venues.simulated.server.state import ServerState
from tradewind.venues.simulated.server.ticker_stats import day_stats, last_price

#: Coinbase's candle granularities -> the engine's kline intervals.
GRANULARITIES = {
    "ONE_MINUTE": "1m",
    "FIVE_MINUTE": "5m",
    "FIFTEEN_MINUTE": "15m",
    "THIRTY_MINUTE": "30m",
    "ONE_HOUR": "1h",
    "TWO_HOUR": "2h",
    "SIX_HOUR": "6h",
    "ONE_DAY": "1d",
}
MAX_CANDLES = 350  # Coinbase: at most 350 candles per request
MAX_BOOK_LEVELS = 500
MAX_MARKET_TRADES = 1000

Handler = Callable[[Request], Awaitable[Response]]


class MarketViews:
    """The market-data bodies, shared by the public and private routes."""

    def __init__(self, state: ServerState, requests: CoinbaseRequests) -> None:
        self._state = state
        self._exchange = state.exchange
        self._requests = requests

    def product(self, symbol: str) -> dict[str, object]:
        now_ms = time.time_ns() // NS_PER_MS
        exchange = self._exchange
        last = last_price(exchange, symbol, now_ms)
        day = day_stats(exchange.history, symbol, now_ms, last)
        top = exchange.engine.book_ticker(symbol)
        mid = None
        if top.bid_price is not None and top.ask_price is not None:
            mid = (top.bid_price + top.ask_price) / 2
        return product_view(
            exchange.specs[symbol],
            price=last,
            change_24h_percent=day.price_change_percent,
            volume_24h=day.volume,
            quote_volume_24h=day.quote_volume,
            mid_market=mid,
        )

    def products(self, request: Request) -> dict[str, object]:
        params = request.query_params
        if params.get("product_type", "SPOT") != "SPOT":
            return {"products": [], "num_products": 0}  # spot only: no futures listed
        wanted = params.getlist("product_ids")
        symbols = (
            [self._requests.symbol(p) for p in wanted] if wanted else sorted(self._exchange.specs)
        )
        offset = int_param(request, "offset", 0, low=0, high=10**9)
        limit = int_param(request, "limit", len(symbols) or 1, low=1, high=10**9)
        chosen = symbols[offset : offset + limit]
        return {"products": [self.product(s) for s in chosen], "num_products": len(chosen)}

    def pricebook(self, symbol: str, limit: int) -> dict[str, object]:
        depth = self._exchange.engine.depth(symbol, limit)
        return {
            "product_id": product_id(symbol),
            "bids": [{"price": plain(lv.price), "size": plain(lv.quantity)} for lv in depth.bids],
            "asks": [{"price": plain(lv.price), "size": plain(lv.quantity)} for lv in depth.asks],
            "time": iso_time(time.time_ns()),
        }

    def product_book(self, request: Request) -> dict[str, object]:
        symbol = self._requests.symbol(request.query_params.get("product_id"))
        limit = int_param(request, "limit", 50, low=1, high=MAX_BOOK_LEVELS)
        book = self.pricebook(symbol, limit)
        body: dict[str, object] = {"pricebook": book}
        top = self._exchange.engine.book_ticker(symbol)
        if top.bid_price is not None and top.ask_price is not None:
            spread = top.ask_price - top.bid_price
            mid = (top.bid_price + top.ask_price) / 2
            body |= {
                "last": plain(last_price(self._exchange, symbol, time.time_ns() // NS_PER_MS)),
                "mid_market": plain(mid),
                "spread_bps": plain((spread / mid * 10000).quantize(Decimal("0.0001"))),
                "spread_absolute": plain(spread),
            }
        return body

    def best_bid_ask(self, request: Request) -> dict[str, object]:
        wanted = request.query_params.getlist("product_ids")
        symbols = (
            [self._requests.symbol(p) for p in wanted] if wanted else sorted(self._exchange.specs)
        )
        return {"pricebooks": [self.pricebook(s, 1) for s in symbols]}

    def candles(self, request: Request, pid: str) -> dict[str, object]:
        symbol = self._requests.symbol(pid)
        params = request.query_params
        granularity = params.get("granularity", "")
        interval = GRANULARITIES.get(granularity)
        if interval is None:
            raise errors.invalid_argument(
                f"granularity must be one of {', '.join(GRANULARITIES)}, got {granularity!r}"
            )
        start_s = int_param(request, "start", -1, low=0, high=10**11)  # -1: not sent
        end_s = int_param(request, "end", -1, low=0, high=10**11)
        limit = int_param(request, "limit", MAX_CANDLES, low=1, high=MAX_CANDLES)
        width_s = _interval_seconds(interval)
        if start_s >= 0 and end_s >= 0:
            if end_s < start_s:
                raise errors.invalid_argument("end must not be before start")
            if (end_s - start_s) // width_s > MAX_CANDLES:
                raise errors.invalid_argument(
                    f"number of candles requested should be less than {MAX_CANDLES}"
                )
        klines = self._exchange.history.klines(
            symbol,
            interval,
            start_ms=start_s * 1000 if start_s >= 0 else None,
            end_ms=end_s * 1000 - 1 if end_s >= 0 else None,
            limit=limit,
        )
        rows = [
            {
                "start": str(k.open_ms // 1000),
                "low": plain(k.low),
                "high": plain(k.high),
                "open": plain(k.open),
                "close": plain(k.close),
                "volume": plain(k.volume),
            }
            for k in reversed(klines)  # Coinbase: newest first
        ]
        return {"candles": rows}

    def market_trades(self, request: Request, pid: str) -> dict[str, object]:
        symbol = self._requests.symbol(pid)
        limit = int_param(request, "limit", 100, low=1, high=MAX_MARKET_TRADES)
        start_s = int_param(request, "start", 0, low=0, high=10**11)
        end_s = int_param(request, "end", 0, low=0, high=10**11)
        trades = self._exchange.history.recent_trades(symbol, MAX_MARKET_TRADES)
        if start_s:
            trades = [t for t in trades if t.ts_ns >= start_s * NS_PER_S]
        if end_s:
            trades = [t for t in trades if t.ts_ns < end_s * NS_PER_S]
        top = self._exchange.engine.book_ticker(symbol)
        bid = "" if top.bid_price is None else plain(top.bid_price)
        ask = "" if top.ask_price is None else plain(top.ask_price)
        rows = [
            {
                "trade_id": str(t.trade_id),
                "product_id": pid,
                "price": plain(t.price),
                "size": plain(t.quantity),
                "time": iso_time(t.ts_ns),
                "side": t.maker_side.opposite.value,  # the taker's side
                "bid": "",
                "ask": "",
                "exchange": "",
            }
            for t in reversed(trades[-limit:])  # newest first
        ]
        return {"trades": rows, "best_bid": bid, "best_ask": ask}


def _interval_seconds(interval: str) -> int:
    unit = interval[-1]
    return int(interval[:-1]) * {"m": 60, "h": 3600, "d": 86400}[unit]


def market_routes(state: ServerState, requests: CoinbaseRequests) -> APIRouter:
    """The market-data routes, public and private, and the server time."""
    router = APIRouter()
    views = MarketViews(state, requests)
    brokerage = "/api/v3/brokerage"

    def both(path: str, build: Callable[[Request], dict[str, object]]) -> None:
        """Serve `build` publicly under market/ and signed without it."""

        async def public(request: Request) -> Response:
            return json_response(build(request))

        async def private(request: Request) -> Response:
            await requests.account(request)
            return json_response(build(request))

        router.add_api_route(f"{brokerage}/market/{path}", public, methods=["GET"])
        router.add_api_route(f"{brokerage}/{path}", private, methods=["GET"])

    both("products", views.products)
    both("product_book", views.product_book)
    both(
        "products/{product_id}",
        lambda r: views.product(requests.symbol(r.path_params["product_id"])),
    )
    both("products/{product_id}/candles", lambda r: views.candles(r, r.path_params["product_id"]))
    both(
        "products/{product_id}/ticker",
        lambda r: views.market_trades(r, r.path_params["product_id"]),
    )

    async def best_bid_ask(request: Request) -> Response:
        await requests.account(request)
        return json_response(views.best_bid_ask(request))

    async def brokerage_time(request: Request) -> Response:
        now_ns = time.time_ns()
        return json_response(
            {
                "iso": iso_time(now_ns),
                "epochSeconds": str(now_ns // NS_PER_S),
                "epochMillis": str(now_ns // NS_PER_MS),
            }
        )

    async def v2_time(request: Request) -> Response:
        now_ns = time.time_ns()
        return json_response({"data": {"iso": iso_time(now_ns), "epoch": now_ns // 10**9}})

    async def v2_currencies(request: Request) -> Response:
        return json_response({"data": currencies_view(requests.products.assets())[0]})

    async def v2_crypto(request: Request) -> Response:
        return json_response({"data": currencies_view(requests.products.assets())[1]})

    async def v2_exchange_rates(request: Request) -> Response:
        base = request.query_params.get("currency", "USD")
        return json_response({"data": {"currency": base, "rates": _rates(state, base)}})

    router.add_api_route(f"{brokerage}/best_bid_ask", best_bid_ask, methods=["GET"])
    router.add_api_route(f"{brokerage}/time", brokerage_time, methods=["GET"])
    router.add_api_route("/v2/time", v2_time, methods=["GET"])
    router.add_api_route("/v2/currencies", v2_currencies, methods=["GET"])
    router.add_api_route("/v2/currencies/crypto", v2_crypto, methods=["GET"])
    router.add_api_route("/v2/exchange-rates", v2_exchange_rates, methods=["GET"])
    return router


def _rates(state: ServerState, base: str) -> dict[str, str]:
    """How much of each asset one `base` buys, from the last prices of pairs quoted in
    `base` (1 for `base` itself); assets without such a pair are left out."""
    now_ms = time.time_ns() // NS_PER_MS
    rates = {base: "1"}
    for symbol, spec in state.exchange.specs.items():
        inst = spec.instrument
        price = last_price(state.exchange, symbol, now_ms)
        if inst.quote == base and price > 0:
            rates[inst.base] = plain((1 / price).quantize(Decimal("1e-12")))
        elif inst.base == base:
            rates[inst.quote] = plain(price)
    return rates
