"""Unmodified ccxt 4.5.90 (`ccxt.pro.binance`, which is also its REST client) with its
default options, only its URLs re-hosted on the venue, in both market modes: the same
trading session as the other clients (every order type through `create_order`, the OCO
through its implicit API, cancels, queries, fills; balances to the last decimal), and its
streams: trades, order book, candles, ticker, and orders/balance over the WebSocket API."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import ccxt.pro  # type: ignore[import-untyped]
import pytest

from tests.integration.venues.sim_rest_support import Account
from tests.integration.venues.third_party.order_flow import (
    WOULD_TRIGGER_OR_MATCH,
    Json,
    run_session,
)
from tests.integration.venues.third_party.venue_support import (
    WAIT_S,
    Traders,
    Venue,
    text,
    venue_balances,
)
from tradewind.venues.ccxt_venue import rehosted_urls

D = Decimal
_CODE = re.compile(r'"code":\s*(-?\d+)')


def rehosted(venue: Venue, account: Account) -> Any:
    """A default `ccxt.pro.binance` with every REST and WebSocket URL on the venue."""
    exchange = ccxt.pro.binance({"apiKey": account.api_key, "secret": account.secret})
    exchange.urls["api"] = rehosted_urls(exchange.urls["api"], venue.url, venue.ws_url)
    return exchange


@pytest.fixture
async def exchange(venue: Venue) -> AsyncIterator[tuple[Any, Account]]:
    account = venue.open_account(venue.funding())
    client = rehosted(venue, account)
    try:
        await client.load_markets()
        yield client, account
    finally:
        await client.close()


class CcxtCalls:
    """`order_flow.SpotCalls` through ccxt's unified methods (the raw Binance answers are
    their `info`); the OCO through ccxt's implicit API."""

    def __init__(self, exchange: Any, venue: Venue) -> None:
        self.exchange = exchange
        self.unified = f"{venue.market.base}/{venue.market.quote}"

    def error_code(self, error: Exception) -> int | None:
        if isinstance(error, ccxt.OrderImmediatelyFillable):
            # ccxt maps -2010's "Order would trigger immediately." and "Order would
            # immediately match and take." by their message, and drops the code
            return WOULD_TRIGGER_OR_MATCH
        found = _CODE.search(str(error))
        return int(found[1]) if isinstance(error, ccxt.BaseError) and found else None

    async def place(self, params: dict[str, str]) -> Json:
        rest = {k: v for k, v in params.items() if k not in ("symbol", "side", "type")}
        kind, side = params["type"], params["side"].lower()
        amount = rest.pop("quantity", None)
        price = rest.pop("price", None)
        if kind == "LIMIT_MAKER":
            kind, rest["postOnly"] = "limit", True
        elif kind in ("LIMIT", "MARKET"):
            kind = kind.lower()
        order = await self.exchange.create_order(self.unified, kind, side, amount, price, rest)
        return order["info"]  # type: ignore[no-any-return]

    async def place_oco(self, params: dict[str, str]) -> Json:
        return await self.exchange.private_post_orderlist_oco(params)  # type: ignore[no-any-return]

    async def order(self, symbol: str, order_id: int) -> Json:
        order = await self.exchange.fetch_order(str(order_id), self.unified)
        return order["info"]  # type: ignore[no-any-return]

    async def cancel(self, symbol: str, order_id: int) -> Json:
        order = await self.exchange.cancel_order(str(order_id), self.unified)
        return order["info"]  # type: ignore[no-any-return]

    async def open_orders(self, symbol: str) -> list[Json]:
        return [o["info"] for o in await self.exchange.fetch_open_orders(self.unified)]

    async def open_order_lists(self) -> list[Json]:
        return await self.exchange.private_get_openorderlist()  # type: ignore[no-any-return]

    async def cancel_all(self, symbol: str) -> list[Json]:
        return [o["info"] for o in await self.exchange.cancel_all_orders(self.unified)]

    async def my_trades(self, symbol: str) -> list[Json]:
        return [t["info"] for t in await self.exchange.fetch_my_trades(self.unified)]

    async def account(self) -> Json:
        return (await self.exchange.fetch_balance())["info"]  # type: ignore[no-any-return]

    async def commission(self, symbol: str) -> Json:
        return await self.exchange.private_get_account_commission({"symbol": symbol})  # type: ignore[no-any-return]


async def test_ccxt_market_data(venue: Venue, exchange: tuple[Any, Account]) -> None:
    client, _ = exchange
    unified = f"{venue.market.base}/{venue.market.quote}"
    market = client.market(unified)
    assert market["spot"] and market["active"]
    assert {"STOP_LOSS_LIMIT", "TAKE_PROFIT_LIMIT"} <= set(market["info"]["orderTypes"])
    ticker = await client.fetch_ticker(unified)
    assert ticker["bid"] < ticker["ask"] and ticker["last"] > 0
    book = await client.fetch_order_book(unified, 10)
    assert book["bids"][0][0] < book["asks"][0][0] and book["nonce"] > 0
    trades = await client.fetch_trades(unified, limit=10)
    assert trades and all(t["symbol"] == unified for t in trades)
    candles = await client.fetch_ohlcv(unified, "1m", limit=10)
    assert candles and all(c[3] <= c[1] <= c[2] for c in candles)
    tickers = await client.fetch_tickers([unified])
    assert unified in tickers
    assert abs(await client.fetch_time() - client.milliseconds()) < 5_000


async def test_ccxt_trading_session(
    venue: Venue, traders: Traders, exchange: tuple[Any, Account]
) -> None:
    client, account = exchange
    await run_session(CcxtCalls(client, venue), venue, traders, account)


async def test_ccxt_streams(venue: Venue, exchange: tuple[Any, Account]) -> None:
    client, _ = exchange
    unified = f"{venue.market.base}/{venue.market.quote}"
    async with asyncio.timeout(3 * WAIT_S):
        book = await client.watch_order_book(unified)
        assert book["bids"][0][0] < book["asks"][0][0]
        trades = await client.watch_trades(unified)
        assert trades and trades[-1]["symbol"] == unified
        candles = await client.watch_ohlcv(unified, "1m")
        assert candles and len(candles[-1]) == 6
        ticker = await client.watch_ticker(unified)
        assert ticker["symbol"] == unified and ticker["last"] > 0


async def test_ccxt_user_data_over_the_websocket_api(
    venue: Venue, exchange: tuple[Any, Account]
) -> None:
    client, account = exchange
    market = venue.market
    unified = f"{market.base}/{market.quote}"
    _, ask = venue.top()
    quantity = market.order_quantity(ask)
    async with asyncio.timeout(3 * WAIT_S):
        # ccxt's own subscription (userDataStream.subscribe.signature), confirmed
        await client.ensure_user_data_stream_ws_subscribe_signature("spot")
        watching = asyncio.ensure_future(client.watch_orders(unified))
        balance_watch = asyncio.ensure_future(client.watch_balance())
        bought = await client.create_order(unified, "market", "buy", text(quantity))
        while True:
            orders = await watching
            if any(o["id"] == bought["id"] and o["status"] == "closed" for o in orders):
                break
            watching = asyncio.ensure_future(client.watch_orders(unified))
        balance = await balance_watch
    held = venue_balances(venue.url, account.account_id)
    assert D(str(balance[market.base]["free"])) == held[market.base][0].quantize(D("1e-8"))
