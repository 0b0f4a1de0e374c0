"""Unmodified ccxt.pro `coinbase` on the simulated venue's Coinbase WebSocket, next to
ccxt's REST `coinbase` on the same served app: watch_order_book, watch_trades,
watch_ticker, watch_tickers and watch_orders for orders placed over REST.

The venue's market stands still here (the liquidity provider quoted once and the app
does not step it): the books and trades change only by the tests' orders, so what the
WebSocket shows can be compared with REST and the engine exactly.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from decimal import Decimal
from typing import Any, TypeVar

import ccxt.pro  # type: ignore[import-untyped]
import pytest

from tests.integration.venues.coinbase.support import (
    CoinbaseAccount,
    coinbase_client,
    open_account,
)
from tradewind.venues.simulated.server.coinbase.streams import MARKET_DATA_PATH
from tradewind.venues.simulated.server.serve import build_state, serving_in_thread
from tradewind.venues.simulated.server.state import ServerState

D = Decimal
WAIT_S = 20.0  # generous: the machine is shared
T = TypeVar("T")


@pytest.fixture(scope="module")
def still_venue() -> Iterator[tuple[str, ServerState]]:
    """A coinbase-served venue whose market moves only by the tests' orders."""
    state = build_state("synthetic", seed=9, api="coinbase", rate_limits=())
    state.exchange.step()  # the liquidity provider quotes, once
    with serving_in_thread(state, step_interval_s=None) as url:
        yield url, state


@pytest.fixture
def funded(still_venue: tuple[str, ServerState]) -> CoinbaseAccount:
    return open_account(still_venue[0], {"USD": "100000", "BTC": "2", "ETH": "20"})


@asynccontextmanager
async def pro_coinbase(url: str, account: CoinbaseAccount | None = None) -> AsyncIterator[Any]:
    """ccxt.pro's `coinbase`, unmodified, pointed at the venue's REST and WebSocket."""
    config: dict[str, object] = {"enableRateLimit": False}
    if account is not None:
        config |= {"apiKey": account.api_key, "secret": account.secret}
    exchange = ccxt.pro.coinbase(config)
    exchange.urls["api"]["rest"] = url
    exchange.urls["api"]["ws"] = "ws" + url.removeprefix("http") + MARKET_DATA_PATH
    try:
        await exchange.load_markets()
        yield exchange
    finally:
        await exchange.close()


async def watch_until(
    watch: Callable[[], Awaitable[T]], done: Callable[[T], bool], cached: Callable[[], T | None]
) -> T:
    """What `watch` returns once it is `done`. ccxt resolves a watch with the next message
    only, so what already came is read first from ccxt's cache (`cached`): checking it
    and watching happen with no await between, so no message slips through."""
    async with asyncio.timeout(WAIT_S):
        while True:
            seen = cached()
            if seen is not None and done(seen):
                return seen
            await watch()


def levels(side: list[list[Any]]) -> list[tuple[Decimal, Decimal]]:
    return [(D(str(price)), D(str(size))) for price, size, *_ in side]


async def test_watch_order_book_is_the_book_rest_and_the_engine_show(
    still_venue: tuple[str, ServerState],
) -> None:
    url, state = still_venue
    async with pro_coinbase(url) as pro, coinbase_client(url) as rest:
        book = await pro.watch_order_book("ETH/USD")
        fetched = await rest.fetch_order_book("ETH/USD", 50)
        engine = state.exchange.engine.depth("ETH/USD", 50)
        assert levels(book["bids"])[:50] == [(x.price, x.quantity) for x in engine.bids]
        assert levels(book["asks"])[:50] == [(x.price, x.quantity) for x in engine.asks]
        assert levels(book["bids"])[:50] == levels(fetched["bids"])
        assert levels(book["asks"])[:50] == levels(fetched["asks"])


async def test_watch_order_book_follows_an_order_placed_over_rest(
    still_venue: tuple[str, ServerState], funded: CoinbaseAccount
) -> None:
    url, state = still_venue
    async with pro_coinbase(url) as pro, coinbase_client(url, funded) as rest:
        book = await pro.watch_order_book("BTC/USD")
        best_ask = D(str(book["asks"][0][0]))
        price = best_ask + 777  # a fresh level above the house ladder
        await rest.create_order("BTC/USD", "limit", "sell", 0.3, float(price))
        book = await watch_until(
            lambda: pro.watch_order_book("BTC/USD"),
            lambda b: price in dict(levels(b["asks"])),
            lambda: pro.orderbooks.get("BTC/USD"),
        )
        assert dict(levels(book["asks"]))[price] == D("0.3")
        engine = state.exchange.engine.depth("BTC/USD", 10_000)
        assert levels(book["asks"]) == [(x.price, x.quantity) for x in engine.asks]
        assert levels(book["bids"]) == [(x.price, x.quantity) for x in engine.bids]


async def test_watch_trades_and_watch_ticker_see_a_market_order_placed_over_rest(
    still_venue: tuple[str, ServerState], funded: CoinbaseAccount
) -> None:
    url, _ = still_venue
    async with pro_coinbase(url) as pro, coinbase_client(url, funded) as rest:
        await rest.create_order("ETH/USD", "market", "sell", 0.1)  # a trade to snapshot
        await pro.watch_ticker("ETH/USD")
        await pro.watch_trades("ETH/USD")  # the snapshot: the server has subscribed us
        order = await rest.create_order("ETH/USD", "market", "sell", 0.5)
        fills = await rest.fetch_my_trades("ETH/USD", params={"order_id": order["id"]})
        assert fills
        wanted = {fill["id"] for fill in fills}
        trades = await watch_until(
            lambda: pro.watch_trades("ETH/USD"),
            lambda t: wanted <= {x["id"] for x in t},
            lambda: pro.trades.get("ETH/USD"),
        )
        by_id = {t["id"]: t for t in trades}
        for fill in fills:
            public = by_id[fill["id"]]
            assert D(str(public["price"])) == D(str(fill["price"]))
            assert D(str(public["amount"])) == D(str(fill["amount"]))
            assert public["symbol"] == "ETH/USD"
        last = min(D(str(f["price"])) for f in fills)  # a sell walks the bids down
        ticker = await watch_until(
            lambda: pro.watch_ticker("ETH/USD"),
            lambda t: D(str(t["last"])) == last,
            lambda: pro.tickers.get("ETH/USD"),
        )
        assert ticker["symbol"] == "ETH/USD"
        assert ticker["bid"] is not None and ticker["ask"] is not None
        assert D(str(ticker["bid"])) < D(str(ticker["ask"]))


async def test_watch_tickers_gets_a_batch_for_each_product(
    still_venue: tuple[str, ServerState],
) -> None:
    url, _ = still_venue
    async with pro_coinbase(url) as pro:
        seen: set[str] = set()

        def both(tickers: dict[str, Any]) -> bool:
            seen.update(tickers)
            return {"BTC/USD", "ETH/USD"} <= seen

        await watch_until(
            lambda: pro.watch_tickers(["BTC/USD", "ETH/USD"]), both, lambda: pro.tickers
        )


async def test_watch_orders_reports_orders_placed_and_cancelled_over_rest(
    still_venue: tuple[str, ServerState], funded: CoinbaseAccount
) -> None:
    url, _ = still_venue
    async with pro_coinbase(url, funded) as pro, coinbase_client(url, funded) as rest:
        await pro.watch_orders()  # the snapshot: nothing open yet
        book = await rest.fetch_order_book("BTC/USD", 1)
        bid = D(str(book["bids"][0][0]))
        placed = await rest.create_order(
            "BTC/USD", "limit", "buy", 0.2, float(bid - 100), {"client_order_id": "ws-watch-1"}
        )

        def state_of(orders: list[dict[str, Any]], status: str) -> dict[str, Any] | None:
            return next(
                (o for o in orders if o["id"] == placed["id"] and o["status"] == status), None
            )

        orders = await watch_until(
            pro.watch_orders, lambda o: state_of(o, "open") is not None, lambda: pro.orders
        )
        seen = state_of(orders, "open")
        assert seen is not None
        assert seen["clientOrderId"] == "ws-watch-1"
        assert seen["symbol"] == "BTC/USD" and seen["side"] == "buy"
        assert D(str(seen["price"])) == bid - 100
        assert D(str(seen["remaining"])) == D("0.2")
        await rest.cancel_order(placed["id"], "BTC/USD")
        orders = await watch_until(
            pro.watch_orders, lambda o: state_of(o, "canceled") is not None, lambda: pro.orders
        )
        fetched = await rest.fetch_order(placed["id"], "BTC/USD")
        assert fetched["status"] == "canceled"


async def test_watch_orders_reports_a_filled_market_order_with_its_average_and_fees(
    still_venue: tuple[str, ServerState], funded: CoinbaseAccount
) -> None:
    url, _ = still_venue
    async with pro_coinbase(url, funded) as pro, coinbase_client(url, funded) as rest:
        await pro.watch_orders()  # the snapshot: the server has subscribed us
        order = await rest.create_order("BTC/USD", "market", "sell", 0.05)
        orders = await watch_until(
            pro.watch_orders,
            lambda os: any(o["id"] == order["id"] and o["status"] == "closed" for o in os),
            lambda: pro.orders,
        )
        closed = next(o for o in orders if o["id"] == order["id"] and o["status"] == "closed")
        fetched = await rest.fetch_order(order["id"], "BTC/USD")
        assert D(str(closed["filled"])) == D(str(fetched["filled"])) == D("0.05")
        assert D(str(closed["average"])) == D(str(fetched["average"]))
        assert D(str(closed["remaining"])) == 0
        # ccxt files Coinbase's total_fees under the quote currency
        assert closed["fee"]["currency"] == "USD"
        fee = closed["info"]["total_fees"]
        assert D(fee) > 0


async def test_un_watch_ticker_is_acknowledged_and_ends_the_subscription(
    still_venue: tuple[str, ServerState],
) -> None:
    url, _ = still_venue
    async with pro_coinbase(url) as pro:
        await pro.watch_ticker("BTC/USD")
        async with asyncio.timeout(WAIT_S):
            await pro.un_watch_ticker("BTC/USD")  # resolved by the empty subscriptions
        client = pro.clients[pro.urls["api"]["ws"]]
        assert "ticker::BTC/USD" not in client.subscriptions
