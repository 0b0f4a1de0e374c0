"""The simulated exchange's Binance-compatible WebSocket streams, against a real uvicorn
server on a loopback port, with the `websockets` client.

The server runs in the test's event loop (a minimal Starlette app of `stream_routes`),
so tests act on the exchange directly while clients listen; a background task steps
the market every 50 ms unless a test pauses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import json
import socket
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pytest
import uvicorn
import websockets
from starlette.applications import Starlette
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.integration.venues.sim_stream_support import call, ccxt_binance, receive, receive_until
from tradewind.domain.model import OrderType, Side
from tradewind.venues.simulated.exchange import ApiCredentials, SimulatedExchange
from tradewind.venues.simulated.market import SyntheticMarket, SyntheticSpec
from tradewind.venues.simulated.server.state import ServerState
from tradewind.venues.simulated.server.stream_hub import BinanceStreamHub
from tradewind.venues.simulated.server.streams import stream_routes

BTC = "BTC/USDT"
STEP_S = 0.05
WAIT_S = 5.0
# every executionReport key is one letter; "W" (working time) only for orders that rest
EXECUTION_REPORT_FIELDS = frozenset("eEscSofqpPFgCxXrilzLnNTtIwmMOZYQV")


@dataclass
class Venue:
    state: ServerState
    hub: BinanceStreamHub
    url: str  # ws://127.0.0.1:PORT
    stepping: asyncio.Event  # cleared = the market stands still

    @property
    def exchange(self) -> SimulatedExchange:
        return self.state.exchange

    def connect(self, path: str, **kwargs: Any) -> websockets.connect:
        return websockets.connect(self.url + path, proxy=None, open_timeout=WAIT_S, **kwargs)

    def account(self) -> ApiCredentials:
        return self.exchange.create_account({"USDT": Decimal(1_000_000), "BTC": Decimal(10)})


async def _step_market(exchange: SimulatedExchange, stepping: asyncio.Event) -> None:
    while True:
        await stepping.wait()
        exchange.step()
        await asyncio.sleep(STEP_S)


async def _serve(queue_size: int, send_buffer: int | None = None) -> AsyncIterator[Venue]:
    """A venue on a free port; `send_buffer` (bytes) caps the kernel buffer of each
    accepted socket (Linux copies it from the listening one), so a client that stops
    reading backs up into the hub's queue quickly."""
    now_ms = time.time_ns() // 1_000_000
    prices = SyntheticMarket(
        {BTC: SyntheticSpec(Decimal(30_000)), "ETH/USDT": SyntheticSpec(Decimal(2_000))},
        start_ms=now_ms,
    )
    state = ServerState(SimulatedExchange(prices))
    hub = BinanceStreamHub(state.exchange, state.faults, state.listen_keys, queue_size=queue_size)
    state.exchange.add_listener(hub)
    state.exchange.step()  # the liquidity provider quotes
    sock = socket.create_server(("127.0.0.1", 0))
    if send_buffer is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, send_buffer)
    config = uvicorn.Config(
        Starlette(routes=stream_routes(state, hub)),
        lifespan="off",
        log_level="warning",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    stepping = asyncio.Event()
    stepping.set()
    stepper = asyncio.create_task(_step_market(state.exchange, stepping))
    while not server.started:  # noqa: ASYNC110 (uvicorn.Server has no "started" event)
        await asyncio.sleep(0.01)
    try:
        yield Venue(state, hub, f"ws://127.0.0.1:{sock.getsockname()[1]}", stepping)
    finally:
        stepper.cancel()
        server.should_exit = True
        await serving
        sock.close()


@pytest.fixture
async def venue() -> AsyncIterator[Venue]:
    async for served in _serve(queue_size=2000):
        yield served


@pytest.fixture
async def small_queue_venue() -> AsyncIterator[Venue]:
    async for served in _serve(queue_size=64, send_buffer=4096):
        yield served


def buy_market(
    exchange: SimulatedExchange, account: ApiCredentials, quantity: str = "0.01"
) -> None:
    exchange.submit_order(
        account.account_id, BTC, Side.BUY, OrderType.MARKET, quantity=Decimal(quantity)
    )


def signed(params: dict[str, Any], secret: str) -> dict[str, Any]:
    """`params` with Binance's WebSocket API signature, as ccxt's `sign_params` makes it."""
    payload = "&".join(f"{k}={v}" for k, v in sorted(params.items()))
    signature = hmac.new(secret.encode(), payload.encode(), hashlib.sha256).hexdigest()
    return {**params, "signature": signature}


# -- market streams ---------------------------------------------------------------------


async def test_trades_arrive_on_the_trade_stream_as_they_print(venue: Venue) -> None:
    async with venue.connect("/ws/btcusdt@trade") as client:
        buy_market(venue.exchange, venue.account())
        event = await receive(client)
    last = venue.exchange.history.recent_trades(BTC, 1000)
    printed = {t.trade_id: t for t in last}
    assert event["e"] == "trade" and event["s"] == "BTCUSDT"
    trade = printed[event["t"]]
    assert Decimal(event["p"]) == trade.price and Decimal(event["q"]) == trade.quantity
    assert event["T"] == trade.time_ms and event["m"] is trade.is_buyer_maker


async def test_depth_diffs_applied_to_a_snapshot_reproduce_the_book(venue: Venue) -> None:
    engine = venue.exchange.engine
    async with venue.connect("/ws/btcusdt@depth@100ms") as client:
        snapshot = engine.depth(BTC, 100_000)
        book = {
            "b": {level.price: level.quantity for level in snapshot.bids},
            "a": {level.price: level.quantity for level in snapshot.asks},
        }
        previous_u, applied = None, 0
        async with asyncio.timeout(10):
            while previous_u is None or previous_u != engine.update_id(BTC) or applied < 5:
                event = await receive(client)
                assert event["e"] == "depthUpdate" and event["s"] == "BTCUSDT"
                if event["u"] <= snapshot.last_update_id:
                    continue
                if previous_u is None:
                    assert event["U"] <= snapshot.last_update_id + 1 <= event["u"]
                else:
                    assert event["U"] == previous_u + 1
                for side in ("b", "a"):
                    for price, quantity in event[side]:
                        if Decimal(quantity) == 0:
                            book[side].pop(Decimal(price), None)
                        else:
                            book[side][Decimal(price)] = Decimal(quantity)
                previous_u, applied = event["u"], applied + 1
                if applied >= 5:
                    venue.stepping.clear()  # let the stream catch up with a still book
    final = engine.depth(BTC, 100_000)
    assert book["b"] == {level.price: level.quantity for level in final.bids}
    assert book["a"] == {level.price: level.quantity for level in final.asks}


async def test_combined_streams_wrap_each_event_with_its_stream_name(venue: Venue) -> None:
    names = {
        "btcusdt@trade",
        "btcusdt@aggTrade",
        "btcusdt@bookTicker",
        "btcusdt@depth5@100ms",
        "btcusdt@depth",  # 1000 ms diffs
        "btcusdt@kline_1m",
        "btcusdt@kline_1h",
    }
    async with venue.connect("/stream?streams=" + "/".join(sorted(names))) as client:
        buy_market(venue.exchange, venue.account())
        seen: dict[str, Any] = {}
        async with asyncio.timeout(WAIT_S):
            while set(seen) != names:
                message = await receive(client)
                assert set(message) == {"stream", "data"}
                seen[message["stream"]] = message["data"]
    assert seen["btcusdt@trade"]["e"] == "trade"
    agg = seen["btcusdt@aggTrade"]
    assert agg["e"] == "aggTrade" and agg["a"] == agg["f"] == agg["l"]
    assert seen["btcusdt@depth"]["e"] == "depthUpdate"
    ticker = seen["btcusdt@bookTicker"]
    assert ticker["s"] == "BTCUSDT" and Decimal(ticker["b"]) < Decimal(ticker["a"])
    top = seen["btcusdt@depth5@100ms"]
    assert len(top["bids"]) == len(top["asks"]) == 5 and top["lastUpdateId"] > 0
    for interval in ("1m", "1h"):
        kline = seen[f"btcusdt@kline_{interval}"]
        assert kline["e"] == "kline" and kline["k"]["i"] == interval and kline["k"]["n"] >= 1
        assert kline["k"]["x"] is False and kline["k"]["t"] <= kline["E"] <= kline["k"]["T"]


async def test_live_subscribe_unsubscribe_and_list_subscriptions(venue: Venue) -> None:
    async with venue.connect("/ws/0") as client:  # ccxt's connection path
        reply = await call(
            client,
            {"method": "SUBSCRIBE", "params": ["btcusdt@trade", "ethusdt@depth@100ms"], "id": 1},
        )
        assert reply == {"result": None, "id": 1}
        reply = await call(client, {"method": "LIST_SUBSCRIPTIONS", "id": 2})
        assert reply["id"] == 2
        assert sorted(reply["result"]) == ["btcusdt@trade", "ethusdt@depth@100ms"]
        reply = await call(
            client, {"method": "UNSUBSCRIBE", "params": ["ethusdt@depth@100ms"], "id": 3}
        )
        assert reply == {"result": None, "id": 3}
        reply = await call(client, {"method": "LIST_SUBSCRIPTIONS", "id": 4})
        assert reply == {"result": ["btcusdt@trade"], "id": 4}

        buy_market(venue.exchange, venue.account())
        event = await receive_until(client, lambda m: m.get("e") is not None)
        assert event["e"] == "trade"

        reply = await call(
            client, {"method": "SET_PROPERTY", "params": ["combined", True], "id": 5}
        )
        assert reply == {"result": None, "id": 5}
        assert await call(client, {"method": "GET_PROPERTY", "params": ["combined"], "id": 6}) == {
            "result": True,
            "id": 6,
        }
        buy_market(venue.exchange, venue.account())
        wrapped = await receive_until(client, lambda m: "stream" in m)
        assert wrapped["stream"] == "btcusdt@trade" and wrapped["data"]["e"] == "trade"

        reply = await call(client, {"method": "SUBSCRIBE", "params": ["dogeusdt@trade"], "id": 7})
        assert reply["id"] == 7 and reply["error"]["code"] == 2
        assert "DOGEUSDT is not listed" in reply["error"]["msg"]
        await client.send("{not json")
        reply = await receive_until(client, lambda m: "error" in m)
        assert reply["error"]["code"] == 3


async def test_client_ping_is_answered_with_a_pong(venue: Venue) -> None:
    async with venue.connect("/ws/btcusdt@trade") as client:
        pong = await client.ping()
        await asyncio.wait_for(pong, WAIT_S)


async def test_unknown_stream_or_listen_key_is_refused_at_the_handshake(venue: Venue) -> None:
    for path, code in (("/ws/" + "x" * 64, -1125), ("/ws/btcusdt@nonsense", 2)):
        with pytest.raises(InvalidStatus) as refused:
            async with venue.connect(path):
                pass
        assert refused.value.response.status_code == 400
        assert json.loads(refused.value.response.body or b"{}")["code"] == code


# -- user data ----------------------------------------------------------------------------


async def test_listen_key_stream_reports_executions_and_balances(venue: Venue) -> None:
    account = venue.account()
    key = venue.state.listen_keys.create(account.account_id)
    async with venue.connect(f"/ws/{key}") as client:
        buy_market(venue.exchange, account, "0.02")
        reports: list[dict[str, Any]] = []
        async with asyncio.timeout(WAIT_S):
            while not reports or reports[-1]["X"] != "FILLED":
                event = await receive(client)
                if event["e"] == "executionReport":
                    reports.append(event)
        position = await receive_until(client, lambda m: m["e"] == "outboundAccountPosition")

    assert [r["x"] for r in reports] == ["NEW"] + ["TRADE"] * (len(reports) - 1)
    assert len(reports) >= 2
    for report in reports:
        assert set(report) == EXECUTION_REPORT_FIELDS  # W only for orders that rest
        assert report["s"] == "BTCUSDT" and report["S"] == "BUY" and report["o"] == "MARKET"
    new, fill = reports[0], reports[-1]
    assert new["X"] == "NEW" and new["t"] == -1 and new["z"] == "0.00000000"
    assert Decimal(fill["z"]) == Decimal("0.02") and fill["N"] == "BTC"
    assert Decimal(fill["n"]) > 0 and fill["m"] is False and fill["i"] == new["i"]
    assert sum(Decimal(r["l"]) for r in reports) == Decimal("0.02")

    engine = venue.exchange.engine
    balances = {b["a"]: b for b in position["B"]}
    assert set(balances) == {"BTC", "USDT"}
    for asset, balance in balances.items():
        held = engine.balance(account.account_id, asset)
        assert (Decimal(balance["f"]), Decimal(balance["l"])) == (held.free, held.locked)


async def test_resting_limit_order_report_is_working(venue: Venue) -> None:
    account = venue.account()
    key = venue.state.listen_keys.create(account.account_id)
    async with venue.connect(f"/stream?streams={key}") as client:
        venue.exchange.submit_order(
            account.account_id, BTC, Side.BUY, OrderType.LIMIT,
            quantity=Decimal("0.01"), price=Decimal(20_000), client_order_id="rest-1",
        )  # fmt: skip
        message = await receive_until(client, lambda m: m["data"]["e"] == "executionReport")
        venue.exchange.cancel_order(account.account_id, BTC, client_order_id="rest-1")
        canceled = await receive_until(
            client, lambda m: m["data"]["e"] == "executionReport" and m["data"]["x"] == "CANCELED"
        )
    assert message["stream"] == key
    report = message["data"]
    assert report["w"] is True and report["W"] == report["O"] and report["c"] == "rest-1"
    assert canceled["data"]["X"] == "CANCELED" and canceled["data"]["C"] == "rest-1"


async def test_closed_listen_key_ends_its_stream_with_listen_key_expired(venue: Venue) -> None:
    account = venue.account()
    key = venue.state.listen_keys.create(account.account_id)
    async with venue.connect(f"/ws/{key}") as client:
        venue.state.listen_keys.close(key, account.account_id)
        expired = await receive(client)
        assert expired["e"] == "listenKeyExpired" and expired["listenKey"] == key
        buy_market(venue.exchange, account)
        with pytest.raises(TimeoutError):  # no user events after that
            async with asyncio.timeout(0.3):
                await client.recv()


async def test_ws_api_signature_subscription_delivers_user_events(venue: Venue) -> None:
    account = venue.account()
    async with venue.connect("/ws-api/v3") as client:
        params = {
            "apiKey": account.api_key,
            "recvWindow": 10000,
            "timestamp": time.time_ns() // 10**6,
        }
        bad = await call(
            client,
            {"id": "0", "method": "userDataStream.subscribe.signature",
             "params": signed(params, "not-the-secret")},
        )  # fmt: skip
        assert bad["status"] == 400 and bad["error"]["code"] == -1022  # REST's status
        reply = await call(
            client,
            {"id": "1", "method": "userDataStream.subscribe.signature",
             "params": signed(params, account.secret)},
        )  # fmt: skip
        assert (reply["id"], reply["status"], reply["result"]) == ("1", 200, {"subscriptionId": 0})
        buy_market(venue.exchange, account)
        message = await receive_until(client, lambda m: "event" in m)
        assert message["subscriptionId"] == 0 and message["event"]["e"] == "executionReport"

        unsubscribed = await call(client, {"id": 2, "method": "userDataStream.unsubscribe"})
        assert unsubscribed["status"] == 200
        refused = await call(client, {"id": 3, "method": "userDataStream.subscribe"})
        assert refused["status"] == 401  # not logged on
        # An HMAC key cannot log on (Binance takes only Ed25519 keys there), so the
        # session-bound subscribe stays refused.
        logon = await call(
            client, {"id": 4, "method": "session.logon", "params": signed(params, account.secret)}
        )
        assert logon["status"] == 400 and logon["error"]["code"] == -1022
        reply = await call(client, {"id": 5, "method": "userDataStream.subscribe"})
        assert reply["status"] == 401


# -- faults and slow clients ------------------------------------------------------------


async def test_drop_fault_closes_every_connection_going_away(venue: Venue) -> None:
    async with (
        venue.connect("/ws/btcusdt@trade") as market,
        venue.connect("/ws-api/v3") as api,
    ):
        venue.state.faults.drop_websockets()
        for client in (market, api):
            with pytest.raises(ConnectionClosed):
                async with asyncio.timeout(WAIT_S):
                    while True:
                        await client.recv()
            assert client.close_code == 1001
    async with venue.connect("/ws/btcusdt@trade") as again:  # clients may reconnect at once
        buy_market(venue.exchange, venue.account())
        assert (await receive(again))["e"] == "trade"


async def test_slow_client_is_dropped_without_stalling_others(small_queue_venue: Venue) -> None:
    venue = small_queue_venue
    account = venue.account()
    slow_socket = socket.socket()
    slow_socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    slow_socket.setblocking(False)
    host, port = venue.url.removeprefix("ws://").split(":")
    await asyncio.get_running_loop().sock_connect(slow_socket, (host, int(port)))
    async with (
        venue.connect("/ws/btcusdt@trade", sock=slow_socket, max_queue=1) as slow,
        venue.connect("/ws/btcusdt@trade") as fast,
    ):
        received: list[int] = []

        async def read_fast() -> None:
            async for text in fast:
                received.append(json.loads(text)["t"])

        reader = asyncio.create_task(read_fast())
        async with asyncio.timeout(20):
            while venue.hub.connections > 1:
                buy_market(venue.exchange, account, "0.001")
                venue.exchange.submit_order(
                    account.account_id, BTC, Side.SELL, OrderType.MARKET, quantity=Decimal("0.001")
                )
                await asyncio.sleep(0.001)  # the fast client reads in this loop too
        last_trade = venue.exchange.history.recent_trades(BTC, 1)[-1].trade_id
        reader.cancel()  # cancelling recv() loses no message; read the rest here
        with contextlib.suppress(asyncio.CancelledError):
            await reader
        async with asyncio.timeout(WAIT_S):
            while not received or received[-1] != last_trade:
                received.append(json.loads(await fast.recv())["t"])
        assert received == list(range(received[0], last_trade + 1))  # nothing lost
        with pytest.raises(ConnectionClosed):
            async with asyncio.timeout(WAIT_S):
                while True:
                    await slow.recv()


# -- unmodified ccxt against the full app (REST + streams) --------------------------------


async def test_ccxt_pro_watches_trades_order_book_orders_and_balance() -> None:
    app_module = pytest.importorskip("tradewind.venues.simulated.server.app")
    now_ms = time.time_ns() // 1_000_000
    state = ServerState(SimulatedExchange(SyntheticMarket(start_ms=now_ms)))
    sock = socket.create_server(("127.0.0.1", 0))
    config = uvicorn.Config(
        app_module.build_app(state, step_interval_s=STEP_S),
        lifespan="on",
        log_level="warning",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 (uvicorn.Server has no "started" event)
        await asyncio.sleep(0.01)
    account = state.exchange.create_account({"USDT": Decimal(100_000), "BTC": Decimal(1)})
    exchange = ccxt_binance(sock.getsockname()[1], account)
    engine = state.exchange.engine
    try:
        async with asyncio.timeout(20):
            watching = asyncio.create_task(exchange.watch_trades(BTC))
            while not watching.done():
                buy_market(state.exchange, account)
                await asyncio.sleep(0.05)
            assert watching.result()[-1]["symbol"] == BTC

            book = await exchange.watch_order_book(BTC)
            while book["nonce"] != engine.update_id(BTC):
                book = await exchange.watch_order_book(BTC)
            depth = engine.depth(BTC, 1000)
            assert book["bids"] == [[float(lv.price), float(lv.quantity)] for lv in depth.bids]
            assert book["asks"] == [[float(lv.price), float(lv.quantity)] for lv in depth.asks]

            orders = asyncio.create_task(exchange.watch_orders(BTC))
            balance = asyncio.create_task(exchange.watch_balance())
            await asyncio.sleep(0.3)  # the user data subscription is in place
            placed = await exchange.create_order(BTC, "market", "buy", 0.01)
            watched = await orders
            assert watched[-1]["id"] == placed["id"] and watched[-1]["filled"] == 0.01
            held = engine.balance(account.account_id, "BTC")
            assert (await balance)["BTC"]["free"] == float(held.free)
    finally:
        await exchange.close()
        server.should_exit = True
        await serving
        sock.close()
