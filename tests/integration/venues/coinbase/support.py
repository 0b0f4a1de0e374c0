"""A simulated venue serving Coinbase's Advanced Trade API on a loopback port, accounts
opened through `/sim/v1` with either kind of Coinbase key, and the real, unmodified ccxt
`coinbase` (async) re-hosted onto it: what the `test_rest_*` tests share."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from typing import Literal

import ccxt.async_support as ccxt  # type: ignore[import-untyped]
import httpx

from tradewind.venues.simulated.server.coinbase.limits import CoinbaseRateLimits
from tradewind.venues.simulated.server.serve import build_state, serving_in_thread
from tradewind.venues.simulated.server.state import ServerState

USD_PAIRS = ("BTC/USD", "ETH/USD", "SOL/USD", "BTC/USDC", "ETH/USDC")


@dataclass(frozen=True)
class CoinbaseAccount:
    api_key: str  # the key name
    secret: str = field(repr=False)  # PEM EC private key (CDP) or HMAC secret
    account_id: str


@contextmanager
def running_coinbase_venue(
    limits: CoinbaseRateLimits | None = None,
) -> Iterator[tuple[str, ServerState]]:
    """A coinbase-served synthetic venue, market moving and quoted; `limits` None
    lifts the rate limits (the limit tests pass their own)."""
    state = build_state("synthetic", seed=5, api="coinbase", coinbase_rate_limits=limits)
    with serving_in_thread(state) as url:
        deadline = time.monotonic() + 10
        while not all(state.exchange.engine.depth(s, 1).asks for s in USD_PAIRS):
            if time.monotonic() > deadline:
                raise AssertionError("the liquidity provider never quoted")
            time.sleep(0.02)
        yield url, state


def open_account(
    url: str,
    balances: Mapping[str, str],
    *,
    key_type: Literal["cdp", "hmac"] = "cdp",
    permissions: Mapping[str, bool] | None = None,
) -> CoinbaseAccount:
    body: dict[str, object] = {"balances": dict(balances), "key_type": key_type}
    if permissions is not None:
        body["permissions"] = dict(permissions)
    response = httpx.post(f"{url}/sim/v1/accounts", json=body, timeout=5)
    assert response.status_code == 201, response.text
    created = response.json()
    return CoinbaseAccount(created["api_key"], created["api_secret"], created["account_id"])


def rehosted(url: str, account: CoinbaseAccount | None = None) -> ccxt.coinbase:
    """ccxt's `coinbase`, unmodified, pointed at the venue (no client-side throttle)."""
    config: dict[str, object] = {"enableRateLimit": False}
    if account is not None:
        config |= {"apiKey": account.api_key, "secret": account.secret}
    exchange = ccxt.coinbase(config)
    exchange.urls["api"]["rest"] = url
    return exchange


async def http(method: str, url: str, **kwargs: object) -> httpx.Response:
    """One request without blocking the test's event loop (the venue's own API, raw)."""
    async with httpx.AsyncClient(timeout=5) as client:
        return await client.request(method, url, **kwargs)  # type: ignore[arg-type]


@asynccontextmanager
async def coinbase_client(
    url: str, account: CoinbaseAccount | None = None
) -> AsyncIterator[ccxt.coinbase]:
    exchange = rehosted(url, account)
    try:
        yield exchange
    finally:
        await exchange.close()
