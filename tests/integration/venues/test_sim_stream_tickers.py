"""The ticker and average price streams of the simulated exchange (`<symbol>@ticker`,
`@miniTicker`, `@ticker_<window>`, `@avgPrice`, `!ticker@arr`, `!miniTicker@arr`,
`!ticker_<window>@arr`), against a real uvicorn server with the `websockets` client."""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.venues.sim_stream_support import (
    BTC,
    ETH,
    WAIT_S,
    ErrorLog,
    Venue,
    call,
    market_order,
    receive,
    receive_until,
    stream_venue,
)
from tradewind.domain.model import Side
from tradewind.venues.simulated.kline_intervals import MINUTE_MS

# Binance's keys, in Binance's order (web-socket-streams.md)
TICKER_KEYS = list("eEspPwxcQbBaAohlvqOCFLn")
MINI_TICKER_KEYS = list("eEscohlvq")
WINDOW_TICKER_KEYS = list("eEspPohlcwvqOCFLn")
AVG_PRICE_KEYS = list("eEsiwT")


@pytest.fixture
async def venue() -> AsyncIterator[Venue]:
    async with stream_venue() as served:
        yield served


def first_of(stream: str) -> Any:
    return lambda message: message.get("stream") == stream


async def test_a_direct_ticker_connection_completes_its_handshake(venue: Venue) -> None:
    """The handshake of /ws/<symbol>@ticker used to fail: the stream name was refused
    with a denial response (HTTP 400), on which uvicorn's websockets-sansio protocol
    also logs "ASGI callable returned without completing handshake"."""
    errors = ErrorLog()
    logging.getLogger("uvicorn.error").addHandler(errors)
    try:
        async with venue.connect("/ws/btcusdt@ticker") as client:
            event = await receive(client)
    finally:
        logging.getLogger("uvicorn.error").removeHandler(errors)
    assert event["e"] == "24hrTicker" and event["s"] == "BTCUSDT"
    assert errors.messages == []


async def test_each_ticker_stream_sends_binances_payload(venue: Venue) -> None:
    market_order(venue.exchange, venue.account())
    names = [
        "btcusdt@ticker", "btcusdt@miniTicker", "btcusdt@ticker_1h", "btcusdt@ticker_4h",
        "btcusdt@ticker_1d", "btcusdt@avgPrice", "!ticker@arr", "!miniTicker@arr",
        "!ticker_1h@arr", "!ticker_4h@arr", "!ticker_1d@arr",
    ]  # fmt: skip
    seen: dict[str, Any] = {}
    async with venue.connect("/stream?streams=" + "/".join(names)) as client:
        async with asyncio.timeout(WAIT_S):
            while len(seen) < len(names):
                message = await receive(client)
                seen.setdefault(message["stream"], message["data"])
    ticker = seen["btcusdt@ticker"]
    assert list(ticker) == TICKER_KEYS and ticker["e"] == "24hrTicker"
    assert ticker["C"] == ticker["E"] and ticker["O"] == ticker["C"] - 24 * 60 * MINUTE_MS
    assert ticker["n"] >= 1 and ticker["L"] >= ticker["F"] >= 1
    assert Decimal(ticker["b"]) < Decimal(ticker["a"])
    assert list(seen["btcusdt@miniTicker"]) == MINI_TICKER_KEYS
    assert seen["btcusdt@miniTicker"]["e"] == "24hrMiniTicker"
    for window in ("1h", "4h", "1d"):
        rolling = seen[f"btcusdt@ticker_{window}"]
        assert list(rolling) == WINDOW_TICKER_KEYS and rolling["e"] == f"{window}Ticker"
        assert rolling["O"] % MINUTE_MS == 0 and rolling["C"] == rolling["E"]
        everyone = seen[f"!ticker_{window}@arr"]
        assert {t["e"] for t in everyone} == {f"{window}Ticker"}
    average = seen["btcusdt@avgPrice"]
    assert list(average) == AVG_PRICE_KEYS and average["e"] == "avgPrice" and average["i"] == "5m"
    last_trade = venue.exchange.history.recent_trades(BTC, 1)[-1]
    assert average["T"] <= last_trade.time_ms
    # a newcomer to an all-market stream gets every listed symbol first
    for name, keys in (("!ticker@arr", TICKER_KEYS), ("!miniTicker@arr", MINI_TICKER_KEYS)):
        assert {t["s"] for t in seen[name]} == {"BTCUSDT", "ETHUSDT"}
        assert all(list(t) == keys for t in seen[name])


async def test_tickers_are_pushed_once_a_second_and_only_on_change(venue: Venue) -> None:
    account = venue.account()
    async with venue.connect("/ws/btcusdt@miniTicker") as client:
        times = []
        for _ in range(3):
            market_order(venue.exchange, account)
            times.append((await receive(client))["E"])
        assert all(later - earlier >= 900 for earlier, later in itertools.pairwise(times))
        venue.stepping.clear()  # the market stands still: nothing changes, nothing is sent
        await asyncio.sleep(1.2)  # what was already queued goes
        while True:
            try:
                async with asyncio.timeout(0.05):
                    await client.recv()
            except TimeoutError:
                break
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(1.5):
                await client.recv()
        market_order(venue.exchange, account)
        after = await receive(client)
    last = venue.exchange.history.recent_trades(BTC, 1)[-1]
    assert Decimal(after["c"]) == last.price


async def test_an_all_market_array_holds_the_symbols_that_changed(venue: Venue) -> None:
    account = venue.account()
    async with venue.connect("/ws/!miniTicker@arr") as client:
        first = await receive(client)
        assert {t["s"] for t in first} == {"BTCUSDT", "ETHUSDT"}
        venue.stepping.clear()  # only this test's orders change the market now
        market_order(venue.exchange, account, symbol=ETH)
        eth_ms = venue.exchange.history.recent_trades(ETH, 1)[-1].time_ms
        await receive_until(
            client, lambda m: any(t["s"] == "ETHUSDT" for t in m) and m[0]["E"] > eth_ms
        )
        market_order(venue.exchange, account, Side.SELL)
        changed = await receive(client)
    assert [t["s"] for t in changed] == ["BTCUSDT"]
    last = venue.exchange.history.recent_trades(BTC, 1)[-1]
    assert Decimal(changed[0]["c"]) == last.price


async def test_ticker_streams_are_listed_and_unsubscribed_by_name(venue: Venue) -> None:
    async with venue.connect("/ws/0") as client:
        names = ["!ticker_4h@arr", "btcusdt@avgPrice", "ethusdt@ticker_1d"]
        assert await call(client, {"method": "SUBSCRIBE", "params": names, "id": 1}) == {
            "result": None,
            "id": 1,
        }
        listed = await call(client, {"method": "LIST_SUBSCRIPTIONS", "id": 2})
        assert sorted(listed["result"]) == sorted(names)
        await call(client, {"method": "UNSUBSCRIBE", "params": ["!ticker_4h@arr"], "id": 3})
        listed = await call(client, {"method": "LIST_SUBSCRIPTIONS", "id": 4})
        assert sorted(listed["result"]) == ["btcusdt@avgPrice", "ethusdt@ticker_1d"]
        refused = await call(
            client, {"method": "SUBSCRIBE", "params": ["btcusdt@ticker_2h"], "id": 5}
        )
        assert refused["error"]["code"] == 2 and "1h, 4h or 1d" in refused["error"]["msg"]
