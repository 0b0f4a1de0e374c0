"""Running the simulated exchange's WebSocket streams for tests: a real uvicorn server on
a loopback port in the test's event loop, the `websockets` client, and unmodified ccxt
pro re-hosted onto the full app (docs/venues/ccxt-binance-protocol.md §1).

A background task steps the market every STEP_S unless a test pauses it, so tests act
on the exchange directly while clients listen.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import urlsplit

import uvicorn
import websockets
from starlette.applications import Starlette
from websockets.asyncio.client import ClientConnection

from tradewind.domain.model import OrderType, Side
from tradewind.venues.simulated.exchange import ApiCredentials, SimulatedExchange
from tradewind.venues.simulated.market import SyntheticMarket, SyntheticSpec
from tradewind.venues.simulated.server.app import build_app
from tradewind.venues.simulated.server.state import ServerState
from tradewind.venues.simulated.server.stream_hub import BinanceStreamHub
from tradewind.venues.simulated.server.streams import stream_routes

BTC, ETH = "BTC/USDT", "ETH/USDT"
STEP_S = 0.05
WAIT_S = 5.0


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


def two_symbol_state() -> ServerState:
    now_ms = time.time_ns() // 1_000_000
    prices = SyntheticMarket(
        {BTC: SyntheticSpec(Decimal(30_000)), ETH: SyntheticSpec(Decimal(2_000))},
        start_ms=now_ms,
    )
    return ServerState(SimulatedExchange(prices))


async def _step_market(exchange: SimulatedExchange, stepping: asyncio.Event) -> None:
    while True:
        await stepping.wait()
        exchange.step()
        await asyncio.sleep(STEP_S)


@asynccontextmanager
async def _running(
    app: Any, sock: socket.socket, *, lifespan: Literal["on", "off"]
) -> AsyncIterator[None]:
    config = uvicorn.Config(
        app, lifespan=lifespan, log_level="warning", timeout_graceful_shutdown=1
    )
    server = uvicorn.Server(config)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 (uvicorn.Server has no "started" event)
        await asyncio.sleep(0.01)
    try:
        yield
    finally:
        server.should_exit = True
        await serving
        sock.close()


@asynccontextmanager
async def stream_venue() -> AsyncIterator[Venue]:
    """The stream routes alone (a minimal Starlette app) over a stepping two-symbol market."""
    state = two_symbol_state()
    hub = BinanceStreamHub(state.exchange, state.faults, state.listen_keys)
    state.exchange.add_listener(hub)
    state.exchange.step()  # the liquidity provider quotes
    sock = socket.create_server(("127.0.0.1", 0))
    stepping = asyncio.Event()
    stepping.set()
    stepper = asyncio.create_task(_step_market(state.exchange, stepping))
    try:
        async with _running(Starlette(routes=stream_routes(state, hub)), sock, lifespan="off"):
            yield Venue(state, hub, f"ws://127.0.0.1:{sock.getsockname()[1]}", stepping)
    finally:
        stepper.cancel()


@asynccontextmanager
async def full_app(state: ServerState) -> AsyncIterator[int]:
    """The whole app (REST and streams, stepping the market itself); yields its port."""
    sock = socket.create_server(("127.0.0.1", 0))
    async with _running(build_app(state, step_interval_s=STEP_S), sock, lifespan="on"):
        yield sock.getsockname()[1]


def ccxt_binance(port: int, account: ApiCredentials) -> Any:
    """ccxt.pro.binance talking only to our server (docs/venues/ccxt-binance-protocol.md)."""
    import ccxt.pro  # type: ignore[import-untyped]

    exchange = ccxt.pro.binance(
        {
            "apiKey": account.api_key,
            "secret": account.secret,
            "options": {
                "defaultType": "spot",
                "fetchMarkets": {"types": ["spot"]},
                "fetchCurrencies": False,
                "fetchMargins": False,
                "adjustForTimeDifference": False,
            },
        }
    )
    api = exchange.urls["api"]
    for key, url in list(api.items()):
        if isinstance(url, str):
            api[key] = f"http://127.0.0.1:{port}" + urlsplit(url).path
    for key, url in list(api["ws"].items()):
        if isinstance(url, str):
            api["ws"][key] = f"ws://127.0.0.1:{port}" + urlsplit(url).path
    for key, url in list(api["ws"]["ws-api"].items()):
        api["ws"]["ws-api"][key] = f"ws://127.0.0.1:{port}" + urlsplit(url).path
    return exchange


async def receive(client: ClientConnection) -> Any:
    return json.loads(await asyncio.wait_for(client.recv(), WAIT_S))


async def receive_until(
    client: ClientConnection, wanted: Callable[[Any], bool], wait_s: float = WAIT_S
) -> Any:
    """The first message `wanted` accepts, skipping others."""
    async with asyncio.timeout(wait_s):
        while True:
            message = json.loads(await client.recv())
            if wanted(message):
                return message


async def call(client: ClientConnection, request: dict[str, Any]) -> Any:
    """Send a JSON request and return the reply carrying its id (events are skipped)."""
    await client.send(json.dumps(request))
    return await receive_until(
        client,
        lambda m: isinstance(m, dict) and "id" in m and "e" not in m and "stream" not in m,
    )


def market_order(
    exchange: SimulatedExchange,
    account: ApiCredentials,
    side: Side = Side.BUY,
    quantity: str = "0.01",
    symbol: str = BTC,
) -> None:
    exchange.submit_order(
        account.account_id, symbol, side, OrderType.MARKET, quantity=Decimal(quantity)
    )


class ErrorLog(logging.Handler):
    """Collects what a logger says at ERROR and above (uvicorn's loggers do not
    propagate to the root logger that pytest's caplog listens on)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())
