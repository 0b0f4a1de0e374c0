"""Unmodified ccxt pro's ticker and candle watchers against the simulated exchange's full
app (REST and streams), its URLs re-hosted (docs/venues/ccxt-binance-protocol.md §1)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.venues.sim_stream_support import (
    BTC,
    ETH,
    ccxt_binance,
    full_app,
    market_order,
    two_symbol_state,
)
from tradewind.venues.simulated.server.state import ServerState

pytest.importorskip("ccxt.pro")


@pytest.fixture
async def served() -> AsyncIterator[tuple[ServerState, Any]]:
    state = two_symbol_state()
    account = state.exchange.create_account({"USDT": Decimal(100_000), "BTC": Decimal(1)})
    async with full_app(state) as port:
        exchange = ccxt_binance(port, account)
        try:
            yield state, exchange
        finally:
            await exchange.close()


async def test_watch_ticker_reads_the_24_hour_ticker(served: tuple[ServerState, Any]) -> None:
    state, exchange = served
    account = state.exchange.create_account({"USDT": Decimal(100_000)})
    market_order(state.exchange, account)
    async with asyncio.timeout(10):
        mini = await exchange.watch_ticker(BTC)  # ccxt 4.5.90 asks for <symbol>@miniTicker
        full = await exchange.watch_ticker(BTC, {"name": "ticker"})  # <symbol>@ticker
    assert mini["symbol"] == BTC and mini["info"]["e"] == "24hrMiniTicker"
    assert mini["last"] is not None and mini["baseVolume"] is not None
    assert full["symbol"] == BTC and full["info"]["e"] == "24hrTicker"
    for field in ("last", "bid", "ask", "open", "high", "low", "vwap", "baseVolume"):
        assert full[field] is not None, field
    assert full["bid"] < full["ask"] and full["low"] <= full["last"] <= full["high"]
    assert full["percentage"] is not None and full["timestamp"] == full["info"]["C"]


async def test_watch_tickers_reads_the_mini_tickers(served: tuple[ServerState, Any]) -> None:
    _, exchange = served
    async with asyncio.timeout(10):
        some = await exchange.watch_tickers([BTC, ETH])  # <symbol>@miniTicker each
        every: dict[str, Any] = {}
        while set(every) != {BTC, ETH}:  # !miniTicker@arr
            every.update(await exchange.watch_tickers())
    assert set(some) <= {BTC, ETH} and some
    for ticker in [*some.values(), *every.values()]:
        assert ticker["info"]["e"] == "24hrMiniTicker" and ticker["last"] is not None


@pytest.mark.parametrize("timeframe", ["1s", "1w"])
async def test_watch_ohlcv_reads_klines(served: tuple[ServerState, Any], timeframe: str) -> None:
    state, exchange = served
    account = state.exchange.create_account({"USDT": Decimal(100_000)})
    async with asyncio.timeout(10):
        watching = asyncio.create_task(exchange.watch_ohlcv(BTC, timeframe))
        while not watching.done():
            market_order(state.exchange, account)
            await asyncio.sleep(0.1)
        candles = watching.result()
    opened, *_, volume = candles[-1]
    (kept,) = state.exchange.history.klines(BTC, timeframe, start_ms=opened, limit=1)
    assert kept.open_ms == opened and volume > 0
    if timeframe == "1w":
        assert datetime.fromtimestamp(opened / 1000, UTC).weekday() == 0  # Monday
    else:
        assert opened % 1000 == 0
