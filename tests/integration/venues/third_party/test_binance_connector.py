"""The official `binance-connector` (3.13.0) against the venue in both market modes:
`binance.spot.Spot(base_url=...)` for market data and a whole trading session (balances
checked to the last decimal), `SpotWebsocketStreamClient(stream_url=...)` for market
streams and the listenKey user data stream, `SpotWebsocketAPIClient(stream_url=...)` for
the WebSocket API."""

from __future__ import annotations

import asyncio
import json
import queue
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from binance.error import ClientError
from binance.spot import Spot
from binance.websocket.spot.websocket_api import SpotWebsocketAPIClient
from binance.websocket.spot.websocket_stream import SpotWebsocketStreamClient

from tests.integration.venues.sim_rest_support import Account
from tests.integration.venues.third_party.order_flow import Json, run_session
from tests.integration.venues.third_party.venue_support import (
    WAIT_S,
    Traders,
    Venue,
    text,
)

D = Decimal


class ConnectorCalls:
    """`order_flow.SpotCalls` through the connector's `Spot` (in a thread)."""

    def __init__(self, spot: Spot) -> None:
        self.spot = spot

    async def _call(self, name: str, *args: Any, **params: Any) -> Any:
        return await asyncio.to_thread(getattr(self.spot, name), *args, **params)

    def error_code(self, error: Exception) -> int | None:
        return error.error_code if isinstance(error, ClientError) else None

    async def place(self, params: dict[str, str]) -> Json:
        rest = {k: v for k, v in params.items() if k not in ("symbol", "side", "type")}
        return await self._call(  # type: ignore[no-any-return]
            "new_order", params["symbol"], params["side"], params["type"], **rest
        )

    async def place_oco(self, params: dict[str, str]) -> Json:
        fixed = ("symbol", "side", "quantity", "aboveType", "belowType")
        rest = {k: v for k, v in params.items() if k not in fixed}
        return await self._call("new_oco_order", *(params[k] for k in fixed), **rest)  # type: ignore[no-any-return]

    async def order(self, symbol: str, order_id: int) -> Json:
        return await self._call("get_order", symbol, orderId=order_id)  # type: ignore[no-any-return]

    async def cancel(self, symbol: str, order_id: int) -> Json:
        return await self._call("cancel_order", symbol, orderId=order_id)  # type: ignore[no-any-return]

    async def open_orders(self, symbol: str) -> list[Json]:
        return await self._call("get_open_orders", symbol)  # type: ignore[no-any-return]

    async def open_order_lists(self) -> list[Json]:
        return await self._call("get_oco_open_orders")  # type: ignore[no-any-return]

    async def cancel_all(self, symbol: str) -> list[Json]:
        return await self._call("cancel_open_orders", symbol)  # type: ignore[no-any-return]

    async def my_trades(self, symbol: str) -> list[Json]:
        return await self._call("my_trades", symbol)  # type: ignore[no-any-return]

    async def account(self) -> Json:
        return await self._call("account")  # type: ignore[no-any-return]

    async def commission(self, symbol: str) -> Json:
        return await self._call("query_commission_rates", symbol)  # type: ignore[no-any-return]


MAX_MESSAGES = 2_000  # a few minutes of every stream these tests open


class Inbox:
    """What a connector websocket client's thread hands to `on_message`, for the test to
    take with bounded waits."""

    def __init__(self) -> None:
        self.messages: queue.Queue[Any] = queue.Queue()

    def on_message(self, _: object, message: str) -> None:
        self.messages.put(json.loads(message))

    def take(self, wanted: Callable[[Any], bool]) -> Any:
        """The first wanted message among the next `MAX_MESSAGES`, each awaited at most
        `WAIT_S`."""
        for _ in range(MAX_MESSAGES):
            try:
                message = self.messages.get(timeout=WAIT_S)
            except queue.Empty:
                raise AssertionError(f"no message within {WAIT_S:g} s") from None
            if wanted(message):
                return message
        raise AssertionError(f"no wanted message among the next {MAX_MESSAGES}")


@pytest.fixture
def account(venue: Venue) -> Account:
    return venue.open_account(venue.funding())


@pytest.fixture
def spot(venue: Venue, account: Account) -> Spot:
    return Spot(api_key=account.api_key, api_secret=account.secret, base_url=venue.url)


@pytest.fixture
def streams(venue: Venue) -> Iterator[tuple[SpotWebsocketStreamClient, Inbox]]:
    inbox = Inbox()
    client = SpotWebsocketStreamClient(stream_url=venue.ws_url, on_message=inbox.on_message)
    try:
        yield client, inbox
    finally:
        client.stop()


@pytest.fixture
def ws_api(venue: Venue, account: Account) -> Iterator[tuple[SpotWebsocketAPIClient, Inbox]]:
    inbox = Inbox()
    client = SpotWebsocketAPIClient(
        stream_url=f"{venue.ws_url}/ws-api/v3",
        api_key=account.api_key,
        api_secret=account.secret,
        on_message=inbox.on_message,
    )
    try:
        yield client, inbox
    finally:
        client.stop()


def buy_now(spot: Spot, venue: Venue) -> Json:
    _, ask = venue.top()
    quantity = text(venue.market.order_quantity(ask))
    return spot.new_order(  # type: ignore[no-any-return]
        venue.market.symbol, "BUY", "MARKET", quantity=quantity, newOrderRespType="FULL"
    )


# -- REST --------------------------------------------------------------------------------


def test_spot_market_data(venue: Venue, spot: Spot) -> None:
    symbol = venue.market.symbol
    assert spot.ping() == {}
    first, then = spot.time()["serverTime"], spot.time()["serverTime"]
    assert isinstance(first, int) and first <= then  # the venue's clock, in ms
    (info,) = spot.exchange_info(symbol=symbol)["symbols"]
    assert info["symbol"] == symbol and info["ocoAllowed"] is True
    assert {"STOP_LOSS", "STOP_LOSS_LIMIT", "TAKE_PROFIT", "TAKE_PROFIT_LIMIT"} <= set(
        info["orderTypes"]
    )
    book = spot.depth(symbol, limit=5)
    assert len(book["bids"]) == len(book["asks"]) == 5
    assert D(book["bids"][0][0]) < D(book["asks"][0][0])
    trades = spot.trades(symbol, limit=10)
    assert len(trades) == 10
    old = spot.historical_trades(symbol, limit=3, fromId=trades[0]["id"])
    assert [t["id"] for t in old] == [t["id"] for t in trades[:3]]
    assert len(spot.agg_trades(symbol, limit=10)) == 10
    for interval in ("1m", "5m", "1d"):
        candles = spot.klines(symbol, interval, limit=20)
        assert candles and [c[0] for c in candles] == sorted({c[0] for c in candles})
        ui = {row[0]: row for row in spot.ui_klines(symbol, interval, limit=20)}
        closed = {row[0]: row for row in candles[:-1]}  # the last one may still change
        assert all(ui[t] == row for t, row in closed.items() if t in ui)
        assert len(set(closed) & set(ui)) >= len(closed) - 1
    assert spot.avg_price(symbol)["mins"] == 5
    assert spot.ticker_24hr(symbol)["symbol"] == symbol
    assert spot.trading_day_ticker(symbol)["symbol"] == symbol
    assert D(spot.ticker_price(symbol)["price"]) > 0
    top = spot.book_ticker(symbol)
    assert D(top["bidPrice"]) < D(top["askPrice"])
    assert spot.rolling_window_ticker(symbol, windowSize="1h")["symbol"] == symbol


async def test_spot_trading_session(
    venue: Venue, traders: Traders, spot: Spot, account: Account
) -> None:
    await run_session(ConnectorCalls(spot), venue, traders, account)


# -- market streams ----------------------------------------------------------------------

Subscribe = Callable[[SpotWebsocketStreamClient, str], None]
IsEvent = Callable[[Any], bool]
STREAMS: dict[str, tuple[Subscribe, IsEvent]] = {
    "trade": (lambda c, s: c.trade(s), lambda m: m.get("e") == "trade"),
    "aggTrade": (lambda c, s: c.agg_trade(s), lambda m: m.get("e") == "aggTrade"),
    "kline_1m": (lambda c, s: c.kline(s, "1m"), lambda m: m.get("e") == "kline"),
    "kline_1s": (lambda c, s: c.kline(s, "1s"), lambda m: m.get("e") == "kline"),
    "kline_1m@+08:00": (
        lambda c, s: c.kline_timezone_offset(s, "1m"), lambda m: m.get("e") == "kline",
    ),
    "depth@100ms": (
        lambda c, s: c.diff_book_depth(s, speed=100), lambda m: m.get("e") == "depthUpdate",
    ),
    "depth@1000ms": (lambda c, s: c.diff_book_depth(s), lambda m: m.get("e") == "depthUpdate"),
    "depth10@100ms": (
        lambda c, s: c.partial_book_depth(s, level=10, speed=100),
        lambda m: "lastUpdateId" in m,
    ),
    "bookTicker": (lambda c, s: c.book_ticker(s), lambda m: "b" in m and "u" in m),
    "ticker": (lambda c, s: c.ticker(s), lambda m: m.get("e") == "24hrTicker"),
    "miniTicker": (lambda c, s: c.mini_ticker(s), lambda m: m.get("e") == "24hrMiniTicker"),
    "!ticker@arr": (lambda c, s: c.ticker(), lambda m: isinstance(m, list)),
    "!miniTicker@arr": (lambda c, s: c.mini_ticker(), lambda m: isinstance(m, list)),
    "ticker_1h": (
        lambda c, s: c.rolling_window_ticker(s, "1h"), lambda m: m.get("e") == "1hTicker",
    ),
    "!ticker_4h@arr": (
        lambda c, s: c.rolling_window_ticker_all_symbols("4h"), lambda m: isinstance(m, list),
    ),
}  # fmt: skip


@pytest.mark.parametrize("stream", list(STREAMS))
def test_stream_client_subscribes(
    venue: Venue,
    spot: Spot,
    streams: tuple[SpotWebsocketStreamClient, Inbox],
    stream: str,
) -> None:
    client, inbox = streams
    subscribe, is_event = STREAMS[stream]
    subscribe(client, venue.market.symbol)
    reply = inbox.take(lambda m: isinstance(m, dict) and ("result" in m or "error" in m))
    assert reply.get("error") is None and reply["result"] is None, reply
    buy_now(spot, venue)
    event = inbox.take(is_event)
    if isinstance(event, list):
        assert venue.market.symbol in {e["s"] for e in event}
    elif "s" in event:
        assert event["s"] == venue.market.symbol


def test_stream_client_user_data_by_listen_key(
    venue: Venue, spot: Spot, streams: tuple[SpotWebsocketStreamClient, Inbox]
) -> None:
    client, inbox = streams
    key = spot.new_listen_key()["listenKey"]
    client.user_data(key)
    inbox.take(lambda m: isinstance(m, dict) and "result" in m)
    bought = buy_now(spot, venue)
    report = inbox.take(lambda m: m.get("e") == "executionReport" and m["x"] == "TRADE")
    assert report["i"] == bought["orderId"] and report["X"] == "FILLED"
    assert report["t"] == bought["fills"][0]["tradeId"]
    position = inbox.take(lambda m: m.get("e") == "outboundAccountPosition")
    assets = {b["a"] for b in position["B"]}
    assert {venue.market.base, venue.market.quote} <= assets
    assert spot.renew_listen_key(key) == {}
    assert spot.close_listen_key(key) == {}


# -- WebSocket API -----------------------------------------------------------------------


def _reply(inbox: Inbox, request_id: str) -> Json:
    reply: Json = inbox.take(lambda m: isinstance(m, dict) and m.get("id") == request_id)
    assert reply["status"] == 200, reply
    return reply["result"]  # type: ignore[no-any-return]


def _id() -> str:
    return str(uuid.uuid4())


def test_ws_api_client_connectivity(
    venue: Venue, ws_api: tuple[SpotWebsocketAPIClient, Inbox]
) -> None:
    client, inbox = ws_api
    client.ping_connectivity(id=(ping := _id()))
    assert _reply(inbox, ping) == {}
    client.server_time(id=(clock := _id()))
    told = _reply(inbox, clock)["serverTime"]
    rest = httpx.get(f"{venue.url}/api/v3/time").json()["serverTime"]
    assert isinstance(told, int) and told <= rest  # the same clock REST tells


def test_ws_api_client_market_data(
    venue: Venue, ws_api: tuple[SpotWebsocketAPIClient, Inbox]
) -> None:
    client, inbox = ws_api
    symbol = venue.market.symbol
    client.order_book(symbol=symbol, limit=5, id=(book := _id()))
    assert len(_reply(inbox, book)["bids"]) == 5
    client.klines(symbol=symbol, interval="1m", limit=5, id=(candles := _id()))
    assert _reply(inbox, candles)
    client.ticker_price(symbol=symbol, id=(price := _id()))
    assert D(_reply(inbox, price)["price"]) > 0


def test_ws_api_client_trading(venue: Venue, ws_api: tuple[SpotWebsocketAPIClient, Inbox]) -> None:
    client, inbox = ws_api
    market = venue.market
    bid, ask = venue.top()
    quantity = text(market.order_quantity(ask))
    far = text(market.price(bid * D("0.6")))
    client.new_order(
        symbol=market.symbol, side="BUY", type="LIMIT", timeInForce="GTC",
        quantity=quantity, price=far, id=(placing := _id()),
    )  # fmt: skip
    placed = _reply(inbox, placing)
    assert placed["status"] == "NEW"
    client.get_order(symbol=market.symbol, orderId=placed["orderId"], id=(query := _id()))
    assert _reply(inbox, query)["status"] == "NEW"
    client.get_open_orders(symbol=market.symbol, id=(listing := _id()))
    assert [o["orderId"] for o in _reply(inbox, listing)] == [placed["orderId"]]
    client.cancel_order(symbol=market.symbol, orderId=placed["orderId"], id=(cancel := _id()))
    assert _reply(inbox, cancel)["status"] == "CANCELED"
    client.new_order(
        symbol=market.symbol, side="BUY", type="MARKET", quantity=quantity,
        id=(buying := _id()),
    )  # fmt: skip
    bought = _reply(inbox, buying)
    assert bought["status"] == "FILLED"
    client.my_trades(symbol=market.symbol, id=(mine := _id()))
    assert {t["orderId"] for t in _reply(inbox, mine)} == {bought["orderId"]}
    client.account(id=(holding := _id()))
    assert {b["asset"] for b in _reply(inbox, holding)["balances"]} >= {market.base}


def test_ws_api_client_user_data_start(
    venue: Venue,
    spot: Spot,
    streams: tuple[SpotWebsocketStreamClient, Inbox],
    ws_api: tuple[SpotWebsocketAPIClient, Inbox],
) -> None:
    """A listen key from the WebSocket API's userDataStream.start carries the account's
    events on the market stream connection, like one from REST."""
    client, inbox = ws_api
    client.user_data_start(id=(start := _id()))
    key = _reply(inbox, start)["listenKey"]
    stream_client, events = streams
    stream_client.user_data(key)
    events.take(lambda m: isinstance(m, dict) and "result" in m)
    bought = buy_now(spot, venue)
    report = events.take(lambda m: m.get("e") == "executionReport" and m["x"] == "TRADE")
    assert report["i"] == bought["orderId"]
    client.user_data_ping(key, id=(ping := _id()))
    assert _reply(inbox, ping) == {}
    client.user_data_stop(key, id=(stop := _id()))
    assert _reply(inbox, stop) == {}


def test_ws_api_client_oco(venue: Venue, ws_api: tuple[SpotWebsocketAPIClient, Inbox]) -> None:
    client, inbox = ws_api
    market = venue.market
    bid, ask = venue.top()
    quantity = text(market.order_quantity(ask))
    low, high = text(market.price(bid * D("0.6"))), text(market.price(ask * D("1.6")))
    client.new_oco_order(
        symbol=market.symbol, side="SELL", quantity=quantity,
        aboveType="LIMIT_MAKER", abovePrice=high,
        belowType="STOP_LOSS_LIMIT", belowStopPrice=low, belowPrice=low,
        belowTimeInForce="GTC", id=(placing := _id()),
    )  # fmt: skip
    placed = _reply(inbox, placing)
    assert placed["listOrderStatus"] == "EXECUTING"
    client.get_open_oco_orders(id=(listing := _id()))
    assert [x["orderListId"] for x in _reply(inbox, listing)] == [placed["orderListId"]]
    client.cancel_oco_order(
        symbol=market.symbol, orderListId=placed["orderListId"], id=(cancel := _id())
    )
    assert _reply(inbox, cancel)["listOrderStatus"] == "ALL_DONE"
