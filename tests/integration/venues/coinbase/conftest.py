"""Fixtures of the Coinbase REST tests: one coinbase-served venue per module (limits
lifted; the limit tests start their own) and ccxt clients on fresh accounts."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import ccxt.async_support as ccxt  # type: ignore[import-untyped]
import pytest

from tests.integration.venues.coinbase.support import (
    CoinbaseAccount,
    coinbase_client,
    open_account,
    running_coinbase_venue,
)
from tradewind.venues.simulated.server.state import ServerState


@pytest.fixture(scope="module")
def venue() -> Iterator[tuple[str, ServerState]]:
    with running_coinbase_venue() as running:
        yield running


@pytest.fixture
def venue_url(venue: tuple[str, ServerState]) -> str:
    return venue[0]


@pytest.fixture
def venue_state(venue: tuple[str, ServerState]) -> ServerState:
    return venue[1]


@pytest.fixture
def account(venue_url: str) -> CoinbaseAccount:
    """A fresh account with a CDP key: 100,000 USD, 2 BTC, 1,000 USDC."""
    return open_account(venue_url, {"USD": "100000", "BTC": "2", "USDC": "1000"})


@pytest.fixture
async def coinbase(venue_url: str, account: CoinbaseAccount) -> AsyncIterator[ccxt.coinbase]:
    async with coinbase_client(venue_url, account) as exchange:
        await exchange.load_markets()
        yield exchange
