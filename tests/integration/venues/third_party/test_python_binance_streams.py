"""python-binance 1.0.37's `BinanceSocketManager` and `DepthCacheManager` on the venue's
market streams, and its user socket (the WebSocket API's `userDataStream.subscribe
.signature`, which python-binance uses for spot), in both market modes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

import pytest
from binance.async_client import AsyncClient
from binance.ws.depthcache import DepthCacheManager
from binance.ws.streams import BinanceSocketManager

from tests.integration.venues.sim_rest_support import Account
from tests.integration.venues.third_party.python_binance_support import (
    async_client,
    socket_manager,
)
from tests.integration.venues.third_party.venue_support import (
    WAIT_S,
    Venue,
    text,
    venue_balances,
    venue_trade_ids,
)

D = Decimal


@dataclass
class Connected:
    client: AsyncClient
    sockets: BinanceSocketManager
    account: Account


@pytest.fixture
async def connected(venue: Venue) -> AsyncIterator[Connected]:
    account = venue.open_account(venue.funding())
    client = await async_client(venue, account.api_key, account.secret)
    try:
        yield Connected(client, socket_manager(venue)(client), account)
    finally:
        await client.close_connection()


async def receive(socket: Any, wanted: Callable[[Any], bool]) -> Any:
    """The first message `wanted` accepts (python-binance reports a socket failure as
    an `{"e": "error"}` message: that fails the test)."""
    async with asyncio.timeout(WAIT_S):
        while True:
            message = await socket.recv()
            assert not (isinstance(message, dict) and message.get("e") == "error"), message
            if wanted(message):
                return message


async def buy_now(connected: Connected, venue: Venue) -> dict[str, Any]:
    _, ask = venue.top()
    return await connected.client.order_market_buy(  # type: ignore[no-any-return]
        symbol=venue.market.symbol,
        quantity=text(venue.market.order_quantity(ask)),
        newOrderRespType="FULL",
    )


async def test_trade_socket_carries_our_trade(venue: Venue, connected: Connected) -> None:
    async with connected.sockets.trade_socket(venue.market.symbol) as socket:
        bought = await buy_now(connected, venue)
        fill = bought["fills"][0]
        event = await receive(socket, lambda m: m["t"] == fill["tradeId"])
    assert event["e"] == "trade" and event["s"] == venue.market.symbol
    assert D(event["p"]) == D(fill["price"]) and D(event["q"]) == D(fill["qty"])
    assert event["m"] is False  # the buyer took


async def test_aggtrade_socket(venue: Venue, connected: Connected) -> None:
    async with connected.sockets.aggtrade_socket(venue.market.symbol) as socket:
        bought = await buy_now(connected, venue)
        first = bought["fills"][0]["tradeId"]
        event = await receive(socket, lambda m: m["f"] <= first <= m["l"])
    assert event["e"] == "aggTrade" and event["s"] == venue.market.symbol


@pytest.mark.parametrize("interval", ["1s", "1m", "1h", "1d", "1w", "1M"])
async def test_kline_socket(venue: Venue, connected: Connected, interval: str) -> None:
    async with connected.sockets.kline_socket(venue.market.symbol, interval) as socket:
        await buy_now(connected, venue)
        event = await receive(socket, lambda m: m["e"] == "kline")
    kline = event["k"]
    assert kline["s"] == venue.market.symbol and kline["i"] == interval
    assert kline["t"] <= event["E"] and kline["n"] >= 1, event
    assert kline["x"] or event["E"] <= kline["T"], event  # open: its period is now
    assert D(kline["l"]) <= min(D(kline["o"]), D(kline["c"])) <= D(kline["h"])


async def test_partial_depth_socket(venue: Venue, connected: Connected) -> None:
    async with connected.sockets.depth_socket(venue.market.symbol, depth="5") as socket:
        event = await receive(socket, lambda m: "lastUpdateId" in m)
    assert len(event["bids"]) == len(event["asks"]) == 5
    assert D(event["bids"][0][0]) < D(event["asks"][0][0])


@pytest.mark.parametrize("interval", [None, 100])
async def test_diff_depth_socket(venue: Venue, connected: Connected, interval: int | None) -> None:
    symbol = venue.market.symbol
    async with connected.sockets.depth_socket(symbol, interval=interval) as socket:
        first = await receive(socket, lambda m: m.get("e") == "depthUpdate")
        second = await receive(socket, lambda m: m.get("e") == "depthUpdate")
    assert first["s"] == second["s"] == symbol
    assert second["U"] == first["u"] + 1  # consecutive diffs, no gap


async def test_depth_cache_manager_matches_the_book(venue: Venue, connected: Connected) -> None:
    """The cache python-binance keeps from a REST snapshot and 100 ms diffs equals the
    venue's book at the same update id."""
    symbol = venue.market.symbol
    manager = DepthCacheManager(
        connected.client, symbol, bm=connected.sockets, limit=1000, ws_interval=100
    )
    async with manager as cache_socket, asyncio.timeout(3 * WAIT_S):
        while True:
            cache = await cache_socket.recv()
            assert cache is not None and not isinstance(cache, dict), cache
            book = await connected.client.get_order_book(symbol=symbol, limit=1000)
            while manager._last_update_id < book["lastUpdateId"]:
                cache = await cache_socket.recv()
            if manager._last_update_id == book["lastUpdateId"]:
                break
    bids = [[float(p), float(q)] for p, q in book["bids"]]
    asks = [[float(p), float(q)] for p, q in book["asks"]]
    assert cache.get_bids()[: len(bids)] == bids
    assert cache.get_asks()[: len(asks)] == asks


async def test_book_ticker_socket(venue: Venue, connected: Connected) -> None:
    async with connected.sockets.symbol_book_ticker_socket(venue.market.symbol) as socket:
        event = await receive(socket, lambda m: "b" in m)
    assert event["s"] == venue.market.symbol and D(event["b"]) < D(event["a"])


async def test_symbol_ticker_socket(venue: Venue, connected: Connected) -> None:
    async with connected.sockets.symbol_ticker_socket(venue.market.symbol) as socket:
        event = await receive(socket, lambda m: True)
    assert event["e"] == "24hrTicker" and event["s"] == venue.market.symbol
    assert D(event["l"]) <= D(event["c"]) <= D(event["h"])


async def test_symbol_miniticker_socket(venue: Venue, connected: Connected) -> None:
    async with connected.sockets.symbol_miniticker_socket(venue.market.symbol) as socket:
        event = await receive(socket, lambda m: True)
    assert event["e"] == "24hrMiniTicker" and event["s"] == venue.market.symbol


async def test_all_market_ticker_socket(venue: Venue, connected: Connected) -> None:
    async with connected.sockets.ticker_socket() as socket:
        event = await receive(socket, lambda m: isinstance(m, list))
    assert venue.market.symbol in {t["s"] for t in event}
    assert all(t["e"] == "24hrTicker" for t in event)


async def test_all_market_miniticker_socket(venue: Venue, connected: Connected) -> None:
    async with connected.sockets.miniticker_socket() as socket:  # !miniTicker@arr@1000ms
        event = await receive(socket, lambda m: isinstance(m, list))
    assert venue.market.symbol in {t["s"] for t in event}
    assert all(t["e"] == "24hrMiniTicker" for t in event)


async def test_multiplex_socket_with_avg_price(venue: Venue, connected: Connected) -> None:
    symbol = venue.market.symbol.lower()
    names = {f"{symbol}@trade", f"{symbol}@kline_1m", f"{symbol}@avgPrice"}
    seen: dict[str, Any] = {}
    async with connected.sockets.multiplex_socket(sorted(names)) as socket:
        await buy_now(connected, venue)
        async with asyncio.timeout(WAIT_S):
            while set(seen) != names:
                message = await receive(socket, lambda m: True)
                seen[message["stream"]] = message["data"]
    assert seen[f"{symbol}@avgPrice"]["e"] == "avgPrice"
    assert D(seen[f"{symbol}@avgPrice"]["w"]) > 0


async def test_user_socket_reports_orders_fills_and_balances(
    venue: Venue, connected: Connected
) -> None:
    market, client = venue.market, connected.client
    bid, _ = venue.top()
    quantity = market.order_quantity(bid)
    far = market.price(bid * D("0.6"))
    async with connected.sockets.user_socket() as socket:
        placed = await client.order_limit_buy(
            symbol=market.symbol, quantity=text(quantity), price=text(far)
        )
        new = await receive(socket, lambda m: m.get("e") == "executionReport")
        assert (new["i"], new["x"], new["X"]) == (placed["orderId"], "NEW", "NEW")
        assert D(new["p"]) == far and D(new["q"]) == quantity
        await client.cancel_order(symbol=market.symbol, orderId=placed["orderId"])
        canceled = await receive(
            socket, lambda m: m.get("e") == "executionReport" and m["x"] == "CANCELED"
        )
        assert canceled["i"] == placed["orderId"]
        bought = await buy_now(connected, venue)
        trade = await receive(
            socket, lambda m: m.get("e") == "executionReport" and m["x"] == "TRADE"
        )
        assert trade["i"] == bought["orderId"] and trade["t"] == bought["fills"][0]["tradeId"]
        position = await receive(socket, lambda m: m.get("e") == "outboundAccountPosition")
    held = venue_balances(venue.url, connected.account.account_id)
    shown = {b["a"]: (D(b["f"]), D(b["l"])) for b in position["B"]}
    for asset in (market.base, market.quote):
        free, locked = held[asset]
        assert shown[asset] == (free.quantize(D("1e-8"), ROUND_DOWN), locked), asset
    assert venue_trade_ids(venue.url, connected.account.account_id) == {
        int(f["tradeId"]) for f in bought["fills"]
    }
