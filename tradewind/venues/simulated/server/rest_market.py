"""Binance's public REST endpoints (security NONE): connectivity, exchangeInfo, the book,
trades, klines and tickers. Shapes and parameters are Binance's spot `/api/v3`."""

from __future__ import annotations

import time
from decimal import Decimal

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from tradewind.domain.matching import InstrumentSpec, Trade
from tradewind.venues.simulated.history import INTERVALS_MS
from tradewind.venues.simulated.server import binance_errors as errors
from tradewind.venues.simulated.server.binance_errors import json_response
from tradewind.venues.simulated.server.formatting import (
    ASSET_PRECISION,
    SELF_TRADE_PREVENTION,
    SymbolMap,
    fixed,
    kline_row,
    public_trade,
)
from tradewind.venues.simulated.server.rest_params import Params
from tradewind.venues.simulated.server.state import ServerState

ORDER_TYPES = ["LIMIT", "LIMIT_MAKER", "MARKET"]
_DAY_MS = 86_400_000
_EIGHT_PLACES = Decimal(1).scaleb(-ASSET_PRECISION)


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
        status = params.choice(
            "symbolStatus",
            ("TRADING", "HALT", "BREAK"),
            errors.BinanceError(-1122, "Invalid symbolStatus."),
        )
        if status not in (None, "TRADING"):
            chosen = []
        return json_response(
            {
                "timezone": "UTC",
                "serverTime": _now_ms(),
                "rateLimits": [limit.as_binance() for limit in state.rate_limits],
                "exchangeFilters": [],
                "symbols": [_symbol_info(exchange.specs[s], symbols.wire(s)) for s in chosen],
            }
        )

    @router.get("/depth")
    async def depth(request: Request) -> Response:
        params = await Params.read(request)
        symbol = params.symbol(symbols)
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

    @router.get("/klines")
    async def klines(request: Request) -> Response:
        params = await Params.read(request)
        symbol = params.symbol(symbols)
        interval = params.required("interval")
        if interval not in INTERVALS_MS:
            raise errors.invalid_interval()
        candles = history.klines(
            symbol,
            interval,
            start_ms=params.integer("startTime"),
            end_ms=params.integer("endTime"),
            limit=params.limit(500, 1000),
        )
        return json_response([kline_row(k) for k in candles])

    @router.get("/ticker/price")
    async def ticker_price(request: Request) -> Response:
        params = await Params.read(request)
        chosen = params.symbol_list(symbols)
        prices = [
            {"symbol": symbols.wire(s), "price": fixed(_last_price(state, s))}
            for s in chosen or exchange.specs
        ]
        return json_response(prices[0] if "symbol" in params else prices)

    @router.get("/ticker/bookTicker")
    async def book_ticker(request: Request) -> Response:
        params = await Params.read(request)
        chosen = params.symbol_list(symbols)
        tickers = [_book_ticker(state, s, symbols.wire(s)) for s in chosen or exchange.specs]
        return json_response(tickers[0] if "symbol" in params else tickers)

    @router.get("/ticker/24hr")
    async def ticker_24hr(request: Request) -> Response:
        params = await Params.read(request)
        chosen = params.symbol_list(symbols)
        kind = params.choice(
            "type", ("FULL", "MINI"), errors.BinanceError(-1139, "Invalid ticker type.")
        )
        now_ms = _now_ms()
        tickers = [
            _day_ticker(state, s, symbols.wire(s), now_ms, mini=kind == "MINI")
            for s in chosen or exchange.specs
        ]
        return json_response(tickers[0] if "symbol" in params else tickers)

    return router


def _symbol_info(spec: InstrumentSpec, wire_symbol: str) -> dict[str, object]:
    f = spec.filters
    return {
        "symbol": wire_symbol,
        "status": "TRADING",
        "baseAsset": spec.instrument.base,
        "baseAssetPrecision": ASSET_PRECISION,
        "quoteAsset": spec.instrument.quote,
        "quotePrecision": ASSET_PRECISION,
        "quoteAssetPrecision": ASSET_PRECISION,
        "baseCommissionPrecision": ASSET_PRECISION,
        "quoteCommissionPrecision": ASSET_PRECISION,
        "orderTypes": ORDER_TYPES,
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": True,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "amendAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": fixed(f.min_price),
                "maxPrice": fixed(f.max_price),
                "tickSize": fixed(f.tick_size),
            },
            {
                "filterType": "LOT_SIZE",
                "minQty": fixed(f.min_qty),
                "maxQty": fixed(f.max_qty),
                "stepSize": fixed(f.step_size),
            },
            {
                "filterType": "NOTIONAL",
                "minNotional": fixed(f.min_notional),
                "applyMinToMarket": f.apply_min_to_market,
                "maxNotional": fixed(f.max_notional),
                "applyMaxToMarket": f.apply_max_to_market,
                "avgPriceMins": 0,  # market orders are checked against the best price
            },
        ],
        "permissions": ["SPOT"],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": SELF_TRADE_PREVENTION,
        "allowedSelfTradePreventionModes": [SELF_TRADE_PREVENTION],
    }


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


def _last_price(state: ServerState, symbol: str) -> Decimal:
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
    minutes = history.day_window(symbol, now_ms)
    last = _last_price(state, symbol)
    open_price = minutes[0].open if minutes else last
    high = max((k.high for k in minutes), default=last)
    low = min((k.low for k in minutes), default=last)
    volume = sum((k.volume for k in minutes), Decimal(0))
    quote_volume = sum((k.quote_volume for k in minutes), Decimal(0))
    count = sum(k.trades for k in minutes)
    recent = history.recent_trades(symbol, 1)
    last_id = recent[-1].trade_id if count and recent else -1
    first_id = last_id - count + 1 if last_id != -1 else -1
    ticker: dict[str, object] = {"symbol": wire_symbol}
    if not mini:
        change = last - open_price
        percent = (change / open_price * 100) if open_price else Decimal(0)
        average = (quote_volume / volume) if volume else Decimal(0)
        top = _book_ticker(state, symbol, wire_symbol)
        ticker.update(
            priceChange=fixed(change),
            priceChangePercent=format(percent.quantize(Decimal("0.001")), "f"),
            weightedAvgPrice=fixed(average.quantize(_EIGHT_PLACES)),
            prevClosePrice=fixed(open_price),
            lastPrice=fixed(last),
            lastQty=fixed(recent[-1].quantity if recent else Decimal(0)),
            bidPrice=top["bidPrice"],
            bidQty=top["bidQty"],
            askPrice=top["askPrice"],
            askQty=top["askQty"],
        )
    ticker.update(
        openPrice=fixed(open_price),
        highPrice=fixed(high),
        lowPrice=fixed(low),
        **({"lastPrice": fixed(last)} if mini else {}),
        volume=fixed(volume),
        quoteVolume=fixed(quote_volume),
        openTime=now_ms - _DAY_MS,
        closeTime=now_ms,
        firstId=first_id,
        lastId=last_id,
        count=count,
    )
    return ticker
