"""Running the simulated exchange's Coinbase WebSocket for tests: a real uvicorn server
on a loopback port in the test's event loop serving `coinbase_stream_routes`, a task
stepping the market, and the `websockets` client."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import uvicorn
import websockets
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection

from tradewind.venues.simulated.exchange import KeyPermissions, SimulatedExchange
from tradewind.venues.simulated.market import SyntheticMarket, SyntheticSpec
from tradewind.venues.simulated.server.coinbase.streams import (
    MARKET_DATA_PATH,
    WsRateLimit,
    coinbase_stream_routes,
)
from tradewind.venues.simulated.server.coinbase.streams_hub import CoinbaseStreamHub
from tradewind.venues.simulated.server.state import ServerState

BTC, ETH = "BTC/USD", "ETH/USD"
STEP_S = 0.05
WAIT_S = 10.0  # generous: the machine is shared
WIDE = WsRateLimit(1000, 1.0)  # rate limits out of the way of tests not about them


@dataclass
class CoinbaseVenue:
    state: ServerState
    hub: CoinbaseStreamHub
    url: str  # ws://127.0.0.1:PORT
    stepping: asyncio.Event  # cleared = the market stands still

    @property
    def exchange(self) -> SimulatedExchange:
        return self.state.exchange

    def connect(self, path: str = MARKET_DATA_PATH, **kwargs: Any) -> websockets.connect:
        return websockets.connect(self.url + path, proxy=None, open_timeout=WAIT_S, **kwargs)

    def account(self) -> tuple[str, str, str]:
        """A funded account and a CDP key of it: (account id, key name, PEM secret)."""
        credentials = self.exchange.create_account(
            {"USD": Decimal(1_000_000), "BTC": Decimal(10), "ETH": Decimal(100)}
        )
        name, pem = self.state.coinbase_keys.mint(credentials.account_id, KeyPermissions())
        return credentials.account_id, name, pem


def usd_state() -> ServerState:
    now_ms = time.time_ns() // 1_000_000
    prices = SyntheticMarket(
        {BTC: SyntheticSpec(Decimal(30_000)), ETH: SyntheticSpec(Decimal(2_000))},
        start_ms=now_ms,
    )
    return ServerState(SimulatedExchange(prices), api="coinbase")


async def _step_market(exchange: SimulatedExchange, stepping: asyncio.Event) -> None:
    while True:
        await stepping.wait()
        exchange.step()
        await asyncio.sleep(STEP_S)


@asynccontextmanager
async def coinbase_ws_venue(
    *,
    connections: WsRateLimit = WIDE,
    messages: WsRateLimit = WIDE,
    lifted: bool = False,
) -> AsyncIterator[CoinbaseVenue]:
    """The Coinbase WebSocket routes alone (a minimal Starlette app) over a stepping
    two-product market (BTC-USD, ETH-USD). The rate limits are wide unless a test
    narrows them; `lifted`: the venue's Coinbase rate limits are off."""
    state = usd_state()
    if lifted:
        state.coinbase_rate_limits = None
    hub = CoinbaseStreamHub(state.exchange, state.faults)
    state.exchange.add_listener(hub)
    state.exchange.step()  # the liquidity provider quotes
    routes = coinbase_stream_routes(state, hub, connections=connections, messages=messages)
    sock = socket.create_server(("127.0.0.1", 0))
    stepping = asyncio.Event()
    stepping.set()
    stepper = asyncio.create_task(_step_market(state.exchange, stepping))
    config = uvicorn.Config(
        Starlette(routes=routes), lifespan="off", log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:  # noqa: ASYNC110 (uvicorn.Server has no "started" event)
            await asyncio.sleep(0.01)
        yield CoinbaseVenue(state, hub, f"ws://127.0.0.1:{sock.getsockname()[1]}", stepping)
    finally:
        stepper.cancel()
        server.should_exit = True
        await serving
        sock.close()


async def send(client: ClientConnection, message: dict[str, Any]) -> None:
    await client.send(json.dumps(message))


async def subscribed(client: ClientConnection, message: dict[str, Any]) -> list[Any]:
    """Send a subscribe message and wait for its acknowledgement; returns what came
    before it (the snapshots)."""
    await send(client, message)
    before: list[Any] = []
    async with asyncio.timeout(WAIT_S):
        while True:
            received = json.loads(await client.recv())
            if on_channel("subscriptions")(received):
                return before
            before.append(received)


def subscribe(channel: str, *products: str, jwt: str | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "subscribe", "channel": channel, "product_ids": [*products]}
    if jwt is not None:
        message["jwt"] = jwt
    return message


def unsubscribe(channel: str, *products: str) -> dict[str, Any]:
    return {"type": "unsubscribe", "channel": channel, "product_ids": [*products]}


async def receive_until(
    client: ClientConnection, wanted: Callable[[Any], bool], wait_s: float = WAIT_S
) -> Any:
    """The first message `wanted` accepts, skipping others."""
    async with asyncio.timeout(wait_s):
        while True:
            message = json.loads(await client.recv())
            if wanted(message):
                return message


def on_channel(channel: str) -> Callable[[Any], bool]:
    return lambda message: isinstance(message, dict) and message.get("channel") == channel


def is_error(message: Any) -> bool:
    return isinstance(message, dict) and message.get("type") == "error"
