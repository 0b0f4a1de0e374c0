"""Kline streams of every Binance interval and the 8-decimal amounts of the user data
stream, against a real uvicorn server with the `websockets` client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from tests.integration.venues.sim_stream_support import (
    BTC,
    WAIT_S,
    Venue,
    market_order,
    receive,
    receive_until,
    stream_venue,
)
from tradewind.domain.model import OrderType, Side
from tradewind.venues.simulated.kline_intervals import HOUR_MS, KLINE_INTERVALS, candle_bounds
from tradewind.venues.simulated.server.formatting import (
    commission_amount,
    free_amount,
    locked_amount,
)


@pytest.fixture
async def venue() -> AsyncIterator[Venue]:
    async with stream_venue() as served:
        yield served


def utc(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


async def test_every_interval_streams_candles_where_binance_starts_them(venue: Venue) -> None:
    names = [f"btcusdt@kline_{interval}" for interval in KLINE_INTERVALS]
    names.append("btcusdt@kline_1d@+08:00")
    seen: dict[str, Any] = {}
    async with venue.connect("/stream?streams=" + "/".join(names)) as client:
        market_order(venue.exchange, venue.account())
        async with asyncio.timeout(WAIT_S):
            while len(seen) < len(names):
                message = await receive(client)
                seen.setdefault(message["stream"], message["data"])
    for interval in KLINE_INTERVALS:
        event = seen[f"btcusdt@kline_{interval}"]
        kline = event["k"]
        assert event["e"] == "kline" and kline["i"] == interval and kline["s"] == "BTCUSDT"
        opens, width = candle_bounds(interval, kline["t"])
        assert (kline["t"], kline["T"]) == (opens, opens + width - 1)
    week = seen["btcusdt@kline_1w"]["k"]
    assert utc(week["t"]).weekday() == 0 and utc(week["t"]).hour == 0  # Monday 00:00
    month = seen["btcusdt@kline_1M"]["k"]
    assert utc(month["t"]).day == 1 and utc(month["T"] + 1).day == 1
    shifted = seen["btcusdt@kline_1d@+08:00"]["k"]
    assert utc(shifted["t"]).hour == 16 and shifted["T"] - shifted["t"] == 24 * HOUR_MS - 1


async def test_one_second_klines_close_each_second(venue: Venue) -> None:
    account = venue.account()
    async with venue.connect("/ws/btcusdt@kline_1s") as client:
        closed: list[dict[str, Any]] = []
        async with asyncio.timeout(WAIT_S):
            while len(closed) < 2:
                market_order(venue.exchange, account)
                event = await receive(client)
                if event["k"]["x"]:
                    closed.append(event["k"])
    for kline in closed:
        assert kline["T"] - kline["t"] == 999 and kline["t"] % 1000 == 0
    assert closed[1]["t"] > closed[0]["t"]
    (history,) = venue.exchange.history.klines(BTC, "1s", start_ms=closed[0]["t"], limit=1)
    assert (closed[0]["n"], Decimal(closed[0]["v"])) == (history.trades, history.volume)


async def test_klines_carry_trade_ids_and_taker_buy_volumes(venue: Venue) -> None:
    account = venue.account()
    venue.stepping.clear()  # this test's trades alone
    async with venue.connect("/ws/btcusdt@kline_1m") as client:
        market_order(venue.exchange, account, Side.BUY, "0.03")
        market_order(venue.exchange, account, Side.SELL, "0.01")
        last_id = venue.exchange.history.recent_trades(BTC, 1)[-1].trade_id
        event = await receive_until(client, lambda m: m["k"]["L"] == last_id)
    kline = event["k"]
    (candle,) = venue.exchange.history.klines(BTC, "1m", start_ms=kline["t"], limit=1)
    assert (kline["f"], kline["L"]) == (candle.first_trade_id, candle.last_trade_id)
    assert kline["f"] != -1 and kline["L"] >= kline["f"]
    assert Decimal(kline["V"]) == candle.taker_buy_volume > 0
    assert Decimal(kline["Q"]) == candle.taker_buy_quote_volume > 0
    assert Decimal(kline["V"]) < Decimal(kline["v"])  # the sell's taker did not buy


async def test_user_data_amounts_have_eight_decimals(venue: Venue) -> None:
    """Commissions and balances as Binance writes them: 8 decimals, a commission
    rounded up and a free balance down (unit-tested with more decimals than the engine
    now keeps in test_sim_stream_payloads)."""
    maker, taker = venue.account(), venue.account()
    key = venue.state.listen_keys.create(maker.account_id)
    venue.stepping.clear()
    ask = venue.exchange.engine.book_ticker(BTC).ask_price
    assert ask is not None
    price = ask - Decimal("0.37")
    async with venue.connect(f"/ws/{key}") as client:
        venue.exchange.submit_order(
            maker.account_id, BTC, Side.SELL, OrderType.LIMIT, quantity=Decimal("0.00123"),
            price=price,
        )  # fmt: skip
        new = await receive_until(client, lambda m: m["e"] == "executionReport")
        market_order(venue.exchange, taker, Side.BUY, "0.00123")
        fill = await receive_until(client, lambda m: m.get("x") == "TRADE")
        position = await receive_until(client, lambda m: m["e"] == "outboundAccountPosition")
    assert new["n"] == "0" and new["N"] is None  # as Binance writes a report without a trade
    trade = {t.trade_id: t for t in venue.exchange.history.recent_trades(BTC, 10)}[fill["t"]]
    fee, asset = trade.fee_for(maker.account_id)
    assert fill["n"] == commission_amount(fee) and fill["N"] == asset == "USDT"
    assert Decimal(fill["n"]) == fee > 0 and len(fill["n"].split(".")[1]) == 8
    engine = venue.exchange.engine
    for balance in position["B"]:
        held = engine.balance(maker.account_id, balance["a"])
        assert (balance["f"], balance["l"]) == (free_amount(held.free), locked_amount(held.locked))
        assert len(balance["f"].split(".")[1]) == len(balance["l"].split(".")[1]) == 8
