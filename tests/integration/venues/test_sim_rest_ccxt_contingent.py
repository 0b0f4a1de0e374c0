"""ccxt 4.5.90's binance client placing stop orders, editing an order (cancelReplace) and
sending an OCO through its implicit API on the simulated venue, balances checked after."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from decimal import Decimal
from urllib.parse import urlsplit

import ccxt.async_support as ccxt  # type: ignore[import-untyped]
import pytest

from tests.integration.venues.sim_contingent_support import last_price, still_venue
from tests.integration.venues.sim_rest_support import open_account
from tradewind.venues.simulated.server.state import ServerState

D = Decimal


@pytest.fixture(scope="module")
def venue() -> Iterator[tuple[str, ServerState]]:
    with still_venue() as running:
        yield running


@pytest.fixture
async def binance(venue: tuple[str, ServerState]) -> AsyncIterator[ccxt.binance]:
    url, _ = venue
    account = open_account(url, {"USDT": "10000", "BTC": "0.5"})
    exchange = ccxt.binance(
        {
            "apiKey": account.api_key,
            "secret": account.secret,
            "enableRateLimit": False,
            "options": {
                "defaultType": "spot",
                "fetchMarkets": {"types": ["spot"]},
                "fetchCurrencies": False,
                "fetchMargins": False,
                "adjustForTimeDifference": False,
            },
        }
    )
    for key, api_url in list(exchange.urls["api"].items()):
        if isinstance(api_url, str):
            exchange.urls["api"][key] = url + urlsplit(api_url).path
    try:
        await exchange.load_markets()
        yield exchange
    finally:
        await exchange.close()


def needs_stop_types(exchange: ccxt.binance) -> None:
    """ccxt refuses a type that exchangeInfo's `orderTypes` does not list."""
    listed = exchange.market("BTC/USDT")["info"]["orderTypes"]
    assert "STOP_LOSS_LIMIT" in listed, f"exchangeInfo lists no stop types: {listed}"


async def test_ccxt_places_a_stop_limit_sell_that_waits_and_cancels(
    binance: ccxt.binance, venue: tuple[str, ServerState]
) -> None:
    needs_stop_types(binance)
    _, state = venue
    stop = float((last_price(state) * D("0.9")).quantize(D("0.01")))
    order = await binance.create_order(
        "BTC/USDT", "STOP_LOSS_LIMIT", "sell", 0.01, stop - 10, {"stopPrice": stop}
    )
    assert order["status"] == "open" and order["triggerPrice"] == stop
    fetched = await binance.fetch_order(order["id"], "BTC/USDT")
    assert fetched["info"]["type"] == "STOP_LOSS_LIMIT" and fetched["triggerPrice"] == stop
    assert fetched["info"]["isWorking"] is False
    balance = await binance.fetch_balance()
    assert balance["BTC"]["used"] == 0.01
    await binance.cancel_order(order["id"], "BTC/USDT")
    assert (await binance.fetch_balance())["BTC"]["used"] == 0


async def test_ccxt_edits_a_resting_order_through_cancel_replace(binance: ccxt.binance) -> None:
    order = await binance.create_order("BTC/USDT", "limit", "buy", 0.001, 20000)
    edited = await binance.edit_order(order["id"], "BTC/USDT", "limit", "buy", 0.002, 21000)
    assert edited["id"] != order["id"] and edited["price"] == 21000
    assert (await binance.fetch_order(order["id"], "BTC/USDT"))["status"] == "canceled"
    balance = await binance.fetch_balance()
    assert balance["USDT"]["used"] == pytest.approx(42)
    assert [o["id"] for o in await binance.fetch_open_orders("BTC/USDT")] == [edited["id"]]


async def test_ccxt_sends_an_oco_through_its_implicit_api(
    binance: ccxt.binance, venue: tuple[str, ServerState]
) -> None:
    _, state = venue
    last = last_price(state)
    placed = await binance.privatePostOrderListOco(
        {
            "symbol": "BTCUSDT",
            "side": "SELL",
            "quantity": "0.003",
            "aboveType": "LIMIT_MAKER",
            "abovePrice": str((last * D("1.1")).quantize(D("0.01"))),
            "belowType": "STOP_LOSS_LIMIT",
            "belowStopPrice": str((last * D("0.9")).quantize(D("0.01"))),
            "belowPrice": str((last * D("0.89")).quantize(D("0.01"))),
            "belowTimeInForce": "GTC",
        }
    )
    assert placed["listOrderStatus"] == "EXECUTING"
    assert (await binance.fetch_balance())["BTC"]["used"] == pytest.approx(0.003)
    open_orders = await binance.fetch_open_orders("BTC/USDT")
    assert len(open_orders) == 2
    await binance.privateDeleteOrderList(
        {"symbol": "BTCUSDT", "orderListId": placed["orderListId"]}
    )
    assert (await binance.fetch_balance())["BTC"]["used"] == 0
    assert await binance.fetch_open_orders("BTC/USDT") == []
