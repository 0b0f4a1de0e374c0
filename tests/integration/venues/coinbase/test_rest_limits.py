"""Coinbase's rate limits (per user on private routes, per IP on public ones) and the
simulator's injected faults, as unmodified ccxt `coinbase` meets them."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from decimal import Decimal

import ccxt.async_support as ccxt  # type: ignore[import-untyped]
import pytest

from tests.integration.venues.coinbase.support import (
    coinbase_client,
    http,
    open_account,
    running_coinbase_venue,
)
from tradewind.venues.simulated.server.coinbase.limits import CoinbaseRateLimits
from tradewind.venues.simulated.server.state import ServerState

BURST = 20  # requests sent at once; the limits below allow 2 a second


async def _burst(call: Callable[[], Awaitable[object]]) -> list[object]:
    return list(await asyncio.gather(*(call() for _ in range(BURST)), return_exceptions=True))


async def test_private_routes_are_limited_per_user_with_a_coinbase_429() -> None:
    with running_coinbase_venue(CoinbaseRateLimits(private_per_s=2, public_per_s=1000)) as (
        url,
        state,
    ):
        account = open_account(url, {"USD": "10"})
        other = open_account(url, {"USD": "10"})
        async with coinbase_client(url, account) as exchange:
            outcomes = await _burst(lambda: exchange.fetch_balance({"v3": True}))
        refused = [o for o in outcomes if isinstance(o, ccxt.RateLimitExceeded)]
        assert refused and all(isinstance(o, dict | ccxt.RateLimitExceeded) for o in outcomes)
        assert "rate_limit_exceeded" in str(refused[0])
        assert state.coinbase_limiters.refusals == len(refused)
        # Another user has a budget of its own.
        async with coinbase_client(url, other) as exchange:
            balance = await exchange.fetch_balance({"v3": True})
        assert balance["total"]["USD"] == 10
        counted = (await http("GET", f"{url}/sim/v1/submissions")).json()
        assert counted["rate_limited"] == len(refused)


async def test_public_routes_are_limited_per_ip() -> None:
    with running_coinbase_venue(CoinbaseRateLimits(private_per_s=1000, public_per_s=2)) as (
        url,
        _,
    ):
        async with coinbase_client(url) as exchange:
            outcomes = await _burst(
                lambda: exchange.v3PublicGetBrokerageMarketProductBook({"product_id": "BTC-USD"})
            )
        assert any(isinstance(o, ccxt.RateLimitExceeded) for o in outcomes)
        response = None
        for _ in range(BURST):
            response = await http("GET", f"{url}/api/v3/brokerage/market/products")
            if response.status_code == 429:
                break
        assert response is not None and response.status_code == 429
        assert int(response.headers["Retry-After"]) >= 1
        assert response.json()["error"] == "rate_limit_exceeded"


async def test_faults_apply_to_the_coinbase_api(venue_url: str, venue_state: ServerState) -> None:
    account = open_account(venue_url, {"USD": "1000"})
    async with coinbase_client(venue_url, account) as exchange:
        await exchange.load_markets()
        try:
            await http("POST", f"{venue_url}/sim/v1/faults", json={"rate_limit_s": 30})
            with pytest.raises(ccxt.RateLimitExceeded):
                await exchange.fetch_balance({"v3": True})
            await http("DELETE", f"{venue_url}/sim/v1/faults")
            await http("POST", f"{venue_url}/sim/v1/faults", json={"http_5xx_s": 30})
            with pytest.raises(ccxt.ExchangeNotAvailable):
                await exchange.fetch_ticker("BTC/USD")
            await http("DELETE", f"{venue_url}/sim/v1/faults")
            # Executed, then answered 500: the client cannot tell it exists.
            await http("POST", f"{venue_url}/sim/v1/faults", json={"fail_after_accept": 1})
            with pytest.raises(ccxt.ExchangeError):
                await exchange.create_market_buy_order_with_cost(
                    "BTC/USD", 100, {"client_order_id": "unknown-outcome"}
                )
        finally:
            await http("DELETE", f"{venue_url}/sim/v1/faults")
        # Retrying with the same client order id answers the order that exists.
        retried = await exchange.create_market_buy_order_with_cost(
            "BTC/USD", 100, {"client_order_id": "unknown-outcome"}
        )
        order = await exchange.fetch_order(retried["id"])
        assert order["status"] == "closed" and order["clientOrderId"] == "unknown-outcome"
        usd = (await exchange.fetch_balance())["total"]["USD"]
        assert Decimal(str(usd)) >= Decimal(899)  # spent once, not twice
        assert venue_state.submissions[(account.account_id, "unknown-outcome")] == 2
