"""python-binance 1.0.37, sync `Client` and `AsyncClient`, against the venue in both
market modes: market data, then a whole trading session (every order type, OCO, cancels,
queries, fills) with the balances checked to the last decimal after, over REST and over
the WebSocket API (`AsyncClient.ws_*`)."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

from tests.integration.venues.third_party.order_flow import run_session
from tests.integration.venues.third_party.python_binance_support import (
    AsyncCalls,
    SyncCalls,
    WsApiCalls,
    async_client,
    sync_client,
)
from tests.integration.venues.third_party.venue_support import Traders, Venue

D = Decimal


def test_sync_client_market_data(venue: Venue) -> None:
    market = venue.market
    client = sync_client(venue)  # pings the venue on construction
    try:
        assert abs(client.get_server_time()["serverTime"] - _now_ms()) < 5_000
        info = client.get_symbol_info(market.symbol)
        assert info is not None and info["status"] == "TRADING"
        assert {"STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"} <= set(info["orderTypes"])
        assert info["ocoAllowed"] is True
        everything = client.get_exchange_info()
        assert market.symbol in {s["symbol"] for s in everything["symbols"]}
        book = client.get_order_book(symbol=market.symbol, limit=10)
        bids, asks = book["bids"], book["asks"]
        assert len(bids) == len(asks) == 10 and D(bids[0][0]) < D(asks[0][0])
        assert [D(p) for p, _ in bids] == sorted((D(p) for p, _ in bids), reverse=True)
        trades = client.get_recent_trades(symbol=market.symbol, limit=20)
        assert len(trades) == 20 and [t["id"] for t in trades] == sorted(t["id"] for t in trades)
        old = client.get_historical_trades(symbol=market.symbol, limit=5, fromId=trades[0]["id"])
        assert [t["id"] for t in old] == [t["id"] for t in trades[:5]]
        aggregated = client.get_aggregate_trades(symbol=market.symbol, limit=10)
        assert len(aggregated) == 10
        for interval in ("1m", "5m", "1h", "1d"):
            candles = client.get_klines(symbol=market.symbol, interval=interval, limit=50)
            assert candles and [c[0] for c in candles] == sorted({c[0] for c in candles})
            assert all(D(c[3]) <= min(D(c[1]), D(c[4])) <= max(D(c[1]), D(c[4])) <= D(c[2])
                       for c in candles)  # fmt: skip
        day = client.get_ticker(symbol=market.symbol)
        assert day["symbol"] == market.symbol and D(day["lowPrice"]) <= D(day["highPrice"])
        price = client.get_symbol_ticker(symbol=market.symbol)
        assert D(price["price"]) > 0
        top = client.get_orderbook_ticker(symbol=market.symbol)
        assert D(top["bidPrice"]) < D(top["askPrice"])
        average = client.get_avg_price(symbol=market.symbol)
        assert average["mins"] == 5 and D(average["price"]) > 0
    finally:
        client.close_connection()


def test_sync_client_trading_session(venue: Venue, traders: Traders) -> None:
    account = venue.open_account(venue.funding())
    client = sync_client(venue, account.api_key, account.secret)
    try:
        asyncio.run(run_session(SyncCalls(client), venue, traders, account))
    finally:
        client.close_connection()


async def test_async_client_trading_session(venue: Venue, traders: Traders) -> None:
    account = venue.open_account(venue.funding())
    client = await async_client(venue, account.api_key, account.secret)
    try:
        await run_session(AsyncCalls(client), venue, traders, account)
    finally:
        await client.close_connection()


async def test_async_client_trading_session_over_the_websocket_api(
    venue: Venue, traders: Traders
) -> None:
    account = venue.open_account(venue.funding())
    client = await async_client(venue, account.api_key, account.secret)
    try:
        assert await client.ws_ping() == {}
        await run_session(WsApiCalls(client), venue, traders, account)
    finally:
        await client.close_connection()


def _now_ms() -> int:
    return time.time_ns() // 1_000_000
