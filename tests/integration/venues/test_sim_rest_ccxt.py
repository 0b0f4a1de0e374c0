"""The real, unmodified ccxt `binance` client (4.5.90) trading on the simulated venue, set
up as docs/venues/ccxt-binance-protocol.md describes: the proof that the simulator speaks
Binance to the library the platform uses."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import ccxt.async_support as ccxt  # type: ignore[import-untyped]
import httpx
import pytest

from tests.integration.venues.sim_rest_support import Account, open_account, running_venue


@pytest.fixture(scope="module")
def venue_url() -> Iterator[str]:
    with running_venue() as (url, _):
        yield url


@pytest.fixture
async def binance(venue_url: str) -> AsyncIterator[ccxt.binance]:
    account: Account = open_account(venue_url, {"USDT": "10000", "BTC": "0.5"})
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
    api = exchange.urls["api"]
    for key, url in list(api.items()):
        if isinstance(url, str):  # re-host every REST url, keeping its path
            api[key] = venue_url + urlsplit(url).path
    try:
        yield exchange
    finally:
        await exchange.close()


async def test_ccxt_binance_trades_end_to_end_on_the_simulated_venue(
    binance: ccxt.binance,
) -> None:
    markets = await binance.load_markets()
    btc = markets["BTC/USDT"]
    assert btc["active"] and btc["spot"]
    assert btc["precision"]["price"] == 0.01
    assert btc["limits"]["cost"]["min"] == 5

    ticker = await binance.fetch_ticker("BTC/USDT")
    assert ticker["bid"] < ticker["ask"]
    book = await binance.fetch_order_book("BTC/USDT", limit=5)
    assert len(book["bids"]) == 5 and book["nonce"] is not None

    resting = await binance.create_order(
        "BTC/USDT", "limit", "buy", 0.001, 20000, {"clientOrderId": "ccxt-rest"}
    )
    assert resting["status"] == "open" and resting["clientOrderId"] == "ccxt-rest"
    bought = await binance.create_order("BTC/USDT", "market", "buy", 0.002)
    assert bought["status"] == "closed" and bought["filled"] == 0.002
    assert bought["trades"] and bought["fee"]["currency"] == "BTC"

    balance = await binance.fetch_balance()
    assert balance["USDT"]["used"] == 20.0  # the resting bid's hold
    assert balance["BTC"]["total"] == pytest.approx(0.5 + 0.002 * 0.999)

    open_orders = await binance.fetch_open_orders("BTC/USDT")
    assert [o["id"] for o in open_orders] == [resting["id"]]
    my_trades = await binance.fetch_my_trades("BTC/USDT")
    assert {t["order"] for t in my_trades} == {bought["id"]}
    assert all(t["side"] == "buy" and t["takerOrMaker"] == "taker" for t in my_trades)

    canceled = await binance.cancel_order(resting["id"], "BTC/USDT")
    assert canceled["status"] == "canceled"
    assert await binance.fetch_open_orders("BTC/USDT") == []


async def test_ccxt_maps_the_venues_refusals_to_its_exceptions(binance: ccxt.binance) -> None:
    await binance.load_markets()
    with pytest.raises(ccxt.InsufficientFunds):
        await binance.create_order("BTC/USDT", "limit", "buy", 1, 20000)
    with pytest.raises(ccxt.OrderNotFound):
        await binance.cancel_order("987654", "BTC/USDT")
    with pytest.raises(ccxt.OrderImmediatelyFillable):
        await binance.create_order("BTC/USDT", "limit", "buy", 0.001, 40000, {"postOnly": True})
    binance.secret = "wrong"
    with pytest.raises(ccxt.AuthenticationError):
        await binance.fetch_balance()


async def test_ccxt_sees_the_fault_switches_as_the_network_errors_they_imitate(
    binance: ccxt.binance, venue_url: str
) -> None:
    await binance.load_markets()
    async with httpx.AsyncClient(base_url=f"{venue_url}/sim/v1") as sim:

        async def switch(**faults: float) -> None:
            (await sim.post("/faults", json=faults)).raise_for_status()

        try:
            await switch(http_5xx_s=30)
            with pytest.raises(ccxt.ExchangeNotAvailable):
                await binance.fetch_ticker("BTC/USDT")
            await switch(http_5xx_s=0, rate_limit_s=30)
            with pytest.raises(ccxt.DDoSProtection):
                await binance.fetch_ticker("BTC/USDT")
            await switch(rate_limit_s=0, timeout_s=30, hang_s=1)
            binance.timeout = 300  # ms
            with pytest.raises(ccxt.RequestTimeout):
                await binance.fetch_ticker("BTC/USDT")
            binance.timeout = 10_000
            await switch(timeout_s=0, fail_after_accept=1)
            with pytest.raises(ccxt.RequestTimeout):  # "execution status unknown"
                await binance.create_order(
                    "BTC/USDT", "limit", "buy", 0.001, 20000, {"clientOrderId": "ccxt-unknown"}
                )
        finally:
            (await sim.delete("/faults")).raise_for_status()
    placed = await binance.fetch_order("", "BTC/USDT", {"clientOrderId": "ccxt-unknown"})
    assert placed["status"] == "open"  # the order the client could not be sure of exists
