"""The Coinbase WebSocket's market data channels with a raw client, checked against the
engine: level2 (snapshot, then the book's changes), market_trades, ticker, ticker_batch
and candles."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.integration.venues.coinbase.ws_support import (
    BTC,
    ETH,
    coinbase_ws_venue,
    on_channel,
    receive_until,
    send,
    subscribe,
    subscribed,
)
from tradewind.domain.model import OrderType, Side


def book_of(updates: list[dict[str, str]]) -> tuple[dict[Decimal, Decimal], dict[Decimal, Decimal]]:
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    for update in updates:
        side = bids if update["side"] == "bid" else asks
        side[Decimal(update["price_level"])] = Decimal(update["new_quantity"])
    return bids, asks


def apply(book: dict[Decimal, Decimal], price: Decimal, quantity: Decimal) -> None:
    if quantity:
        book[price] = quantity
    else:
        book.pop(price, None)


async def test_level2_snapshot_is_the_engines_whole_book() -> None:
    async with coinbase_ws_venue() as venue, venue.connect() as client:
        venue.stepping.clear()
        await send(client, subscribe("level2", "BTC-USD"))
        message = await receive_until(client, on_channel("l2_data"))
        event = message["events"][0]
        assert (event["type"], event["product_id"]) == ("snapshot", "BTC-USD")
        bids, asks = book_of(event["updates"])
        book = venue.exchange.engine.depth(BTC, 100_000)
        assert bids == {level.price: level.quantity for level in book.bids}
        assert asks == {level.price: level.quantity for level in book.asks}
        assert bids and asks


async def test_level2_updates_keep_a_copy_of_the_book_equal_to_the_engines() -> None:
    async with coinbase_ws_venue() as venue, venue.connect() as client:
        await send(client, subscribe("level2", "ETH-USD"))
        snapshot = await receive_until(client, on_channel("l2_data"))
        bids, asks = book_of(snapshot["events"][0]["updates"])
        venue.stepping.clear()  # what is queued now ends the updates to compare
        account_id, _, _ = venue.account()
        best_bid = max(bids)
        placed = venue.exchange.submit_order(
            account_id, ETH, Side.BUY, OrderType.LIMIT,
            quantity=Decimal("0.5"), price=best_bid - Decimal("0.01"),
        )  # fmt: skip
        engine_book = venue.exchange.engine.depth(ETH, 100_000)
        wanted_bids = {level.price: level.quantity for level in engine_book.bids}
        wanted_asks = {level.price: level.quantity for level in engine_book.asks}

        def caught_up(message: Any) -> bool:
            if not on_channel("l2_data")(message):
                return False
            for event in message["events"]:
                assert event["type"] == "update"
                for update in event["updates"]:
                    side = bids if update["side"] == "bid" else asks
                    apply(side, Decimal(update["price_level"]), Decimal(update["new_quantity"]))
            return bids == wanted_bids and asks == wanted_asks

        await receive_until(client, caught_up)
        assert bids[placed.order.price] >= Decimal("0.5")


async def test_level2_update_names_the_level_an_order_added() -> None:
    async with coinbase_ws_venue() as venue, venue.connect() as client:
        await send(client, subscribe("level2", "BTC-USD"))
        await receive_until(client, on_channel("l2_data"))
        venue.stepping.clear()
        account_id, _, _ = venue.account()
        best_ask = venue.exchange.engine.book_ticker(BTC).ask_price
        assert best_ask is not None
        price = best_ask + Decimal(500)  # far above the house ladder: a fresh level
        venue.exchange.submit_order(
            account_id, BTC, Side.SELL, OrderType.LIMIT, quantity=Decimal("0.25"), price=price
        )
        update = await receive_until(
            client,
            lambda m: (
                on_channel("l2_data")(m)
                and any(Decimal(u["price_level"]) == price for u in m["events"][0]["updates"])
            ),
        )
        (level,) = [u for u in update["events"][0]["updates"] if Decimal(u["price_level"]) == price]
        assert level["side"] == "offer"
        assert Decimal(level["new_quantity"]) == Decimal("0.25")
        assert update["events"][0]["product_id"] == "BTC-USD"


async def test_market_trades_come_newest_first_as_the_engine_printed_them() -> None:
    async with coinbase_ws_venue() as venue, venue.connect() as client:
        await subscribed(client, subscribe("market_trades", "BTC-USD"))
        venue.stepping.clear()
        account_id, _, _ = venue.account()
        result = venue.exchange.submit_order(
            account_id, BTC, Side.BUY, OrderType.MARKET, quantity=Decimal("0.5")
        )
        assert len(result.trades) > 1
        ids = {str(t.trade_id) for t in result.trades}
        message = await receive_until(
            client,
            lambda m: (
                on_channel("market_trades")(m)
                and m["events"][0]["type"] == "update"
                and {t["trade_id"] for t in m["events"][0]["trades"]} == ids
            ),
        )
        trades = message["events"][0]["trades"]
        newest_first = sorted(result.trades, key=lambda t: t.trade_id, reverse=True)
        assert [t["trade_id"] for t in trades] == [str(t.trade_id) for t in newest_first]
        for sent, trade in zip(trades, newest_first, strict=True):
            assert sent["product_id"] == "BTC-USD"
            assert Decimal(sent["price"]) == trade.price
            assert Decimal(sent["size"]) == trade.quantity
            assert sent["side"] == "SELL"  # the resting (maker) side of a market buy


async def test_ticker_snapshot_then_an_update_with_every_trade() -> None:
    async with coinbase_ws_venue() as venue, venue.connect() as client:
        await send(client, subscribe("ticker", "BTC-USD"))
        snapshot = await receive_until(client, on_channel("ticker"))
        assert snapshot["events"][0]["type"] == "snapshot"
        venue.stepping.clear()
        account_id, _, _ = venue.account()
        result = venue.exchange.submit_order(
            account_id, BTC, Side.SELL, OrderType.MARKET, quantity=Decimal("0.01")
        )
        last = result.trades[-1].price
        top = venue.exchange.engine.book_ticker(BTC)
        message = await receive_until(
            client,
            lambda m: (
                on_channel("ticker")(m) and Decimal(m["events"][0]["tickers"][0]["price"]) == last
            ),
        )
        (ticker,) = message["events"][0]["tickers"]
        assert message["events"][0]["type"] == "update"
        assert ticker["type"] == "ticker" and ticker["product_id"] == "BTC-USD"
        assert Decimal(ticker["best_bid"]) == top.bid_price
        assert Decimal(ticker["best_ask"]) == top.ask_price
        assert Decimal(ticker["best_bid_quantity"]) == top.bid_quantity
        assert Decimal(ticker["low_24_h"]) <= last <= Decimal(ticker["high_24_h"])
        assert Decimal(ticker["low_52_w"]) <= Decimal(ticker["low_24_h"])
        assert Decimal(ticker["volume_24_h"]) > 0
        Decimal(ticker["price_percent_chg_24_h"])


async def test_ticker_batch_sends_a_snapshot_then_updates_without_the_top_of_the_book() -> None:
    async with coinbase_ws_venue() as venue, venue.connect() as client:
        await send(client, subscribe("ticker_batch", "BTC-USD", "ETH-USD"))
        seen = set()
        while seen != {"snapshot", "update"}:
            message = await receive_until(client, on_channel("ticker_batch"), wait_s=20)
            event = message["events"][0]
            seen.add(event["type"])
            (ticker,) = event["tickers"]
            assert ticker["product_id"] in ("BTC-USD", "ETH-USD")
            assert "best_bid" not in ticker


async def test_candles_are_five_minute_buckets_matching_the_market_history() -> None:
    async with coinbase_ws_venue() as venue, venue.connect() as client:
        account_id, _, _ = venue.account()
        venue.exchange.submit_order(
            account_id, BTC, Side.BUY, OrderType.MARKET, quantity=Decimal("0.01")
        )
        (snapshot,) = await subscribed(client, subscribe("candles", "BTC-USD"))
        assert snapshot["events"][0]["type"] == "snapshot"
        venue.exchange.submit_order(
            account_id, BTC, Side.BUY, OrderType.MARKET, quantity=Decimal("0.01")
        )
        update = await receive_until(
            client, lambda m: on_channel("candles")(m) and m["events"][0]["type"] == "update"
        )
        (candle,) = update["events"][0]["candles"]
        assert candle["product_id"] == "BTC-USD"
        assert int(candle["start"]) % 300 == 0
        (kline,) = venue.exchange.history.klines(
            BTC, "5m", start_ms=int(candle["start"]) * 1000, limit=1
        )
        assert Decimal(candle["open"]) == kline.open
        assert Decimal(candle["high"]) >= Decimal(candle["low"])
        assert Decimal(candle["volume"]) <= kline.volume
